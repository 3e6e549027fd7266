from urllib.parse import urlencode

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

# The patients app names its chart page; the first of these that exists is used.
CHART_URL_NAMES = ("patients:chart", "patients:detail")

STATUS_BADGE = {
    "booked": "badge-info",
    "confirmed": "badge-ok",
    "checked_in": "badge-warn",
    "completed": "",
    "cancelled": "badge-danger",
    "no_show": "badge-danger",
}


@register.filter
def patient_url(patient) -> str:
    for name in CHART_URL_NAMES:
        try:
            return reverse(name, args=[patient.pk])
        except NoReverseMatch:
            continue
    return ""


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGE.get(status, "")


@register.simple_tag
def book_url(start=None, provider=None, room=None, appointment_type=None, patient=None) -> str:
    """The booking dialog's address with the slot's details filled in."""
    params = {
        "start": start.isoformat() if start else "",
        "provider": getattr(provider, "pk", provider) or "",
        "room": getattr(room, "pk", room) or "",
        "appointment_type": getattr(appointment_type, "pk", appointment_type) or "",
        "patient": getattr(patient, "pk", patient) or "",
    }
    return f"{reverse('scheduling:book')}?{urlencode({k: v for k, v in params.items() if v})}"
