"""Aftercare advice, sent when a toxin session or an operation is signed.

The treatment names its topics (``toxin``, or each procedure's kind for a surgery); the
reminders send one message per channel through the usual pipeline (consent, quiet hours and
contact details checked at send time) with a link to the advice page, once per encounter.
The wording lives in templates (``templates/messages/aftercare.*``, ``templates/aftercare/``),
per language like the other messages, so the clinic edits advice without touching code.
"""

from scheduling.reminders.services import aftercare_plan

from ..models import Encounter, Procedure


def aftercare_topics(encounter: Encounter) -> list[str]:
    if encounter.kind == Encounter.Kind.TOXIN:
        return ["toxin"]
    if encounter.kind == Encounter.Kind.SURGERY:
        return list(
            Procedure.objects.filter(surgery_id=encounter.pk)
            .order_by("position")
            .values_list("kind", flat=True)
        )
    return []


def aftercare_send(*, encounter: Encounter) -> int:
    """Plan the aftercare message of a signed encounter; 0 for kinds without aftercare, and when
    planned before (signing happens once, and the message's key is the encounter)."""
    topics = aftercare_topics(encounter)
    if not topics:
        return 0
    return aftercare_plan(patient=encounter.patient, topics=topics, source=f"encounter:{encounter.pk}")
