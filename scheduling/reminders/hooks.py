"""How bookings and recalls reach the reminders: listeners registered at start-up."""

import logging

from ..models import Appointment
from . import services

logger = logging.getLogger(__name__)

PLANNED_EVENTS = {"booked", "rescheduled", "cancelled"}


def plan_for_appointment_event(action: str, appointment_id: int) -> None:
    """Plan the notices and reminders an appointment change implies (runs in the booking's
    transaction, so a booking never commits without its messages)."""
    if action not in PLANNED_EVENTS:
        return
    appointment = Appointment.objects.select_related("patient", "appointment_type").get(pk=appointment_id)
    services.messages_plan_for_appointment(appointment=appointment, event=action)
