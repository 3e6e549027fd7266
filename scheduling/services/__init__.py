"""Scheduling services: every change to the diary goes through one of these functions.

The package is read from the bottom up:

- ``locks``: the advisory locks that serialize bookings of one provider, room or patient;
- ``common``: what every appointment change shares (saving under the exclusion constraints,
  the event and audit rows, ``notify``: the one way a change reaches the patient);
- ``recalls``: patients due back, satisfied and reopened by bookings;
- ``offers``: a freed slot offered to the waitlist, and offers lapsing when it is taken;
- ``booking``: booking and moving, with the per-slot rules it shares with the availability
  search (``scheduling.slot_rules``) and the reinjection rule;
- ``lifecycle``: confirm, check in, no-show, complete, cancel, corrections;
- ``waitlist``: joining the waitlist and accepting an offer;
- ``calendar_setup``: locations, rooms, providers, hours, time off and types, audited.

Callers import from here (``from scheduling.services import appointment_book``).
"""

from .booking import MAX_BOOKED_MINUTES, MIN_BOOKED_MINUTES, appointment_book, appointment_reschedule
from .calendar_setup import schedule_record_delete, schedule_record_save
from .common import CONSTRAINT_RESOURCES, RESCHEDULABLE, VIA_API, VIA_PATIENT_LINK, VIA_STAFF
from .lifecycle import (
    CANCELLED_BY,
    CORRECTIONS,
    TRANSITIONS,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_correct,
    appointment_no_show,
    corrections_for,
)
from .locks import patient_lock
from .recalls import (
    recall_match_bookings,
    recall_open,
    recall_supersede,
    recall_upcoming_booking,
)
from .waitlist import waitlist_add, waitlist_cancel, waitlist_offer_accept

__all__ = [
    "CANCELLED_BY",
    "CONSTRAINT_RESOURCES",
    "CORRECTIONS",
    "MAX_BOOKED_MINUTES",
    "MIN_BOOKED_MINUTES",
    "RESCHEDULABLE",
    "TRANSITIONS",
    "VIA_API",
    "VIA_PATIENT_LINK",
    "VIA_STAFF",
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_complete",
    "appointment_confirm",
    "appointment_correct",
    "appointment_no_show",
    "appointment_reschedule",
    "corrections_for",
    "patient_lock",
    "recall_match_bookings",
    "recall_open",
    "recall_supersede",
    "recall_upcoming_booking",
    "schedule_record_delete",
    "schedule_record_save",
    "waitlist_add",
    "waitlist_cancel",
    "waitlist_offer_accept",
]
