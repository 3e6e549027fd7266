"""What a change in the diary does to the waitlist's offers: a freed slot is offered to the
matching waiting patients, and offers of a slot that is taken again lapse."""

from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone

from .. import clock
from ..models import (
    Appointment,
    Provider,
    Room,
    WaitlistEntry,
    WaitlistOffer,
)
from ..rules import toxin_schedule
from .common import RESCHEDULABLE


def waitlist_offer_freed(
    appointment: Appointment, *, starts_at: datetime, ends_at: datetime, provider: Provider, room: Room
) -> list[WaitlistOffer]:
    """Offer a slot that a cancellation or a move freed to the matching waitlist entries."""
    if starts_at <= timezone.now():
        return []
    day = clock.local(starts_at).date()
    entries = (
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.WAITING, appointment_type_id=appointment.appointment_type_id
        )
        .filter(Q(provider__isnull=True) | Q(provider=provider))
        .filter(Q(earliest_date__isnull=True) | Q(earliest_date__lte=day))
        .filter(Q(latest_date__isnull=True) | Q(latest_date__gte=day))
        .exclude(patient_id=appointment.patient_id)
        .select_related("appointment", "appointment_type")
    )
    offers = [
        WaitlistOffer(
            entry=entry,
            provider=provider,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            freed_by=appointment,
        )
        for entry in entries
        # Only an earlier slot helps a patient who already has a booking.
        if (
            entry.appointment is None
            or entry.appointment.status not in RESCHEDULABLE
            or entry.appointment.starts_at > starts_at
        )
        # A toxin slot is offered only to a patient who may have toxin that day: an offer that
        # booking would then refuse is no offer.
        and _toxin_day_allowed(entry, day)
    ]
    # Offered once per entry and slot (the unique constraint makes a repeat a no-op).
    return WaitlistOffer.objects.bulk_create(offers, ignore_conflicts=True)


def _toxin_day_allowed(entry: WaitlistEntry, day: date) -> bool:
    if not entry.appointment_type.is_toxin:
        return True
    moving = entry.appointment_id if entry.appointment is not None else None
    return toxin_schedule(patient_id=entry.patient_id, exclude_appointment_id=moving).allows(day)


def waitlist_offers_lapse(appointment: Appointment) -> None:
    """Open offers of a slot that this appointment now occupies are gone."""
    WaitlistOffer.objects.filter(
        status=WaitlistOffer.Status.OPEN,
        provider_id=appointment.provider_id,
        starts_at__lt=appointment.blocked_until,
        ends_at__gt=appointment.starts_at,
    ).update(status=WaitlistOffer.Status.LAPSED, resolved_at=timezone.now())
