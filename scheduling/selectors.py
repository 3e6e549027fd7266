"""Scheduling reads: appointment lists and calendars, the waitlist, recalls due.

The availability search is its own module (``availability``).
"""

from collections import defaultdict
from datetime import date, datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from patients.models import Patient

from . import clock
from .intervals import Busy
from .models import (
    Appointment,
    AppointmentType,
    Provider,
    Recall,
    Room,
    WaitlistEntry,
    WaitlistOffer,
)


def appointment_type_resolve(value) -> AppointmentType | None:
    """An appointment type by id or by code (``"toxin"``); None if there is none."""
    text = str(value).strip()
    if text.isdigit():
        if len(text) > 18:
            return None
        return AppointmentType.objects.filter(pk=int(text)).first()
    return AppointmentType.objects.filter(code=text).first()


# What each record's label (str) reads besides its own row.
_LABEL_RELATIONS = {Provider: ("user",), Room: ("location",), Appointment: ("appointment_type",)}


def choices_of(model) -> QuerySet:
    """Every row of ``model`` for a list of choices (a form's select, an API filter, the
    browsable API's forms), with what the labels read: one query, not one per choice."""
    relations = _LABEL_RELATIONS.get(model)
    # (select_related() without names would follow every foreign key.)
    return model.objects.select_related(*relations) if relations else model.objects.all()


def appointment_queryset() -> QuerySet[Appointment]:
    """Appointments with everything a list or calendar shows, in one query."""
    return Appointment.objects.select_related(
        "patient", "appointment_type", "provider__user", "room__location", "booked_by"
    )


# What lists and calendars show of an appointment's patient.
LISTED_PATIENT_FIELDS = frozenset(
    {"id", "mrn", "first_name", "last_name", "preferred_name", "date_of_birth", "status"}
)


def appointments_listed(qs: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """``qs`` without the rest of the patient's row. The phone numbers above all: they are parsed
    as they are loaded, which costs more than the rest of an appointment, for every row of a
    list or a day that never shows them."""
    return qs.defer(
        *(f"patient__{f.name}" for f in Patient._meta.concrete_fields if f.name not in LISTED_PATIENT_FIELDS)
    )


def _of_day(*, day: date, location=None, provider_id: int | None = None) -> QuerySet[Appointment]:
    """One clinic day's appointments as lists show them, narrowed to one site's rooms and to one
    provider when given."""
    start, end = clock.day_bounds(day)
    qs = appointments_listed(appointment_queryset()).filter(starts_at__gte=start, starts_at__lt=end)
    if location is not None:
        qs = qs.filter(room__location=location)
    if provider_id is not None:
        qs = qs.filter(provider_id=provider_id)
    return qs


def arrivals(*, day: date, location=None) -> list[Appointment]:
    """The day's patients still to arrive or already here, in time order."""
    arriving = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED, Appointment.Status.CHECKED_IN)
    return list(_of_day(day=day, location=location).filter(status__in=arriving).order_by("starts_at", "id"))


def day_list(*, day: date, location=None, provider_id: int | None = None) -> list[Appointment]:
    """The printed day list: what is not cancelled, by provider (surname), then start time."""
    return list(
        _of_day(day=day, location=location, provider_id=provider_id)
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("provider__user__last_name", "provider_id", "starts_at")
    )


def appointments_between(*, start: datetime, end: datetime) -> QuerySet[Appointment]:
    """Appointments overlapping [start, end), on the start-time index."""
    return appointment_queryset().holding(start, end)


def appointments_for_patient(*, patient, past_limit: int = 20) -> dict:
    """The chart's appointments panel: upcoming (soonest first), past (latest first) and the
    recalls still waiting to be booked (so the clinician sees when the patient is due back)."""
    now = timezone.now()
    base = appointment_queryset().filter(patient=patient)
    return {
        "upcoming": list(base.filter(ends_at__gt=now).order_by("starts_at", "id")),
        "past": list(base.filter(ends_at__lte=now).order_by("-starts_at", "-id")[:past_limit]),
        # Served by the scheduling_recall_patient index (patient, kind, status).
        "open_recalls": list(
            Recall.objects.filter(patient=patient, status=Recall.Status.OPEN)
            .select_related("appointment_type")
            .order_by("due_date", "id")
        ),
    }


def waitlist_queryset() -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.select_related(
        "patient", "appointment_type", "provider__user", "appointment", "booked_appointment"
    )


def waitlist_open_offers(
    *, start: datetime | None = None, end: datetime | None = None, scope: Q | None = None
) -> list[WaitlistOffer]:
    """Open offers of future slots, each marked ``still_free`` if nothing has been booked there.

    ``scope``: a further filter on the offers' provider and room (a page of the day view).
    """
    now = timezone.now()
    offers = WaitlistOffer.objects.filter(
        status=WaitlistOffer.Status.OPEN, starts_at__gte=max(start or now, now)
    )
    if scope is not None:
        offers = offers.filter(scope)
    if end is not None:
        offers = offers.filter(starts_at__lt=end)
    # Most days have none: finding out costs a fraction of planning the seven-table join below.
    ids = list(offers.values_list("pk", flat=True))
    if not ids:
        return []
    offers = list(
        WaitlistOffer.objects.filter(pk__in=ids)
        .select_related(
            "entry__patient", "entry__appointment_type", "provider__user", "room", "entry__appointment"
        )
        .order_by("starts_at", "id")
    )
    window_start = min(o.starts_at for o in offers)
    window_end = max(o.ends_at for o in offers)
    taken: dict[tuple, list] = defaultdict(list)
    for provider_id, room_id, s, e in (
        Appointment.objects.active()
        .holding(window_start, window_end)
        .filter(
            Q(provider_id__in={o.provider_id for o in offers}) | Q(room_id__in={o.room_id for o in offers})
        )
    ).values_list("provider_id", "room_id", "starts_at", "blocked_until"):
        taken[("p", provider_id)].append((s, e))
        taken[("r", room_id)].append((s, e))
    busy = {key: Busy(intervals) for key, intervals in taken.items()}
    empty = Busy()
    for offer in offers:
        offer.still_free = busy.get(("p", offer.provider_id), empty).is_free(
            offer.starts_at, offer.ends_at
        ) and busy.get(("r", offer.room_id), empty).is_free(offer.starts_at, offer.ends_at)
    return offers
