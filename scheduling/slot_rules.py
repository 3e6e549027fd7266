"""The per-slot rules that booking and the availability search share.

Booking (``services.booking``) checks one slot and says why it cannot be booked; availability
(``availability``) checks thousands at once and lists the free ones. Both read the rules from
here, so that a slot the search offers is one that booking accepts, and the other way round:

- who may deliver an appointment type (``may_deliver``, ``delivering_providers``);
- which rooms suit it (``room_suits``, ``suitable_rooms``);
- how long a booking holds its provider and room (``held_until``: the end plus the type's
  buffer);
- the first start time that may be booked (``first_bookable_start``: the next quarter hour of
  the clinic's wall clock) and the last day of the booking horizon (``last_bookable_day``).

The working hours (``rules.working_blocks``), time off, other bookings and the reinjection
interval (``rules.toxin_schedule``) are the other rules both apply.
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db.models import QuerySet

from clinic.models import ClinicSettings

from . import clock
from .models import AppointmentType, Provider, Room


def may_deliver(provider: Provider, appointment_type: AppointmentType) -> bool:
    """Whether ``provider`` may deliver ``appointment_type``: active, and of a role the type names."""
    return provider.is_active and provider.role in appointment_type.provider_roles


def delivering_providers(appointment_type: AppointmentType) -> QuerySet[Provider]:
    """The providers for whom ``may_deliver`` holds, as a query."""
    return Provider.objects.filter(is_active=True, role__in=appointment_type.provider_roles)


def room_suits(room: Room, appointment_type: AppointmentType) -> bool:
    """Whether ``room`` can hold ``appointment_type``: active, and of the kind the type needs."""
    return room.is_active and room.kind == appointment_type.room_kind


def suitable_rooms(appointment_type: AppointmentType, location_ids: Iterable[int]) -> QuerySet[Room]:
    """The rooms for whom ``room_suits`` holds at these locations, in the order they are offered."""
    return Room.objects.filter(
        is_active=True, kind=appointment_type.room_kind, location_id__in=list(location_ids)
    ).order_by("name", "id")


def held_until(ends_at: datetime, appointment_type: AppointmentType) -> datetime:
    """Until when a booking ending at ``ends_at`` keeps its provider and room busy."""
    return ends_at + timedelta(minutes=appointment_type.buffer_after_minutes)


def first_bookable_start(now: datetime) -> datetime:
    """The earliest start that may be booked: the first quarter hour at or after ``now``."""
    return clock.ceil_to_grid(now)


def last_bookable_day(today: date, settings: ClinicSettings | None = None) -> date:
    """The last day of the booking horizon: what the search offers and patients may book.

    Staff may book beyond it by giving a time (a surgery list months ahead)."""
    settings = settings or ClinicSettings.load()
    return today + timedelta(days=settings.booking_horizon_days)
