"""Practice set-up, run by the practice manager (``manage_schedule``): providers' working hours,
time off, rooms and appointment types.

Every change goes through a service here, for the pages (scheduling.practice_views) and the API
alike: validated against the model (its validators and check constraints) and the clinic's
rules below, saved, and written to the audit trail with the changed fields.

- Working hours of one provider may not overlap on a weekday, whatever the location: a provider
  is in one place at a time (400 ``working_hours_overlap``).
- Time off over booked appointments is refused with the list of those appointments (409
  ``time_off_overlaps_bookings``) unless the manager says they know (``acknowledge_bookings``):
  the bookings stay, and the front desk moves them; the audit event names them.
- Rooms and appointment types are never deleted (bookings refer to them): they are deactivated,
  and a deactivated one is offered for no new booking.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.audit import audit_record, changed_fields
from clinic.errors import Invalid

from .exceptions import TimeOffOverlapsBookings, WorkingHoursOverlap
from .models import Appointment, AppointmentType, Provider, Room, TimeOff, WorkingHours

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class BookingInTheWay:
    """An appointment that a proposed time off would cover."""

    id: int
    starts_at: datetime
    patient: str
    provider: str
    room: str
    appointment_type: str

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "starts_at": self.starts_at.isoformat(),
            "patient": self.patient,
            "provider": self.provider,
            "room": self.room,
            "appointment_type": self.appointment_type,
        }

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        where = f"{self.appointment_type}, {self.provider}, {self.room}"
        return f"{local:%a %d %b %Y %H:%M} {self.patient} ({where})"


def _invalid(exc: ValidationError) -> Invalid:
    fields = {
        ("non_field_errors" if name == NON_FIELD_ERRORS else name): messages
        for name, messages in exc.message_dict.items()
    }
    return Invalid(fields=fields)


def _save(instance, data: dict, *, actor, validate=None):
    """Apply ``data``, check the model and ``validate``, save and audit (no audit if nothing
    changed)."""
    creating = instance._state.adding
    changes = changed_fields(instance, data)
    for name, value in data.items():
        setattr(instance, name, value)
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise _invalid(exc) from exc
    if validate is not None:
        validate(instance)
    if not creating and not changes:
        return instance
    instance.save()
    model = instance._meta.model_name
    audit_record(
        actor=actor,
        action=f"schedule.{model}_{'created' if creating else 'updated'}",
        target=instance,
        changes=changes,
    )
    return instance


# --- Working hours -----------------------------------------------------------------------------


def _lock_provider(provider_id: int | None) -> None:
    """Changes to one provider's hours or time off take turns (two managers at once)."""
    if provider_id is not None:
        list(Provider.objects.select_for_update().filter(pk=provider_id).values_list("pk", flat=True))


def working_hours_overlapping(hours: WorkingHours):
    """The provider's other hours on the same weekday that overlap ``hours``."""
    return (
        WorkingHours.objects.filter(
            provider_id=hours.provider_id,
            weekday=hours.weekday,
            start_time__lt=hours.end_time,
            end_time__gt=hours.start_time,
        )
        .exclude(pk=hours.pk)
        .select_related("location")
    )


def _check_hours(hours: WorkingHours) -> None:
    clash = working_hours_overlapping(hours).first()
    if clash is not None:
        raise WorkingHoursOverlap(
            f"{WEEKDAYS[hours.weekday]} {clash.start_time:%H:%M}-{clash.end_time:%H:%M} at "
            f"{clash.location} already covers part of these hours.",
            fields={
                "start_time": [
                    f"Overlaps {WEEKDAYS[clash.weekday]} {clash.start_time:%H:%M}-{clash.end_time:%H:%M} "
                    f"at {clash.location}."
                ]
            },
            overlapping=clash.pk,
        )


@transaction.atomic
def working_hours_save(*, data: dict, actor, hours: WorkingHours | None = None) -> WorkingHours:
    """Add (``hours`` None) or change a provider's working hours on one weekday."""
    hours = hours or WorkingHours()
    _lock_provider(data.get("provider").pk if data.get("provider") else hours.provider_id)
    return _save(hours, data, actor=actor, validate=_check_hours)


@transaction.atomic
def working_hours_delete(*, hours: WorkingHours, actor) -> None:
    """Remove one weekday's hours (set-up data: no booking refers to it)."""
    audit_record(
        actor=actor, action="schedule.workinghours_deleted", target=hours, changes={"deleted": str(hours)}
    )
    hours.delete()


# --- Time off ----------------------------------------------------------------------------------


def time_off_bookings(time_off: TimeOff) -> list[BookingInTheWay]:
    """Appointments still to happen that the time off would cover (its provider's or room's)."""
    blocked = Q(provider_id=time_off.provider_id) if time_off.provider_id else Q(room_id=time_off.room_id)
    rows = (
        Appointment.objects.active()
        .holding(time_off.starts_at, time_off.ends_at)
        .filter(blocked)
        .exclude(status=Appointment.Status.COMPLETED)
        .select_related("patient", "provider__user", "room", "appointment_type")
        .order_by("starts_at")
    )
    return [
        BookingInTheWay(
            id=a.pk,
            starts_at=a.starts_at,
            patient=a.patient.display_name,
            provider=str(a.provider),
            room=a.room.name,
            appointment_type=a.appointment_type.name,
        )
        for a in rows
    ]


@transaction.atomic
def time_off_save(
    *, data: dict, actor, time_off: TimeOff | None = None, acknowledge_bookings: bool = False
) -> TimeOff:
    """Block a provider or a room for a period. Refused (409 ``time_off_overlaps_bookings``, the
    appointments in ``extra["appointments"]``) when it covers booked appointments, unless
    ``acknowledge_bookings``: then it is saved and the audit event lists them."""
    time_off = time_off or TimeOff()
    _lock_provider(data.get("provider").pk if data.get("provider") else time_off.provider_id)
    in_the_way: list[BookingInTheWay] = []

    def check(candidate: TimeOff) -> None:
        in_the_way.extend(time_off_bookings(candidate))
        if in_the_way and not acknowledge_bookings:
            count = len(in_the_way)
            raise TimeOffOverlapsBookings(
                f"{count} appointment{'s are' if count > 1 else ' is'} booked in this time: "
                + "; ".join(str(b) for b in in_the_way[:10])
                + (" and more." if count > 10 else ".")
                + " Move them first, or confirm that the time off stands and the front desk will move them.",
                appointments=[b.as_json() for b in in_the_way],
            )

    saved = _save(time_off, data, actor=actor, validate=check)
    if in_the_way:
        audit_record(
            actor=actor,
            action="schedule.timeoff_over_bookings",
            target=saved,
            changes={"bookings_in_time_off": [b.id for b in in_the_way]},
        )
    return saved


@transaction.atomic
def time_off_delete(*, time_off: TimeOff, actor) -> None:
    """Remove a period of time off (set-up data: no booking refers to it)."""
    audit_record(
        actor=actor, action="schedule.timeoff_deleted", target=time_off, changes={"deleted": str(time_off)}
    )
    time_off.delete()


# --- Rooms and appointment types ---------------------------------------------------------------


@transaction.atomic
def room_save(*, data: dict, actor, room: Room | None = None) -> Room:
    """Add or change a room; ``is_active`` False retires it (it is never deleted)."""
    return _save(room or Room(), data, actor=actor)


def _check_type(appointment_type: AppointmentType) -> None:
    roles = appointment_type.provider_roles
    allowed = set(Provider.Role.values)
    if not isinstance(roles, list) or not roles or any(r not in allowed for r in roles):
        raise Invalid(fields={"provider_roles": [f"Choose one or more of: {', '.join(sorted(allowed))}."]})


@transaction.atomic
def appointment_type_save(
    *, data: dict, actor, appointment_type: AppointmentType | None = None
) -> AppointmentType:
    """Add or change an appointment type; ``is_active`` False retires it (never deleted)."""
    return _save(appointment_type or AppointmentType(), data, actor=actor, validate=_check_type)


def record_save(*, instance, data: dict, actor, acknowledge_bookings: bool = False):
    """The service for ``instance``'s kind of record (the API's entry point)."""
    if isinstance(instance, WorkingHours):
        return working_hours_save(data=data, actor=actor, hours=None if instance._state.adding else instance)
    if isinstance(instance, TimeOff):
        return time_off_save(
            data=data,
            actor=actor,
            time_off=None if instance._state.adding else instance,
            acknowledge_bookings=acknowledge_bookings,
        )
    if isinstance(instance, Room):
        return room_save(data=data, actor=actor, room=None if instance._state.adding else instance)
    if isinstance(instance, AppointmentType):
        return appointment_type_save(
            data=data, actor=actor, appointment_type=None if instance._state.adding else instance
        )
    raise TypeError(f"no practice service for {type(instance).__name__}")
