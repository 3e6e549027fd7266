"""Patient-reported instruments offered through the reminders' questionnaire links."""

from scheduling.reminders.questionnaires import Questionnaire, register_questionnaire

from . import instruments

INTROS = {
    "saq": "How often does each of these happen? There are no right or wrong answers.",
    "face": "Think about the past week. For each question choose the answer that fits you best.",
    "fdi": "Think about the past month. For each question choose the answer that fits you best.",
}
DEFAULT_INTRO = "Choose the answer that fits you best. There are no right or wrong answers."


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


def _wording(instrument: str):
    def wording() -> dict[str, str]:
        from .selectors import instrument_wording

        return instrument_wording(instrument)

    return wording


def _answers(item: instruments.Item) -> list[tuple]:
    if item.is_categorical:
        return [(option.value, option.label) for option in item.options]
    return [
        (n, item.anchors[n].capitalize() if n in item.anchors else str(n))
        for n in range(item.minimum, item.maximum + 1)
    ]


def register() -> None:
    for definition in instruments.all_instruments():
        if getattr(definition, "reported_by", "") != "patient":
            continue
        first = definition.items[0]
        register_questionnaire(
            Questionnaire(
                instrument=definition.code,
                title=definition.name,
                intro=INTROS.get(definition.code, DEFAULT_INTRO),
                items=[(item.key, item.label) for item in definition.items],
                choices=_answers(first),
                item_choices={item.key: _answers(item) for item in definition.items[1:]},
                save=_save(definition.code),
                wording=_wording(definition.code),
            )
        )
