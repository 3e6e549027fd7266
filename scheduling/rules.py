"""Rules shared by the availability search and the booking service, so both agree."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured

from . import clock
from .models import WorkingHours


@dataclass(frozen=True)
class WorkingBlock:
    start: datetime
    end: datetime
    location_id: int


def working_blocks(hours: list[WorkingHours], day: date) -> list[WorkingBlock]:
    """A provider's working blocks on one local date, from their rows for that weekday."""
    return [
        WorkingBlock(clock.at(day, wh.start_time), clock.at(day, wh.end_time), wh.location_id)
        for wh in hours
        if wh.weekday == day.weekday()
    ]


class ToxinSchedule(Protocol):
    """One patient's toxin exposures, as the reinjection rule's owner answers for them."""

    def allows(self, day: date, product: str | None = None) -> bool: ...

    def earliest_from(self, day: date, product: str | None = None) -> date: ...

    def check(self, day: date, product: str | None = None): ...


_toxin_interval_rule: Callable[..., ToxinSchedule] | None = None


def register_toxin_interval_rule(rule: Callable[..., ToxinSchedule]) -> None:
    """The clinical app registers the minimum reinjection interval here at start-up.

    Scheduling books toxin appointments but does not own the rule, and never imports the app
    that does (``treatments.interval``): booking, rescheduling, waitlist offers, patient links
    and availability all ask through ``toxin_schedule``.
    """
    global _toxin_interval_rule
    _toxin_interval_rule = rule


def toxin_schedule(*, patient_id: int, exclude_appointment_id: int | None = None) -> ToxinSchedule:
    if _toxin_interval_rule is None:
        # Failing closed: a toxin booking is never checked against nothing.
        raise ImproperlyConfigured("No reinjection interval rule is registered (treatments.interval).")
    return _toxin_interval_rule(patient_id=patient_id, exclude_appointment_id=exclude_appointment_id)


# Warnings about a booking that other apps own (a missing procedure consent, ...): shown on the
# booking and appointment pages and in the API's ``warnings``; never refusals. Scheduling never
# imports those apps: they register a source here at start-up (consents.hooks).
_booking_warning_sources: list[Callable[..., list[str]]] = []


def register_booking_warnings(source: Callable[..., list[str]]) -> None:
    """``source(appointment=...)`` returns a list of messages (empty when all is well)."""
    if source not in _booking_warning_sources:
        _booking_warning_sources.append(source)


def booking_warnings(*, appointment) -> list[str]:
    """Every registered source's warnings about one appointment (active ones only)."""
    if not appointment.is_active:
        return []
    return [message for source in _booking_warning_sources for message in source(appointment=appointment)]
