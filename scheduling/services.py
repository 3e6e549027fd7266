"""Scheduling services: the rules for calendars, bookings and recalls live here."""

from datetime import date

from django.db import IntegrityError, transaction

from clinic.audit import audit_record

from .models import AppointmentType, Provider, Recall


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
    return recall
