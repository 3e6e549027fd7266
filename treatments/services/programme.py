"""The home programme between visits: the message when a visit changes it, the weekly check-in
prompts, and the patient's check-ins.

When a therapy visit is signed and its exercises differ from the previous signed visit's (see
``treatments.programme``), the patient is sent a link to their programme page, once per visit,
through the reminders' pipeline (consent, contact details and quiet hours checked at send time).
An unchanged programme sends nothing. If the therapist ticked "weekly check-ins", a prompt is
planned each week until the next planned visit (the course's spacing, else four weeks); a newer
signed visit cancels the prompts still pending for the older one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from clinic.audit import attribute, audit_record
from clinic.configuration import field_bounds
from clinic.errors import Invalid
from patients.models import Patient
from scheduling.models import Message
from scheduling.reminders.services import local_datetime, page_link_cancel, page_link_plan

from ..models import Encounter, ProgrammeCheckIn, TherapyVisit
from ..programme import programme_current, visit_diff

# The patient-link action of the programme page (registered in treatments.programme_views).
PROGRAMME_ACTION = "programme"
# Weekly prompts when the visit names no course spacing.
CHECKIN_WEEKS_DEFAULT = 4

DAYS = field_bounds(ProgrammeCheckIn, "days_done")
DIFFICULTY = field_bounds(ProgrammeCheckIn, "difficulty")
NOTE_MAX = ProgrammeCheckIn._meta.get_field("note").max_length or 500


def _programme_target(visit_pk: int) -> str:
    return f"programme:{visit_pk}"


def _checkin_target(visit_pk: int) -> str:
    return f"programme-checkin:{visit_pk}"


def programme_after_sign(*, encounter: Encounter) -> int:
    """Called when a therapy visit is signed (inside encounter_sign's transaction): send the
    programme if this visit changed it, and plan the weekly check-in prompts if asked for.
    Returns how many messages were planned."""
    if encounter.kind != Encounter.Kind.THERAPY:
        return 0
    visit = TherapyVisit.objects.select_related("encounter__patient").get(pk=encounter.pk)
    patient = visit.encounter.patient
    current = programme_current(patient_id=patient.pk)
    if current.visit is None or current.visit.pk != visit.pk:
        # A visit signed after a later one: it does not set the current programme.
        return 0
    # Prompts for an older programme stop once a newer one is signed.
    page_link_cancel(
        patient=patient,
        kind=Message.Kind.PROGRAMME_CHECKIN,
        reason="a newer therapy visit replaced the programme",
        exclude_target=_checkin_target(visit.pk),
    )
    planned = 0
    diff = visit_diff(visit)
    target = _programme_target(visit.pk)
    already = Message.objects.filter(
        kind=Message.Kind.HOME_PROGRAMME, dedupe_key__startswith=f"{target}:"
    ).exists()
    if diff.is_changed and not already:
        planned += page_link_plan(
            patient=patient,
            kind=Message.Kind.HOME_PROGRAMME,
            target=target,
            action=PROGRAMME_ACTION,
            link_target=visit.pk,
            context={"visit": visit.pk},
        )
        audit_record(
            actor=None,
            action="home_programme.sent",
            target=visit.encounter,
            patient_id=patient.pk,
            changes=diff.as_dict(),
        )
    if visit.weekly_checkins and current.exercises:
        planned += _plan_checkins(visit=visit, patient=patient, signed_at=encounter.signed_at)
    return planned


def _plan_checkins(*, visit: TherapyVisit, patient: Patient, signed_at: datetime | None) -> int:
    weeks = visit.course_every_weeks or CHECKIN_WEEKS_DEFAULT
    start = timezone.localdate(signed_at or timezone.now())
    planned = 0
    for week in range(1, weeks + 1):
        planned += page_link_plan(
            patient=patient,
            kind=Message.Kind.PROGRAMME_CHECKIN,
            target=_checkin_target(visit.pk),
            action=PROGRAMME_ACTION,
            link_target=visit.pk,
            due_at=local_datetime(start + timedelta(weeks=week)),
            context={"visit": visit.pk, "week": week},
        )
    return planned


def _whole(raw: object, name: str, bounds: tuple[int, int], errors: dict[str, list[str]]) -> int | None:
    text = str(raw if raw is not None else "").strip()
    low, high = bounds
    if text == "":
        errors[name] = ["Please answer this question."]
        return None
    if not text.lstrip("-").isdigit() or len(text) > 6:
        errors[name] = [f"Enter a whole number from {low} to {high}."]
        return None
    value = int(text)
    if not low <= value <= high:
        errors[name] = [f"Enter a whole number from {low} to {high}."]
        return None
    return value


@transaction.atomic
def programme_checkin_record(
    *,
    patient: Patient,
    visit: TherapyVisit,
    days_done: object,
    difficulty: object,
    note: object = "",
    source: str = "",
    actor: Any = None,
) -> ProgrammeCheckIn:
    """Record a patient's check-in about the programme of ``visit``. Every answer is checked
    and every wrong one named (``Invalid`` with one message per field)."""
    errors: dict[str, list[str]] = {}
    days = _whole(days_done, "days_done", DAYS, errors)
    hardness = _whole(difficulty, "difficulty", DIFFICULTY, errors)
    text = str(note or "").strip()
    if len(text) > NOTE_MAX:
        errors["note"] = [f"Please keep the note to {NOTE_MAX} characters."]
    if visit.encounter.patient_id != patient.pk or not visit.encounter.is_signed:
        errors["visit"] = ["This is not your current programme."]
    if errors or days is None or hardness is None:
        raise Invalid(fields=errors)
    checkin = ProgrammeCheckIn(
        patient=patient, visit=visit, days_done=days, difficulty=hardness, note=text, source=source[:40]
    )
    attribute(checkin, actor)
    checkin.save()
    audit_record(
        actor=actor,
        action="programme_checkin.recorded",
        target=checkin,
        patient_id=patient.pk,
        changes={"days_done": days, "difficulty": hardness, "visit": visit.pk},
    )
    return checkin
