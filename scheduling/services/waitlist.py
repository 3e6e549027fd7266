"""The waitlist: patients who want an earlier slot, and accepting the slot offered to them."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.audit import acting_user, audit_record
from clinic.errors import Invalid, InvalidTransition
from patients.exceptions import PatientInactive
from patients.models import Patient

from ..exceptions import (
    AlreadyWaiting,
    ProviderNotAllowed,
    TypeInactive,
)
from ..models import (
    Appointment,
    AppointmentType,
    Provider,
    WaitlistEntry,
    WaitlistOffer,
)
from ..slot_rules import may_deliver
from .booking import appointment_book, appointment_reschedule
from .common import RESCHEDULABLE, VIA_STAFF


@transaction.atomic
def waitlist_add(
    *,
    patient,
    appointment_type: AppointmentType,
    actor,
    provider: Provider | None = None,
    earliest_date: date | None = None,
    latest_date: date | None = None,
    appointment: Appointment | None = None,
    notes: str = "",
) -> WaitlistEntry:
    """Put a patient on the waitlist for an earlier slot of a type."""
    if patient.status != Patient.Status.ACTIVE:
        raise PatientInactive(fields={"patient": [PatientInactive.default_detail]})
    if not appointment_type.is_active:
        raise TypeInactive(fields={"appointment_type": [TypeInactive.default_detail]})
    if provider is not None and not may_deliver(provider, appointment_type):
        raise ProviderNotAllowed(fields={"provider": [ProviderNotAllowed.default_detail]})
    if earliest_date and latest_date and latest_date < earliest_date:
        raise Invalid(fields={"latest_date": ["Must not be before the earliest date."]})
    if appointment is not None and (
        appointment.patient_id != patient.pk
        or appointment.appointment_type_id != appointment_type.pk
        or appointment.status not in RESCHEDULABLE
    ):
        raise Invalid(
            fields={"appointment": ["Choose one of this patient's booked appointments of this type."]}
        )
    entry = WaitlistEntry(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        earliest_date=earliest_date,
        latest_date=latest_date,
        appointment=appointment,
        notes=notes[:500],
        created_by=acting_user(actor),
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as exc:
        raise AlreadyWaiting() from exc
    audit_record(
        actor=actor,
        action="waitlist.added",
        target=entry,
        patient_id=patient.pk,
        changes={"appointment_type": appointment_type.code, "provider": provider.pk if provider else None},
    )
    return entry


@transaction.atomic
def waitlist_cancel(*, entry: WaitlistEntry, actor, reason: str = "") -> WaitlistEntry:
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.status != WaitlistEntry.Status.WAITING:
        raise InvalidTransition("Only a waiting entry can be removed.", status=entry.status)
    entry.status = WaitlistEntry.Status.CANCELLED
    entry.save(update_fields=["status", "updated_at"])
    entry.offers.filter(status=WaitlistOffer.Status.OPEN).update(
        status=WaitlistOffer.Status.LAPSED, resolved_at=timezone.now()
    )
    audit_record(
        actor=actor,
        action="waitlist.cancelled",
        target=entry,
        patient_id=entry.patient_id,
        changes={"reason": reason} if reason else {},
    )
    return entry


@transaction.atomic
def waitlist_offer_accept(*, offer: WaitlistOffer, actor, via: str = VIA_STAFF) -> Appointment:
    """Book the offered slot for the waiting patient (or move their later booking into it)."""
    offer = (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .select_related("entry__patient", "entry__appointment_type", "entry__appointment", "provider", "room")
        .get(pk=offer.pk)
    )
    entry = offer.entry
    if offer.status != WaitlistOffer.Status.OPEN or entry.status != WaitlistEntry.Status.WAITING:
        raise InvalidTransition("This offer is no longer open.", status=offer.status)
    duration = None
    if entry.appointment_type.duration_set_per_booking:
        duration = int((offer.ends_at - offer.starts_at).total_seconds() // 60)
    existing = entry.appointment
    if existing is not None and existing.status in RESCHEDULABLE:
        appointment = appointment_reschedule(
            appointment=existing,
            starts_at=offer.starts_at,
            provider=offer.provider,
            room=offer.room,
            duration_minutes=duration,
            actor=actor,
            via=via,
            reason="Earlier slot from the waitlist",
        )
    else:
        appointment = appointment_book(
            patient=entry.patient,
            appointment_type=entry.appointment_type,
            provider=offer.provider,
            room=offer.room,
            starts_at=offer.starts_at,
            duration_minutes=duration,
            actor=actor,
            via=via,
        )
    now = timezone.now()
    offer.status = WaitlistOffer.Status.ACCEPTED
    offer.appointment = appointment
    offer.resolved_at = now
    offer.save(update_fields=["status", "appointment", "resolved_at"])
    entry.status = WaitlistEntry.Status.BOOKED
    entry.booked_appointment = appointment
    entry.save(update_fields=["status", "booked_appointment", "updated_at"])
    entry.offers.filter(status=WaitlistOffer.Status.OPEN).update(
        status=WaitlistOffer.Status.LAPSED, resolved_at=now
    )
    audit_record(
        actor=actor,
        action="waitlist.booked",
        target=entry,
        patient_id=entry.patient_id,
        changes={"appointment": appointment.pk, "offer": offer.pk},
    )
    return appointment
