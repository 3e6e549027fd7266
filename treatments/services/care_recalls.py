"""Recalls for care between visits: therapy in the toxin's window, therapy courses, and the early
review after a patient's first toxin session.

All go through scheduling's ``recall_open``, which is idempotent on (patient, kind, source)
and backed by a unique constraint: a retried or concurrent call never opens a second recall.
The sources say what each recall waits for:

- ``toxin_session:<encounter>`` (kind therapy): the therapy visit in the window after that
  session (the reinjection recall of the same session has the same source but another kind).
- ``first_toxin_review`` (kind follow-up): once per patient, ever.
- ``therapy_course:<encounter>:<n>`` (kind therapy): visit n of the course set at that visit.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from clinic.models import ClinicSettings
from scheduling.models import AppointmentType, Provider, Recall
from scheduling.services import recall_open

from ..common import local_date
from ..models import Encounter, TherapyVisit

logger = logging.getLogger(__name__)

FIRST_TOXIN_REVIEW_SOURCE = "first_toxin_review"


def _type_exists(code: str, what: str, encounter: Encounter) -> bool:
    if AppointmentType.objects.filter(code=code).exists():
        return True
    logger.warning("No %r appointment type: no %s recall for encounter %s", code, what, encounter.pk)
    return False


def _usual_therapist(patient_id: int) -> Provider | None:
    """The clinician of the patient's latest therapy visit, if they are an active provider."""
    last = (
        Encounter.objects.filter(patient_id=patient_id, kind=Encounter.Kind.THERAPY)
        .order_by("-occurred_at", "-id")
        .values_list("clinician_id", flat=True)
        .first()
    )
    return Provider.objects.filter(user_id=last, is_active=True).first() if last else None


def therapy_window(anchor, policy: ClinicSettings):
    """(earliest, due, overdue) of the therapy visit after a toxin session on ``anchor``: due
    from the window's first day, overdue after its last."""
    start = anchor + timedelta(days=policy.therapy_after_toxin_from_day)
    end = anchor + timedelta(days=policy.therapy_after_toxin_to_day)
    return start, start, end


def open_therapy_after_toxin_recall(*, encounter: Encounter, actor) -> Recall | None:
    """A therapy recall due in the clinic's window after this toxin session."""
    policy = ClinicSettings.load()
    if not policy.therapy_after_toxin_offered or not _type_exists("therapy", "therapy", encounter):
        return None
    anchor = local_date(encounter.occurred_at)
    earliest, due, overdue = therapy_window(anchor, policy)
    if overdue < timezone.localdate():
        # Recorded after the window closed (a backfilled record): nothing to offer.
        return None
    return recall_open(
        patient=encounter.patient,
        kind=Recall.Kind.THERAPY,
        appointment_type_code="therapy",
        anchor_date=anchor,
        earliest_date=earliest,
        due_date=due,
        overdue_date=overdue,
        source=f"toxin_session:{encounter.pk}",
        label=(
            f"Therapy in the toxin window (days {policy.therapy_after_toxin_from_day}"
            f"-{policy.therapy_after_toxin_to_day})"
        ),
        preferred_provider=_usual_therapist(encounter.patient_id),
        actor=actor,
    )


def open_first_toxin_review_recall(*, encounter: Encounter, actor) -> Recall | None:
    """An early review about two weeks after the patient's first-ever toxin session."""
    earlier = (
        Encounter.objects.filter(patient_id=encounter.patient_id, kind=Encounter.Kind.TOXIN)
        .exclude(pk=encounter.pk)
        .exists()
    )
    if earlier or not _type_exists("follow_up", "first toxin review", encounter):
        return None
    policy = ClinicSettings.load()
    anchor = local_date(encounter.occurred_at)
    due = anchor + timedelta(days=policy.first_toxin_review_days)
    earliest = max(anchor + timedelta(days=1), due - timedelta(days=3))
    overdue = due + timedelta(days=7)
    if overdue < timezone.localdate():
        return None
    return recall_open(
        patient=encounter.patient,
        kind=Recall.Kind.FOLLOW_UP,
        appointment_type_code="follow_up",
        anchor_date=anchor,
        earliest_date=earliest,
        due_date=due,
        overdue_date=overdue,
        # One per patient, ever: the unique (patient, kind, source) makes a second impossible.
        source=FIRST_TOXIN_REVIEW_SOURCE,
        label="Review after the first toxin session",
        preferred_provider=Provider.objects.filter(user_id=encounter.clinician_id, is_active=True).first(),
        actor=actor,
    )


def open_toxin_care_recalls(*, encounter: Encounter, actor) -> list[Recall]:
    """What a newly recorded toxin session opens besides its reinjection recall."""
    opened = [
        open_therapy_after_toxin_recall(encounter=encounter, actor=actor),
        open_first_toxin_review_recall(encounter=encounter, actor=actor),
    ]
    return [recall for recall in opened if recall is not None]


def course_dates(anchor, every_weeks: int, n: int):
    """(earliest, due, overdue) of visit ``n`` of a course: due n x every_weeks after the visit,
    bookable from 3 days before (never before the day after the visit), overdue a week after."""
    due = anchor + timedelta(weeks=every_weeks * n)
    earliest = max(anchor + timedelta(days=1), due - timedelta(days=3))
    return earliest, due, due + timedelta(days=7)


def open_therapy_course_recalls(*, encounter: Encounter, visit: TherapyVisit, actor) -> list[Recall]:
    """One therapy recall per visit of the course set at ``visit`` (none without a course).

    Editing the course of a draft opens the visits it adds; a recall already opened stays (it
    may be booked), and the unique source keeps each visit to one recall."""
    if not visit.course_visits or not visit.course_every_weeks:
        return []
    if not _type_exists("therapy", "therapy course", encounter):
        return []
    anchor = local_date(encounter.occurred_at)
    today = timezone.localdate()
    provider = Provider.objects.filter(user_id=encounter.clinician_id, is_active=True).first()
    recalls = []
    for n in range(1, visit.course_visits + 1):
        earliest, due, overdue = course_dates(anchor, visit.course_every_weeks, n)
        if overdue < today:
            continue
        recalls.append(
            recall_open(
                patient=encounter.patient,
                kind=Recall.Kind.THERAPY,
                appointment_type_code="therapy",
                anchor_date=anchor,
                earliest_date=earliest,
                due_date=due,
                overdue_date=overdue,
                source=f"therapy_course:{encounter.pk}:{n}",
                label=f"Therapy course: visit {n} of {visit.course_visits}",
                preferred_provider=provider,
                actor=actor,
            )
        )
    return recalls
