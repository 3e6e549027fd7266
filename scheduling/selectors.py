"""Scheduling reads: availability, appointment lists, the waitlist.

The availability search reads everything it needs for a window in a fixed number of queries
(providers, their working hours, rooms, time off, the window's appointments, the patient's toxin
history) and computes in Python with sorted intervals, so its cost does not grow with the
number of appointments in the database.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from clinic.models import ClinicSettings
from patients.models import Patient

from . import clock
from .intervals import Busy
from .models import (
    Appointment,
    AppointmentType,
    Provider,
    Recall,
    Room,
    TimeOff,
    WaitlistEntry,
    WaitlistOffer,
    WorkingHours,
)
from .rules import ToxinHistory, toxin_history, working_blocks

# Longest date range one availability request may cover.
MAX_RANGE_DAYS = 31


@dataclass(slots=True)
class Slot:
    start: datetime
    end: datetime
    provider: Provider
    room: Room

    @property
    def provider_id(self) -> int:
        return self.provider.pk

    @property
    def room_id(self) -> int:
        return self.room.pk


def appointment_type_resolve(value) -> AppointmentType | None:
    """An appointment type by id or by code (``"toxin"``); None if there is none."""
    text = str(value).strip()
    if text.isdigit():
        if len(text) > 18:
            return None
        return AppointmentType.objects.filter(pk=int(text)).first()
    return AppointmentType.objects.filter(code=text).first()


def bookable_providers(*, appointment_type: AppointmentType) -> QuerySet[Provider]:
    return Provider.objects.filter(is_active=True, role__in=appointment_type.provider_roles).select_related(
        "user"
    )


def availability_for(
    *,
    appointment_type: AppointmentType,
    date_from: date,
    date_to: date,
    provider: Provider | None = None,
    patient=None,
    duration_minutes: int | None = None,
    exclude_appointment_id: int | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Free slots for one appointment type between two local dates (inclusive).

    A slot is free when it lies inside one of the provider's working blocks, clear of their
    time off and of their active appointments including buffers, with a free room of the right
    kind at that location, the patient (if given) free too and, for toxin sessions, far enough
    from the patient's other sessions. Slots start on the clinic's quarter hours, from now to the
    booking horizon.
    """
    settings = ClinicSettings.load()
    now = timezone.now()
    today = clock.local(now).date()
    first_day = max(date_from, today)
    last_day = min(date_to, today + timedelta(days=settings.booking_horizon_days))
    if not appointment_type.is_active or first_day > last_day:
        return []

    duration = timedelta(minutes=duration_minutes or appointment_type.duration_minutes)
    buffer = timedelta(minutes=appointment_type.buffer_after_minutes)
    window_start = clock.day_bounds(first_day)[0]
    window_end = clock.day_bounds(last_day)[1]

    providers = bookable_providers(appointment_type=appointment_type)
    if provider is not None:
        providers = providers.filter(pk=provider.pk)
    providers = list(providers)
    if not providers:
        return []
    provider_ids = [p.pk for p in providers]

    hours_by_provider: dict[int, list[WorkingHours]] = defaultdict(list)
    for wh in WorkingHours.objects.filter(provider_id__in=provider_ids, location__is_active=True):
        hours_by_provider[wh.provider_id].append(wh)
    location_ids = {wh.location_id for rows in hours_by_provider.values() for wh in rows}

    rooms_by_location: dict[int, list[Room]] = defaultdict(list)
    for room in Room.objects.filter(
        is_active=True, kind=appointment_type.room_kind, location_id__in=location_ids
    ).order_by("name", "id"):
        rooms_by_location[room.location_id].append(room)
    room_ids = [r.pk for rooms in rooms_by_location.values() for r in rooms]

    provider_busy: dict[int, list] = defaultdict(list)
    room_busy: dict[int, list] = defaultdict(list)
    patient_busy: list = []
    for provider_id, room_id, start, end in TimeOff.objects.filter(
        Q(provider_id__in=provider_ids) | Q(room_id__in=room_ids),
        starts_at__lt=window_end,
        ends_at__gt=window_start,
    ).values_list("provider_id", "room_id", "starts_at", "ends_at"):
        (provider_busy[provider_id] if provider_id else room_busy[room_id]).append((_ts(start), _ts(end)))

    resources = Q(provider_id__in=provider_ids) | Q(room_id__in=room_ids)
    if patient is not None:
        resources |= Q(patient_id=patient.pk)
    for provider_id, room_id, patient_id, start, end, blocked in (
        Appointment.objects.active()
        .holding(window_start, window_end)
        .filter(resources)
        .exclude(pk=exclude_appointment_id)
        .values_list("provider_id", "room_id", "patient_id", "starts_at", "ends_at", "blocked_until")
    ):
        held = (_ts(start), _ts(blocked))
        provider_busy[provider_id].append(held)
        room_busy[room_id].append(held)
        if patient is not None and patient_id == patient.pk:
            patient_busy.append((held[0], _ts(end)))

    provider_free = {pid: Busy(provider_busy[pid]) for pid in provider_ids}
    room_free = {rid: Busy(room_busy[rid]) for rid in room_ids}
    patient_free = Busy(patient_busy)

    toxin: ToxinHistory | None = None
    if patient is not None and appointment_type.is_toxin:
        toxin = toxin_history(
            patient=patient,
            min_days=settings.min_reinjection_interval_days,
            exclude_appointment_id=exclude_appointment_id,
        )

    # The scan below runs on whole seconds since the epoch: comparing integers is many times
    # cheaper than comparing aware datetimes, and it is the hot loop of every search. A quarter
    # hour of the wall clock is 900 seconds in every zone in use (offsets are whole quarters).
    length = int(duration.total_seconds())
    hold = length + int(buffer.total_seconds())
    step = int(clock.GRID.total_seconds())
    earliest = _ts(clock.ceil_to_grid(now))
    found: dict[tuple[int, int], Room] = {}
    for day in clock.dates_between(first_day, last_day):
        if toxin is not None and not toxin.allows(day):
            continue
        for prov in providers:
            busy = provider_free[prov.pk]
            for block in working_blocks(hours_by_provider[prov.pk], day):
                rooms = [(room, room_free[room.pk]) for room in rooms_by_location.get(block.location_id, ())]
                if not rooms:
                    continue
                start = _ts(clock.ceil_to_grid(block.start))
                if start < earliest:
                    start += -(-(earliest - start) // step) * step
                last_start = _ts(block.end) - length
                while start <= last_start:
                    if (
                        (prov.pk, start) not in found
                        and busy.is_free(start, start + hold)
                        and patient_free.is_free(start, start + length)
                    ):
                        room = next((r for r, free in rooms if free.is_free(start, start + hold)), None)
                        if room is not None:
                            found[(prov.pk, start)] = room
                    start += step
    names = {p.pk: str(p) for p in providers}
    by_pk = {p.pk: p for p in providers}
    keys = sorted(found, key=lambda k: (k[1], names[k[0]], k[0]))
    if limit:
        keys = keys[:limit]
    return [
        Slot(_dt(start), _dt(start + length), by_pk[provider_id], found[(provider_id, start)])
        for provider_id, start in keys
    ]


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _dt(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def availability_next(
    *,
    appointment_type: AppointmentType,
    provider: Provider | None = None,
    patient=None,
    duration_minutes: int | None = None,
    start_date: date | None = None,
    limit: int = 12,
    window_days: int = 14,
) -> list[Slot]:
    """The next free slots from ``start_date`` (today), searching forward two weeks at a time."""
    horizon = clock.local_today() + timedelta(days=ClinicSettings.load().booking_horizon_days)
    day = max(start_date or clock.local_today(), clock.local_today())
    found: list[Slot] = []
    while day <= horizon and len(found) < limit:
        last = min(day + timedelta(days=window_days - 1), horizon)
        found += availability_for(
            appointment_type=appointment_type,
            date_from=day,
            date_to=last,
            provider=provider,
            patient=patient,
            duration_minutes=duration_minutes,
            limit=limit - len(found),
        )
        day = last + timedelta(days=1)
    return found


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
