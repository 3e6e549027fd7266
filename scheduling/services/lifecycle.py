"""The appointment's life after booking: confirm, check in, no-show, complete, cancel, and
corrections of a mistaken status, each a new event."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.errors import Invalid, InvalidTransition

from .. import clock
from ..exceptions import (
    InThePast,
    NotToday,
    ReasonRequired,
    SlotUnavailable,
    TooEarly,
)
from ..models import (
    Appointment,
)
from .common import (
    VIA_STAFF,
    Status,
    audit_appointment,
    locked_appointment,
    notify,
    record_event,
    save_appointment,
)
from .locks import lock_resources
from .offers import waitlist_offer_freed, waitlist_offers_lapse
from .recalls import recall_reopen, recall_satisfy

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset, str]] = {
    "confirm": (frozenset({Status.BOOKED}), Status.CONFIRMED),
    "check_in": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.CHECKED_IN),
    "no_show": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.NO_SHOW),
    "complete": (frozenset({Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN}), Status.COMPLETED),
    "cancel": (frozenset({Status.BOOKED, Status.CONFIRMED}), Status.CANCELLED),
}
# How each action is named in the event log and the audit trail.
PAST_TENSE = {
    "confirm": "confirmed",
    "check_in": "checked_in",
    "no_show": "no_show",
    "complete": "completed",
    "cancel": "cancelled",
}

# Mistakes put right: from status -> statuses a correction (with a reason) may set. Each is a new
# event; nothing is overwritten (a no-show that cannot be corrected is a known failure elsewhere).
CORRECTIONS: dict[str, frozenset] = {
    Status.NO_SHOW: frozenset({Status.COMPLETED, Status.CHECKED_IN, Status.BOOKED}),
    Status.CHECKED_IN: frozenset({Status.BOOKED}),
    Status.COMPLETED: frozenset({Status.CHECKED_IN, Status.NO_SHOW}),
    Status.CANCELLED: frozenset({Status.BOOKED}),
}

CANCELLED_BY = ("patient", "clinic")


def _transition(appointment: Appointment, action: str, *, actor, via: str, reason: str = "", details=None):
    appointment = locked_appointment(appointment)
    allowed_from, to_status = TRANSITIONS[action]
    if appointment.status not in allowed_from:
        raise InvalidTransition(
            f"Cannot {action.replace('_', ' ')} a {appointment.get_status_display().lower()} appointment.",
            status=appointment.status,
            action=action,
        )
    now = timezone.now()
    if action in ("no_show", "complete") and now < appointment.starts_at:
        raise TooEarly()
    if action == "check_in" and clock.local(appointment.starts_at).date() != clock.local(now).date():
        raise NotToday()
    if action == "confirm" and appointment.starts_at <= now:
        raise InvalidTransition("Only future appointments can be confirmed.", status=appointment.status)
    from_status = appointment.status
    appointment.status = to_status
    fields = ["status", "updated_at"]
    if action == "cancel":
        appointment.cancellation_reason = reason[:500]
        fields.append("cancellation_reason")
    appointment.save(update_fields=fields)
    done = PAST_TENSE[action]
    record_event(appointment, done, from_status, actor=actor, via=via, reason=reason, details=details)
    changes = {"status": [from_status, to_status], **(details or {})}
    if reason:
        changes["reason"] = reason
    audit_appointment(appointment, done, actor=actor, changes=changes)
    if to_status in (Status.CANCELLED, Status.NO_SHOW):
        recall_reopen(appointment, actor=actor)
    if to_status == Status.CANCELLED:
        waitlist_offer_freed(
            appointment,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            provider=appointment.provider,
            room=appointment.room,
        )
    notify(appointment, done)
    return appointment


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, actor, via: str = VIA_STAFF) -> Appointment:
    return _transition(appointment, "confirm", actor=actor, via=via)


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, actor, via: str = VIA_STAFF) -> Appointment:
    return _transition(appointment, "check_in", actor=actor, via=via)


@transaction.atomic
def appointment_no_show(
    *, appointment: Appointment, actor, via: str = VIA_STAFF, reason: str = ""
) -> Appointment:
    return _transition(appointment, "no_show", actor=actor, via=via, reason=reason)


@transaction.atomic
def appointment_complete(*, appointment: Appointment, actor, via: str = VIA_STAFF) -> Appointment:
    return _transition(appointment, "complete", actor=actor, via=via)


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, reason: str, actor, cancelled_by: str = "patient", via: str = VIA_STAFF
) -> Appointment:
    """Cancel with a reason, recording who asked for it (the patient or the clinic)."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say why the appointment is cancelled.")
    if cancelled_by not in CANCELLED_BY:
        raise Invalid(fields={"cancelled_by": [f"Choose one of: {', '.join(CANCELLED_BY)}."]})
    return _transition(
        appointment, "cancel", actor=actor, via=via, reason=reason, details={"cancelled_by": cancelled_by}
    )


def corrections_for(appointment: Appointment) -> list[str]:
    return sorted(CORRECTIONS.get(appointment.status, ()))


@transaction.atomic
def appointment_correct(
    *, appointment: Appointment, to_status: str, reason: str, actor, via: str = VIA_STAFF
) -> Appointment:
    """Put a mistaken status right (a no-show who did attend, an undone check-in) as a new event."""
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("Say what the mistake was.")
    appointment = locked_appointment(appointment)
    from_status = appointment.status
    if to_status not in CORRECTIONS.get(from_status, ()):
        raise InvalidTransition(
            f"A {appointment.get_status_display().lower()} appointment cannot be corrected to {to_status}.",
            status=from_status,
        )
    was_active = from_status in Appointment.ACTIVE_STATUSES
    becomes_active = to_status in Appointment.ACTIVE_STATUSES
    if not was_active and becomes_active:
        if to_status == Status.BOOKED and appointment.starts_at < timezone.now():
            raise InThePast("Only a future appointment can be booked again; book a new one instead.")
        # The slot may have been given to someone else meanwhile.
        _free_rooms_ignoring_hours(appointment)
    appointment.status = to_status
    fields = ["status", "updated_at"]
    if from_status == Status.CANCELLED:
        appointment.cancellation_reason = ""
        fields.append("cancellation_reason")
    save_appointment(appointment, update_fields=fields)
    record_event(appointment, "corrected", from_status, actor=actor, via=via, reason=reason)
    audit_appointment(
        appointment, "corrected", actor=actor, changes={"status": [from_status, to_status], "reason": reason}
    )
    if was_active and not becomes_active:
        recall_reopen(appointment, actor=actor)
    elif becomes_active and not was_active:
        recall_satisfy(appointment, actor=actor)
        waitlist_offers_lapse(appointment)
    notify(appointment, "corrected")
    return appointment


def _free_rooms_ignoring_hours(appointment: Appointment) -> None:
    """Raise SlotUnavailable if the appointment's own slot is now taken by another one."""
    lock_resources(
        provider_id=appointment.provider_id, patient_id=appointment.patient_id, room_ids=[appointment.room_id]
    )
    clash = (
        Appointment.objects.active()
        .holding(appointment.starts_at, appointment.blocked_until)
        .filter(Q(provider_id=appointment.provider_id) | Q(room_id=appointment.room_id))
        .exclude(pk=appointment.pk)
        .values_list("provider_id", flat=True)
        .first()
    )
    if clash is not None:
        resource = "provider" if clash == appointment.provider_id else "room"
        raise SlotUnavailable(f"The {resource} has been booked for that time since.", resource=resource)
    patient_clash = (
        Appointment.objects.active()
        .holding(appointment.starts_at, appointment.ends_at)
        .filter(patient_id=appointment.patient_id, ends_at__gt=appointment.starts_at)
        .exclude(pk=appointment.pk)
        .exists()
    )
    if patient_clash:
        raise SlotUnavailable("The patient has another appointment at that time since.", resource="patient")
