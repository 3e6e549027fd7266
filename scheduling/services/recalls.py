"""Recalls: patients due back (reinjection, post-op, therapy), opened by the apps above and
satisfied, reopened or superseded by bookings here."""

from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clinic.audit import audit_record

from .. import clock
from ..models import (
    Appointment,
    AppointmentType,
    Provider,
    Recall,
)
from ..reminders.services import (
    messages_cancel_for_recall,
    messages_plan_for_recall,
)
from .locks import patient_lock


@transaction.atomic
def recall_open(
    *,
    patient,
    kind: str,
    appointment_type_code: str,
    anchor_date: date,
    earliest_date: date,
    due_date: date,
    overdue_date: date,
    source: str,
    label: str = "",
    preferred_provider: Provider | None = None,
    actor=None,
) -> Recall:
    """Open a recall for a patient, or return the one already opened from the same source.

    Called by higher apps (a toxin session opens a reinjection recall, a surgery its post-op
    recalls). Idempotent: (patient, kind, source) is unique, so a retried call opens nothing new.
    """
    # A booking of the recalled kind made at the same moment either commits before us (and is
    # matched below) or waits for this lock and then finds the open recall (recall_satisfy).
    patient_lock(patient.pk)
    existing = Recall.objects.filter(patient=patient, kind=kind, source=source).first()
    if existing is not None:
        return existing
    recall = Recall(
        patient=patient,
        kind=kind,
        appointment_type=AppointmentType.objects.get(code=appointment_type_code),
        preferred_provider=preferred_provider,
        anchor_date=anchor_date,
        earliest_date=max(earliest_date, anchor_date),
        due_date=max(due_date, earliest_date, anchor_date),
        overdue_date=max(overdue_date, due_date, earliest_date, anchor_date),
        source=source,
        label=label,
    )
    try:
        with transaction.atomic():
            recall.save()
    except IntegrityError:
        # Opened concurrently by another worker from the same source: that one stands.
        return Recall.objects.get(patient=patient, kind=kind, source=source)
    audit_record(
        actor=actor,
        action="recall.opened",
        target=recall,
        patient_id=patient.pk,
        changes={"kind": kind, "due_date": recall.due_date.isoformat(), "source": source},
    )
    # The patient may already have the recalled appointment booked (made at the end of the
    # session, before it was recorded): then the recall is booked at once and never reminds.
    recall_match_bookings(recall=recall, actor=actor)
    # The reminders are planned in the same transaction: a recall never exists without them.
    # While the recall is booked they are held back at send time; if the booking is cancelled
    # the recall reopens and they go out again.

    messages_plan_for_recall(recall=recall)
    return recall


def _recall_appointment_types(appointment_type: AppointmentType) -> Q:
    """The appointment types that satisfy a recall for ``appointment_type``: that type, and for
    a toxin recall any toxin appointment (the diary has more than one kind of toxin visit)."""
    if appointment_type.is_toxin:
        return Q(appointment_type__is_toxin=True)
    return Q(appointment_type_id=appointment_type.pk)


def recall_upcoming_booking(recall: Recall) -> Appointment | None:
    """The patient's next active appointment that satisfies ``recall`` and no other recall:
    booked on or after the recall's anchor date, not yet started."""
    start_of_anchor = clock.day_bounds(recall.anchor_date)[0]
    return (
        Appointment.objects.filter(patient_id=recall.patient_id, status__in=Appointment.ACTIVE_STATUSES)
        .filter(_recall_appointment_types(recall.appointment_type))
        .filter(starts_at__gte=max(start_of_anchor, timezone.now()))
        .exclude(satisfied_recalls__status=Recall.Status.BOOKED)
        .select_related("appointment_type", "provider__user", "room__location")
        .order_by("starts_at", "id")
        .first()
    )


def recall_match_bookings(*, recall: Recall, actor=None) -> Appointment | None:
    """Attach an open recall to the patient's upcoming booking of the recalled kind, if any.

    The one place that turns an existing booking into a booked recall; booking afterwards goes
    through ``recall_satisfy``. Either way the recall leaves the due list and its reminders
    are held back.
    """
    if recall.status != Recall.Status.OPEN:
        return None
    appointment = recall_upcoming_booking(recall)
    if appointment is None:
        return None
    _recall_mark_booked(recall, appointment, actor=actor)
    return appointment


@transaction.atomic
def recall_supersede(*, patient, kind: str, keep_source: str, actor=None) -> int:
    """Complete the patient's other open recalls of ``kind``: a newer event (a new toxin session)
    replaces what they were waiting for. Their pending reminders are cancelled."""

    closed = 0
    for recall in (
        Recall.objects.select_for_update()
        .filter(patient=patient, kind=kind, status=Recall.Status.OPEN)
        .exclude(source=keep_source)
    ):
        recall.status = Recall.Status.COMPLETED
        recall.save(update_fields=["status", "updated_at"])
        messages_cancel_for_recall(recall=recall, reason="superseded by a newer recall")
        audit_record(
            actor=actor,
            action="recall.superseded",
            target=recall,
            patient_id=patient.pk,
            changes={"by": keep_source},
        )
        closed += 1
    return closed


def recall_satisfy(appointment: Appointment, *, actor) -> Recall | None:
    """Booking satisfies the patient's oldest open recall for the same kind of appointment (any
    toxin appointment for a toxin recall), by every booking path: desk, API, patient link,
    waitlist offer, correction."""
    recall = (
        Recall.objects.select_for_update()
        .filter(
            _recall_appointment_types(appointment.appointment_type),
            patient_id=appointment.patient_id,
            status=Recall.Status.OPEN,
        )
        .order_by("due_date", "id")
        .first()
    )
    if recall is None:
        return None
    _recall_mark_booked(recall, appointment, actor=actor)
    return recall


def _recall_mark_booked(recall: Recall, appointment: Appointment, *, actor) -> None:
    recall.status = Recall.Status.BOOKED
    recall.booked_appointment = appointment
    recall.save(update_fields=["status", "booked_appointment", "updated_at"])
    audit_record(
        actor=actor,
        action="recall.booked",
        target=recall,
        patient_id=recall.patient_id,
        changes={"appointment": appointment.pk},
    )


def recall_reopen(appointment: Appointment, *, actor) -> None:
    """A cancelled or missed appointment no longer satisfies its recall: the patient is due again."""
    for recall in Recall.objects.select_for_update().filter(
        booked_appointment=appointment, status=Recall.Status.BOOKED
    ):
        recall.status = Recall.Status.OPEN
        recall.booked_appointment = None
        recall.save(update_fields=["status", "booked_appointment", "updated_at"])
        audit_record(
            actor=actor,
            action="recall.reopened",
            target=recall,
            patient_id=recall.patient_id,
            changes={"appointment": appointment.pk, "appointment_status": appointment.status},
        )
