"""iCalendar (.ics) of appointments, with the icalendar library.

Calendar files leave the clinic (they end up in mail and calendar apps), so an event names the
appointment type and the patient's MRN, never the patient's name or anything clinical.

Every event of an appointment has one UID, ``appointment-<id>@<CALENDAR_UID_DOMAIN>``, in the
feeds and in the invitations emailed to the patient alike, whatever host name the request came
to; its SEQUENCE is the appointment's (one more on every change). An emailed invitation is an
iTIP message (RFC 5546): ``METHOD:REQUEST`` for a new or changed appointment and
``METHOD:CANCEL`` for a cancellation, with the clinic as ORGANIZER and the patient as ATTENDEE,
so that mail clients offer to add, update or remove the event (see docs/standards.md).
"""

from datetime import date
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from clinic.models import ClinicSettings

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


def event_uid(appointment: Appointment) -> str:
    """The appointment's UID: stable for its life, unique to this clinic (CALENDAR_UID_DOMAIN)."""
    return f"appointment-{appointment.pk}@{settings.CALENDAR_UID_DOMAIN}"


def organizer(name: str | None = None) -> vCalAddress:
    """The clinic, as the sender of its emails (DEFAULT_FROM_EMAIL), by its patient-facing name
    (``name``, else read from the clinic settings)."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or f"clinic@{settings.CALENDAR_UID_DOMAIN}"
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = vText(name or ClinicSettings.load().display_name)
    return organizer


def attendee(appointment: Appointment) -> vCalAddress:
    """The patient, by the email address the invitation goes to."""
    patient = appointment.patient
    attendee = vCalAddress(f"mailto:{patient.email}")
    attendee.params["cn"] = vText(patient.preferred_name or patient.first_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    attendee.params["rsvp"] = vText("FALSE")
    return attendee


def appointment_event(appointment: Appointment, *, by: vCalAddress | None = None) -> Event:
    """One appointment as a VEVENT. The UID is stable, so a re-import updates the event.
    ``by``: the organizer (the clinic), made once for a whole calendar."""
    event = Event()
    event.add("uid", event_uid(appointment))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("last-modified", appointment.updated_at)
    event.add("sequence", appointment.sequence)
    event.add("summary", f"{appointment.appointment_type.name} · {appointment.patient.mrn}")
    event.add("location", f"{appointment.room.name}, {appointment.room.location.name}")
    event.add("status", STATUS[appointment.status])
    event.add("organizer", by or organizer())
    return event


def provider_calendar(*, provider: Provider, first: date, last: date) -> bytes:
    start = clock.day_bounds(first)[0]
    end = clock.day_bounds(last)[1]
    cal = _calendar(f"{provider} · {settings.CLINIC_NAME}")
    clinic = organizer()
    for appointment in (
        appointments_between(start=start, end=end)
        .filter(provider=provider, starts_at__gte=start)
        .order_by("starts_at")
    ):
        cal.add_component(appointment_event(appointment, by=clinic))
    return cal.to_ical()


REQUEST = "REQUEST"
CANCEL = "CANCEL"


def appointment_invitation(appointment: Appointment, *, method: str = REQUEST) -> bytes:
    """The iTIP message emailed to the patient: the appointment (``REQUEST``: new or changed) or
    its cancellation (``CANCEL``). No clinical detail: the title says "appointment", not which
    treatment. Send it as ``text/calendar; method=<method>`` (``invitation_mimetype``)."""
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"unknown iTIP method {method!r}")
    clinic = ClinicSettings.load().display_name
    cal = Calendar()
    cal.add("prodid", f"-//{settings.CLINIC_NAME}//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    event = Event()
    event.add("uid", event_uid(appointment))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("sequence", appointment.sequence)
    event.add("summary", f"Appointment at {clinic}")
    event.add("location", str(appointment.room.location))
    event.add("organizer", organizer())
    event.add("attendee", attendee(appointment))
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()


def invitation_mimetype(method: str) -> str:
    """The MIME type of an emailed invitation: mail clients read the iTIP method from it."""
    return f"text/calendar; method={method}"
