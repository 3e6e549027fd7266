"""iCalendar (.ics) of appointments, with the icalendar library.

Calendar files leave the clinic (they end up in mail and calendar apps), so an event names the
appointment type and the patient's MRN, never the patient's name or anything clinical.
"""

from datetime import date

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from . import clock
from .models import Appointment, Provider
from .selectors import appointments_between

STATUS = {
    Appointment.Status.BOOKED: "TENTATIVE",
    Appointment.Status.CONFIRMED: "CONFIRMED",
    Appointment.Status.CHECKED_IN: "CONFIRMED",
    Appointment.Status.COMPLETED: "CONFIRMED",
    Appointment.Status.NO_SHOW: "CANCELLED",
    Appointment.Status.CANCELLED: "CANCELLED",
}


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", f"-//{settings.CLINIC_NAME}//Scheduling//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    return cal


def appointment_event(appointment: Appointment, *, host: str) -> Event:
    """One appointment as a VEVENT. The UID is stable, so a re-import updates the event."""
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@{host}")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("last-modified", appointment.updated_at)
    event.add("summary", f"{appointment.appointment_type.name} · {appointment.patient.mrn}")
    event.add("location", f"{appointment.room.name}, {appointment.room.location.name}")
    event.add("status", STATUS[appointment.status])
    return event


def provider_calendar(*, provider: Provider, first: date, last: date, host: str) -> bytes:
    start = clock.day_bounds(first)[0]
    end = clock.day_bounds(last)[1]
    cal = _calendar(f"{provider} · {settings.CLINIC_NAME}")
    for appointment in (
        appointments_between(start=start, end=end)
        .filter(provider=provider, starts_at__gte=start)
        .order_by("starts_at")
    ):
        cal.add_component(appointment_event(appointment, host=host))
    return cal.to_ical()


def appointment_calendar(appointment: Appointment, *, host: str) -> bytes:
    """A single appointment, e.g. to attach to a confirmation message."""
    cal = _calendar(settings.CLINIC_NAME)
    cal.add("method", "PUBLISH")
    cal.add_component(appointment_event(appointment, host=host))
    return cal.to_ical()
