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
