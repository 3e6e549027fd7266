"""Small helpers shared by the services, selectors and pages."""

from datetime import date
from decimal import Decimal

from django.utils import timezone


def local_date(moment) -> date:
    """The clinic's calendar date of an aware datetime: clinical intervals count these."""
    return timezone.localdate(moment)


def format_units(units: Decimal) -> str:
    """42.50 -> "42.5", 40.00 -> "40"."""
    text = f"{units:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
