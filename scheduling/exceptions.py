"""Scheduling's domain errors, each with a stable ``code`` (see clinic.errors)."""

from clinic.errors import Conflict, DomainError, Invalid, InvalidTransition


class SlotUnavailable(Conflict):
    """The provider, the room or the patient is busy then. ``resource`` says which."""

    code = "slot_unavailable"
    default_detail = "That time is no longer free."


class ReinjectionTooSoon(Conflict):
    """A toxin date closer than the minimum interval to another toxin session or booking.

    The one error of the reinjection rule on every path (raised by ``treatments.interval``).
    Extra keys: earliest (ISO date), blocking ({date, product, encounter, appointment}),
    previous (the blocking date), days_apart, minimum_days, override_allowed.
    """

    code = "reinjection_too_soon"
    default_detail = "Too soon after (or before) another botulinum toxin session."


class OverrideNotPermitted(DomainError):
    code = "override_not_permitted"
    status = 403
    default_detail = "Only a clinician allowed to override the reinjection interval can give a reason."


class OutsideWorkingHours(Conflict):
    code = "outside_working_hours"
    default_detail = "The provider does not work then."


class InThePast(Invalid):
    code = "in_the_past"
    default_detail = "That time has already passed."


class BeyondHorizon(Invalid):
    code = "beyond_booking_horizon"
    default_detail = "That date is further ahead than bookings are offered."


class OffGrid(Invalid):
    code = "off_grid"
    default_detail = "Appointments start on the quarter hour (:00, :15, :30, :45)."


class ProviderNotAllowed(Invalid):
    code = "provider_not_allowed"
    default_detail = "This provider cannot deliver this appointment type."


class WrongRoom(Invalid):
    code = "wrong_room"
    default_detail = "This room cannot be used for this appointment."


class TypeInactive(Invalid):
    code = "appointment_type_inactive"
    default_detail = "This appointment type is no longer booked."


class BadDuration(Invalid):
    code = "invalid_duration"
    default_detail = "Invalid duration."


class TooEarly(Conflict):
    code = "too_early"
    default_detail = "That action is only possible once the appointment has started."


class NotToday(Conflict):
    code = "not_today"
    default_detail = "Patients are checked in on the day of their appointment."


class ReasonRequired(Invalid):
    default_detail = "A reason is required."

    def __init__(self, detail: str | None = None, **extra):
        super().__init__(detail, fields={"reason": ["This field is required."]}, **extra)


class AlreadyWaiting(Conflict):
    code = "already_waiting"
    default_detail = "This patient is already on the waitlist for this appointment type."


class WorkingHoursOverlap(Invalid):
    code = "working_hours_overlap"
    default_detail = "These hours overlap the provider's other hours on that day."


class TimeOffOverlapsBookings(Conflict):
    code = "time_off_overlaps_bookings"
    default_detail = "Appointments are booked in this time off."


class RecallNotOpen(InvalidTransition):
    code = "recall_not_open"


__all__ = [
    "AlreadyWaiting",
    "BadDuration",
    "BeyondHorizon",
    "InThePast",
    "InvalidTransition",
    "NotToday",
    "OffGrid",
    "OutsideWorkingHours",
    "OverrideNotPermitted",
    "ProviderNotAllowed",
    "ReasonRequired",
    "RecallNotOpen",
    "ReinjectionTooSoon",
    "SlotUnavailable",
    "TimeOffOverlapsBookings",
    "TooEarly",
    "TypeInactive",
    "WorkingHoursOverlap",
    "WrongRoom",
]
