"""Booking and moving appointments: the per-slot checks, the reinjection rule, the locks and
the insert that the exclusion constraints guard."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.audit import acting_user
from clinic.errors import InvalidTransition
from patients.exceptions import PatientInactive
from patients.models import Patient

from .. import clock
from ..exceptions import (
    BadDuration,
    BeyondHorizon,
    InThePast,
    OffGrid,
    OutsideWorkingHours,
    OverrideNotPermitted,
    ProviderNotAllowed,
    SlotUnavailable,
    TypeInactive,
    WrongRoom,
)
from ..models import (
    Appointment,
    AppointmentType,
    Provider,
    Room,
    TimeOff,
    WorkingHours,
)
from ..rules import toxin_schedule, working_blocks
from ..slot_rules import (
    first_bookable_start,
    held_until,
    last_bookable_day,
    may_deliver,
    room_suits,
    suitable_rooms,
)
from .common import (
    RESCHEDULABLE,
    VIA_PATIENT_LINK,
    VIA_STAFF,
    Status,
    audit_appointment,
    locked_appointment,
    notify,
    record_event,
    save_appointment,
    slot_json,
)
from .locks import lock_resources
from .offers import waitlist_offer_freed, waitlist_offers_lapse
from .recalls import recall_satisfy

# Surgery and other per-booking durations: a quarter hour to a long theatre list.
MIN_BOOKED_MINUTES = 15
MAX_BOOKED_MINUTES = 12 * 60


def _booked_minutes(appointment_type: AppointmentType, duration_minutes: int | None) -> int:
    if not appointment_type.duration_set_per_booking:
        if duration_minutes not in (None, appointment_type.duration_minutes):
            raise BadDuration(
                fields={"duration_minutes": ["This appointment type has a fixed duration."]},
            )
        return appointment_type.duration_minutes
    minutes = duration_minutes or appointment_type.duration_minutes
    if not MIN_BOOKED_MINUTES <= minutes <= MAX_BOOKED_MINUTES or minutes % clock.GRID_MINUTES:
        raise BadDuration(
            fields={
                "duration_minutes": [
                    f"Give {MIN_BOOKED_MINUTES} to {MAX_BOOKED_MINUTES} minutes in quarter hours."
                ]
            },
        )
    return minutes


def _free_rooms(
    *,
    patient,
    appointment_type: AppointmentType,
    provider: Provider,
    room: Room | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None,
    via: str,
    prefer_room_id: int | None = None,
) -> list[Room]:
    """Raise unless the slot is bookable; return the rooms free for it (the given one, or all).

    The same rules as the availability search, checked here for one slot so that every entry
    point (pages, API, patient links) gets the same answer with a reason.
    """
    now = timezone.now()
    if not clock.on_grid(starts_at):
        raise OffGrid(fields={"start": [OffGrid.default_detail]})
    if starts_at < first_bookable_start(now):
        raise InThePast(fields={"start": [InThePast.default_detail]})
    if via == VIA_PATIENT_LINK and clock.local(starts_at).date() > last_bookable_day(clock.local_today()):
        raise BeyondHorizon(fields={"start": [BeyondHorizon.default_detail]})
    if not may_deliver(provider, appointment_type):
        raise ProviderNotAllowed(
            f"{provider} ({provider.get_role_display()}) cannot deliver {appointment_type}.",
            fields={"provider": [ProviderNotAllowed.default_detail]},
        )
    blocked_until = held_until(ends_at, appointment_type)

    day = clock.local(starts_at).date()
    hours = list(
        WorkingHours.objects.filter(provider=provider, weekday=day.weekday(), location__is_active=True)
    )
    block = next((b for b in working_blocks(hours, day) if b.start <= starts_at and ends_at <= b.end), None)
    if block is None:
        raise OutsideWorkingHours(f"{provider} does not work at that time.")

    if room is not None:
        if not room_suits(room, appointment_type):
            raise WrongRoom(
                f"{appointment_type} needs a {Room.Kind(appointment_type.room_kind).label.lower()}.",
                fields={"room": [WrongRoom.default_detail]},
            )
        if room.location_id != block.location_id:
            raise WrongRoom(
                "That room is at another location than the provider works then.",
                fields={"room": [WrongRoom.default_detail]},
            )
        candidates = [room]
    else:
        candidates = list(suitable_rooms(appointment_type, [block.location_id]))
        candidates.sort(key=lambda r: r.pk != prefer_room_id)
        if not candidates:
            raise SlotUnavailable("There is no room of the right kind at that location.", resource="room")
    # Also covers the reinjection interval, checked after this: one patient's toxin bookings
    # on different days do not overlap, so no exclusion constraint would catch that race.
    lock_resources(provider_id=provider.pk, patient_id=patient.pk, room_ids=[r.pk for r in candidates])

    busy_rooms: set[int] = set()
    for provider_id, room_id in TimeOff.objects.filter(
        Q(provider=provider) | Q(room__in=candidates), starts_at__lt=blocked_until, ends_at__gt=starts_at
    ).values_list("provider_id", "room_id"):
        if provider_id:
            raise SlotUnavailable(f"{provider} is away at that time.", resource="provider")
        busy_rooms.add(room_id)

    clashes = (
        Appointment.objects.active()
        .holding(starts_at, blocked_until)
        .filter(Q(provider=provider) | Q(room__in=candidates) | Q(patient=patient))
        .exclude(pk=exclude_id)
        .values_list("provider_id", "room_id", "patient_id", "starts_at", "ends_at")
    )
    patient_busy = False
    for provider_id, room_id, patient_id, s, e in clashes:
        if provider_id == provider.pk:
            raise SlotUnavailable(f"{provider} is already booked at that time.", resource="provider")
        if patient_id == patient.pk and s < ends_at and e > starts_at:
            patient_busy = True
        busy_rooms.add(room_id)
    if patient_busy:
        raise SlotUnavailable("The patient already has an appointment at that time.", resource="patient")
    free = [r for r in candidates if r.pk not in busy_rooms]
    if not free:
        detail = "That room is in use at that time." if room else "No suitable room is free at that time."
        raise SlotUnavailable(detail, resource="room")
    return free


def _toxin_override(
    *,
    patient,
    appointment_type: AppointmentType,
    starts_at: datetime,
    exclude_id,
    actor,
    override_reason: str,
) -> str:
    """'' when the minimum reinjection interval is kept; the clinician's reason when overridden.

    The rule is the clinical app's (``toxin_schedule``); the patient's lock is already held.
    """
    if not appointment_type.is_toxin:
        return ""
    verdict = toxin_schedule(patient_id=patient.pk, exclude_appointment_id=exclude_id).check(
        clock.local(starts_at).date()
    )
    if verdict.allowed:
        return ""
    reason = (override_reason or "").strip()
    permitted = acting_user(actor) is not None and actor.has_perm("clinic.override_toxin_interval")
    if not reason:
        raise verdict.error(
            override_allowed=permitted,
            hint="Booking this date needs a clinician's override with a reason.",
        )
    if not permitted:
        raise OverrideNotPermitted(earliest=verdict.earliest.isoformat())
    return reason


@transaction.atomic
def appointment_book(
    *,
    patient,
    appointment_type: AppointmentType,
    provider: Provider,
    starts_at: datetime,
    actor,
    room: Room | None = None,
    duration_minutes: int | None = None,
    override_reason: str = "",
    notes: str = "",
    via: str = VIA_STAFF,
) -> Appointment:
    """Book an appointment. Raises a DomainError saying why when the slot cannot be booked.

    The checks here give a friendly error; on PostgreSQL the exclusion constraints settle races
    between concurrent bookings (the loser gets SlotUnavailable, never a 500).
    """
    starts_at = clock.utc(starts_at)
    if not appointment_type.is_active:
        raise TypeInactive(fields={"appointment_type": [TypeInactive.default_detail]})
    if patient.status != Patient.Status.ACTIVE:
        raise PatientInactive(fields={"patient": [PatientInactive.default_detail]})
    minutes = _booked_minutes(appointment_type, duration_minutes)
    ends_at = starts_at + timedelta(minutes=minutes)
    rooms = _free_rooms(
        patient=patient,
        appointment_type=appointment_type,
        provider=provider,
        room=room,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=None,
        via=via,
    )
    override = _toxin_override(
        patient=patient,
        appointment_type=appointment_type,
        starts_at=starts_at,
        exclude_id=None,
        actor=actor,
        override_reason=override_reason,
    )
    appointment = None
    for index, candidate in enumerate(rooms):
        appointment = Appointment(
            patient=patient,
            appointment_type=appointment_type,
            provider=provider,
            room=candidate,
            starts_at=starts_at,
            ends_at=ends_at,
            blocked_until=held_until(ends_at, appointment_type),
            interval_override_reason=override,
            notes=notes[:500],
            booked_by=acting_user(actor),
            booked_via=via,
        )
        try:
            save_appointment(appointment)
            break
        except SlotUnavailable as exc:
            # A room the service picked was taken meanwhile: the next free one will do.
            if room is None and exc.extra.get("resource") == "room" and index + 1 < len(rooms):
                continue
            raise
    assert appointment is not None  # noqa: S101 (rooms is never empty: _free_rooms raises first)
    record_event(appointment, "booked", "", actor=actor, via=via, reason=override)
    audit_appointment(
        appointment,
        "booked",
        actor=actor,
        changes={
            **slot_json(starts_at, ends_at, provider.pk, appointment.room_id),
            "appointment_type": appointment_type.code,
            "via": via,
        },
    )
    if override:
        audit_appointment(
            appointment,
            "toxin_interval_overridden",
            actor=actor,
            changes={"reason": override},
        )
    recall_satisfy(appointment, actor=actor)
    waitlist_offers_lapse(appointment)
    notify(appointment, "booked")
    return appointment


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    starts_at: datetime,
    actor,
    provider: Provider | None = None,
    room: Room | None = None,
    duration_minutes: int | None = None,
    override_reason: str = "",
    reason: str = "",
    via: str = VIA_STAFF,
) -> Appointment:
    """Move an appointment to a new time (and provider or room). One row; the event keeps from/to."""
    starts_at = clock.utc(starts_at)
    appointment = locked_appointment(appointment)
    if appointment.status not in RESCHEDULABLE:
        raise InvalidTransition(
            f"A {appointment.get_status_display().lower()} appointment cannot be rescheduled.",
            status=appointment.status,
        )
    appointment_type = appointment.appointment_type
    if appointment_type.duration_set_per_booking and duration_minutes is None:
        duration_minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    minutes = _booked_minutes(appointment_type, duration_minutes)
    provider = provider or appointment.provider
    ends_at = starts_at + timedelta(minutes=minutes)
    rooms = _free_rooms(
        patient=appointment.patient,
        appointment_type=appointment_type,
        provider=provider,
        room=room,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=appointment.pk,
        via=via,
        prefer_room_id=appointment.room_id,
    )
    override = _toxin_override(
        patient=appointment.patient,
        appointment_type=appointment_type,
        starts_at=starts_at,
        exclude_id=appointment.pk,
        actor=actor,
        override_reason=override_reason,
    )
    before = slot_json(
        appointment.starts_at, appointment.ends_at, appointment.provider_id, appointment.room_id
    )
    old = (appointment.starts_at, appointment.ends_at, appointment.provider, appointment.room)
    from_status = appointment.status
    appointment.provider = provider
    appointment.room = rooms[0]
    appointment.starts_at = starts_at
    appointment.ends_at = ends_at
    appointment.blocked_until = held_until(ends_at, appointment_type)
    # A confirmation was for the old time.
    appointment.status = Status.BOOKED
    if override:
        appointment.interval_override_reason = override
    save_appointment(appointment)
    after = slot_json(starts_at, ends_at, provider.pk, appointment.room_id)
    record_event(
        appointment,
        "rescheduled",
        from_status,
        actor=actor,
        via=via,
        reason=override or reason,
        details={"from": before, "to": after},
    )
    audit_appointment(appointment, "rescheduled", actor=actor, changes={"from": before, "to": after})
    if override:
        audit_appointment(appointment, "toxin_interval_overridden", actor=actor, changes={"reason": override})
    waitlist_offers_lapse(appointment)
    if old[2] != provider or not (starts_at < old[1] and old[0] < appointment.blocked_until):
        # Only a slot the move really left empty is offered (not one it still half covers).
        waitlist_offer_freed(appointment, starts_at=old[0], ends_at=old[1], provider=old[2], room=old[3])
    notify(appointment, "rescheduled")
    return appointment
