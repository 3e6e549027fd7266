"""Patient-reported instruments offered through the reminders' questionnaire links."""

from scheduling.reminders.questionnaires import Questionnaire, register_questionnaire

from . import instruments


def _save(instrument: str):
    def save(*, patient, items: dict, answered_at, source: str) -> None:
        from .services import assessment_record

        assessment_record(
            patient=patient,
            instrument=instrument,
            items=items,
            assessed_at=answered_at,
            actor=None,
            rater_kind="patient",
            note=f"Answered from a link ({source}).",
        )

    return save


def register() -> None:
    for definition in instruments.all_instruments():
        if getattr(definition, "reported_by", "") != "patient":
            continue
        first = definition.items[0]
        register_questionnaire(
            Questionnaire(
                instrument=definition.code,
                title=definition.name,
                intro="How often does each of these happen? There are no right or wrong answers.",
                items=[(item.key, item.label) for item in definition.items],
                choices=sorted((int(value), label.capitalize()) for value, label in first.anchors.items()),
                save=_save(definition.code),
            )
        )
