"""Private calendar feeds: one secret iCalendar URL per provider and per room, which desktop and
phone calendars subscribe to (``/feeds/<token>.ics``, no login: the token is the credential).

- Revoking a feed is replacing its token (``feed_token_rotate``): the old URL stops at once.
- The URL is shown to the provider it belongs to and to those who manage the schedule
  (``feed_url_visible_to``); it is never listed for anyone else.
- Events carry the appointment type and the patient's MRN; patients' names only when the clinic
  turns ``ClinicSettings.calendar_feed_shows_patient_names`` on.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import ClinicSettings

from . import ics
from .models import Appointment, Provider, Room, new_feed_token
from .selectors import appointments_between

MANAGE_PERMISSION = "clinic.manage_schedule"
# What a subscribed calendar holds: recent history and the bookable future.
PAST_DAYS = 30


@dataclass(frozen=True)
class Feed:
    owner: Provider | Room
    name: str


def feed_path(owner: Provider | Room) -> str:
    return reverse("calendar_feed", kwargs={"token": owner.calendar_feed_token})


def feed_url_visible_to(*, user, owner: Provider | Room) -> bool:
    """A provider sees their own feed; schedule managers see every provider's and room's."""
    if not (user and user.is_authenticated):
        return False
    if user.has_perm(MANAGE_PERMISSION):
        return True
    return isinstance(owner, Provider) and owner.user_id == user.pk


def feed_for_token(token: str) -> Feed | None:
    # Tokens are URL-safe base64; anything else cannot match and needs no query.
    if not token or len(token) > 64:
        return None
    provider = Provider.objects.select_related("user").filter(calendar_feed_token=token).first()
    if provider is not None:
        return Feed(owner=provider, name=str(provider))
    room = Room.objects.select_related("location").filter(calendar_feed_token=token).first()
    if room is not None:
        return Feed(owner=room, name=str(room))
    return None


def feed_calendar(*, feed: Feed) -> bytes:
    """The feed's calendar: held appointments from PAST_DAYS ago to the booking horizon."""
    clinic = ClinicSettings.load()
    now = timezone.now()
    start = now - timedelta(days=PAST_DAYS)
    end = now + timedelta(days=clinic.booking_horizon_days)
    appointments = appointments_between(start=start, end=end).filter(
        starts_at__gte=start, status__in=Appointment.ACTIVE_STATUSES
    )
    if isinstance(feed.owner, Provider):
        appointments = appointments.filter(provider=feed.owner)
    else:
        appointments = appointments.filter(room=feed.owner)
    cal = ics._calendar(f"{feed.name} · {settings.CLINIC_NAME}")
    # Calendar apps poll; say how often is useful (RFC 7986 REFRESH-INTERVAL, and the older X- name).
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    by = ics.organizer(clinic.display_name)
    for appointment in appointments.order_by("starts_at", "id"):
        event = ics.appointment_event(appointment, by=by)
        if clinic.calendar_feed_shows_patient_names:
            patient = appointment.patient
            event["summary"] = (
                f"{appointment.appointment_type.name} · {patient.first_name} {patient.last_name}"
            )
        cal.add_component(event)
    return cal.to_ical()


@transaction.atomic
def feed_token_rotate(*, owner: Provider | Room, actor) -> str:
    """Revoke the current URL and issue a new one."""
    owner.calendar_feed_token = new_feed_token()
    owner.save(update_fields=["calendar_feed_token"])
    audit_record(actor=actor, action="calendar_feed.rotated", target=owner)
    return owner.calendar_feed_token
