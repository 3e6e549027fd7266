"""How bookings and recalls reach the reminders: listeners registered at start-up."""

import logging

from django.conf import settings

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


def dispatch_now(action: str, appointment_id: int) -> None:
    """After a booking commits, ask for a dispatch so that its confirmation leaves within
    seconds rather than at the next minute. Losing this nudge delays, never drops, a message."""
    if action in PLANNED_EVENTS and settings.MESSAGES_DISPATCH_ON_CHANGE:
        from ..tasks import messages_dispatch_task

        messages_dispatch_task.delay()
