"""System checks for scheduling settings that must never reach production."""

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def booking_locks_on(app_configs, **kwargs):
    if getattr(settings, "SCHEDULING_BOOKING_LOCKS", True):
        return []
    return [
        Warning(
            "SCHEDULING_BOOKING_LOCKS is off: concurrent bookings of one patient can break the minimum "
            "reinjection interval.",
            hint="It exists only for `manage.py race_booking --without-constraint`; remove it.",
            id="scheduling.W001",
        )
    ]


# Host names that many installations share: Message-IDs and calendar UIDs made on them are not
# unique to one clinic, and two clinics' events collide in a patient's calendar.
SHARED_DOMAINS = {"localhost", "127.0.0.1", "::1", "clinic.local", "example.org", "example.com"}


@register(deploy=True)
def unique_message_domains(app_configs, **kwargs):
    warnings = []
    for name in ("EMAIL_MESSAGE_ID_DOMAIN", "CALENDAR_UID_DOMAIN"):
        value = getattr(settings, name, "")
        if value.lower() in SHARED_DOMAINS:
            warnings.append(
                Warning(
                    f"{name} is {value!r}, a name other installations share: Message-IDs and calendar "
                    "UIDs would not be unique to this clinic.",
                    hint=f"Set SITE_URL to the clinic's address, or {name} to a domain the clinic owns.",
                    id="scheduling.W002",
                )
            )
    return warnings
