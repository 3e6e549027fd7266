"""Scheduling reads: availability, appointment lists, the waitlist.

The availability search reads everything it needs for a window in a fixed number of queries
(providers, their working hours, rooms, time off, the window's appointments, the patient's toxin
history) and computes in Python with sorted intervals, so its cost does not grow with the
number of appointments in the database.
"""

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.db.models import BigIntegerField, Func, Q, QuerySet
from django.utils import timezone

from clinic.models import ClinicSettings, display_name
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
from .rules import ToxinSchedule, toxin_schedule

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
    after: datetime | None = None,
) -> list[Slot]:
    """Free slots for one appointment type between two local dates (inclusive).

    A slot is free when it lies inside one of the provider's working blocks, clear of their
    time off and of their active appointments including buffers, with a free room of the right
    kind at that location, the patient (if given) free too and, for toxin sessions, far enough
    from the patient's other sessions. Slots start on the clinic's quarter hours, from now to the
    booking horizon, and strictly after ``after`` if given. They are sorted by start, then
    provider name; ``limit`` keeps the first ones (and the search stops once it has them).
    """
    found = _free_slots(
        appointment_type=appointment_type,
        date_from=date_from,
        date_to=date_to,
        provider=provider,
        patient=patient,
        duration_minutes=duration_minutes,
        exclude_appointment_id=exclude_appointment_id,
        after=after,
        enough=limit,
    )
    return found.slots(found.keys[:limit] if limit else found.keys)


class SlotRef(NamedTuple):
    """A free slot with its provider and room by id: all an API client is given."""

    start: datetime
    end: datetime
    provider_id: int
    room_id: int


@dataclass(slots=True)
class SlotPage:
    """One page of an availability search. ``more``: slots follow in the window, starting
    after the last one here (search again with ``after=slots[-1].start``)."""

    slots: list[SlotRef]
    more: bool


def availability_page(*, limit: int, after: datetime | None = None, **search) -> SlotPage:
    """About the first ``limit`` slots of ``availability_for(**search)`` after ``after``,
    cut between two start times so that the next page (``after`` the last start here) carries
    on exactly: the slots that start before the (limit+1)-th slot does, or, when more than
    ``limit`` slots share the first start time, all of them.

    Providers and rooms are read as ids and names, not as records: a page names hundreds of
    them, and records cost far more to build (and to collect afterwards) than the search."""
    found = _free_slots(**search, after=after, enough=limit + 1, records=False)
    keys = found.keys
    if len(keys) <= limit:
        return SlotPage(found.refs(keys), more=False)
    starts = [start for start, _, _ in keys]
    cut = bisect_left(starts, starts[limit]) or bisect_right(starts, starts[0])
    return SlotPage(found.refs(keys[:cut]), more=cut < len(keys))


class _Found:
    """Free slots of a search as (start second, provider name, provider id) keys, sorted, and
    the room of each (a Room, or its id when the search read no records)."""

    __slots__ = ("by_pk", "keys", "length", "rooms")

    def __init__(self, keys=(), *, rooms=None, by_pk=None, length=0):
        self.keys: list[tuple[int, str, int]] = list(keys)
        self.rooms: dict[tuple[int, int], Room | int] = rooms or {}
        self.by_pk: dict[int, Provider] = by_pk or {}
        self.length = length

    def _times(self, keys):
        # The slots of a page share a few dozen start times: one datetime each.
        moments: dict[int, datetime] = {}
        for start, _, pk in keys:
            end = start + self.length
            if start not in moments:
                moments[start] = _dt(start)
            if end not in moments:
                moments[end] = _dt(end)
            yield moments[start], moments[end], pk, self.rooms[(pk, start)]

    def slots(self, keys) -> list[Slot]:
        return [Slot(start, end, self.by_pk[pk], room) for start, end, pk, room in self._times(keys)]

    def refs(self, keys) -> list[SlotRef]:
        return [SlotRef(*times) for times in self._times(keys)]


class EpochSeconds(Func):
    """Whole seconds since 1970 of a datetime column (rounded down), computed by the database:
    an integer costs the driver far less to read than a datetime, and the scan compares
    integers anyway."""

    output_field = BigIntegerField()
    template = "FLOOR(EXTRACT(EPOCH FROM %(expressions)s))::bigint"

    def as_sqlite(self, compiler, connection, **extra):
        # '%%%%s' is '%s' once Django's and the driver's placeholder escaping are undone.
        template = "CAST(strftime('%%%%s', %(expressions)s) AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)


def _free_slots(
    *,
    appointment_type: AppointmentType,
    date_from: date,
    date_to: date,
    provider: Provider | None = None,
    patient=None,
    duration_minutes: int | None = None,
    exclude_appointment_id: int | None = None,
    after: datetime | None = None,
    enough: int | None = None,
    records: bool = True,
) -> _Found:
    """The search of availability_for, in a fixed number of queries.

    The quarter hours are checked in order, day by day. With ``enough``, the search stops
    after the first start time that brings the slots found to ``enough`` over at least two
    start times: every slot not yet checked starts later, so the first ``enough`` are final
    (and a page cut between two start times can tell that more follow). The window's
    appointments are then read in two parts: first those of the days that could hold
    ``enough`` slots three times over, the rest only if the search goes on past them (else the
    second read is of an empty range, which keeps the number of queries the same whatever the
    data). ``records``: Provider and Room objects, or only ids and names (availability_page).
    """
    settings = ClinicSettings.load()
    now = timezone.now()
    today = clock.local(now).date()
    first_day = max(date_from, today)
    if after is not None:
        first_day = max(first_day, clock.local(after).date())
    last_day = min(date_to, today + timedelta(days=settings.booking_horizon_days))
    if not appointment_type.is_active or first_day > last_day:
        return _Found()

    # All times below are whole seconds since the epoch: comparing integers is many times
    # cheaper than comparing aware datetimes, and reading them (EpochSeconds) costs the
    # driver far less than parsing thousands of datetimes. A quarter hour of the wall clock
    # is 900 seconds in every zone in use (offsets are whole quarters).
    length = (duration_minutes or appointment_type.duration_minutes) * 60
    buffer = appointment_type.buffer_after_minutes * 60
    hold = length + buffer
    step = int(clock.GRID.total_seconds())
    window_start = clock.day_bounds(first_day)[0]
    # A slot holds its provider and room for its buffer too, past the end of its day.
    read_end = clock.day_bounds(last_day)[1] + timedelta(seconds=buffer)

    providers = bookable_providers(appointment_type=appointment_type)
    if provider is not None:
        providers = providers.filter(pk=provider.pk)
    if records:
        by_pk = {p.id: p for p in providers}
        names = {pk: str(p) for pk, p in by_pk.items()}
    else:
        by_pk = {}
        names = {
            pk: display_name(title=title, first_name=first, last_name=last, username=username)
            for pk, title, first, last, username in providers.values_list(
                "id", "user__title", "user__first_name", "user__last_name", "user__username"
            )
        }
    if not names:
        return _Found()
    provider_ids = list(names)

    # provider id -> weekday -> [(location id, start time, end time)], in start-time order.
    hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for provider_id, location_id, weekday, start_time, end_time in (
        WorkingHours.objects.filter(provider_id__in=provider_ids, location__is_active=True)
        .order_by("provider_id", "weekday", "start_time")
        .values_list("provider_id", "location_id", "weekday", "start_time", "end_time")
    ):
        hours[provider_id][weekday].append((location_id, start_time, end_time))
    every_block = [block for days in hours.values() for blocks in days.values() for block in blocks]
    location_ids = {location_id for location_id, _, _ in every_block}
    start_times = {start for _, start, _ in every_block}
    end_times = {end for _, _, end in every_block}

    room_rows = Room.objects.filter(
        is_active=True, kind=appointment_type.room_kind, location_id__in=location_ids
    ).order_by("name", "id")
    # location id -> [(room id, the Room or its id)], in the order rooms are offered.
    rooms_by_location: dict[int, list[tuple[int, Room | int]]] = defaultdict(list)
    if records:
        for room in room_rows:
            rooms_by_location[room.location_id].append((room.id, room))
    else:
        for room_id, location_id in room_rows.values_list("id", "location_id"):
            rooms_by_location[location_id].append((room_id, room_id))
    room_ids = [rid for rooms in rooms_by_location.values() for rid, _ in rooms]

    provider_busy: dict[int, list] = defaultdict(list)
    room_busy: dict[int, list] = defaultdict(list)
    patient_busy: list = []
    for provider_id, room_id, start, end in (
        TimeOff.objects.filter(
            Q(provider_id__in=provider_ids) | Q(room_id__in=room_ids),
            starts_at__lt=read_end,
            ends_at__gt=window_start,
        )
        .order_by()
        .values_list("provider_id", "room_id", EpochSeconds("starts_at"), EpochSeconds("ends_at"))
    ):
        (provider_busy[provider_id] if provider_id else room_busy[room_id]).append((start, end))

    # (Lists of ids, not subqueries: with a list the database uses the provider and room
    # indexes when the search is for one provider.)
    resources = Q(provider_id__in=provider_ids) | Q(room_id__in=room_ids)
    if patient is not None:
        resources |= Q(patient_id=patient.pk)
    appointments = (
        Appointment.objects.active()
        .filter(resources)
        .exclude(pk=exclude_appointment_id)
        .order_by()
        .values_list(
            "provider_id",
            "room_id",
            "patient_id",
            EpochSeconds("starts_at"),
            EpochSeconds("ends_at"),
            EpochSeconds("blocked_until"),
        )
    )

    def take(rows) -> tuple[set, set]:
        """Add appointment rows to the busy lists; the providers and rooms they touch."""
        providers_touched, rooms_touched = set(), set()
        for provider_id, room_id, patient_id, start, end, blocked in rows:
            held = (start, blocked)
            provider_busy[provider_id].append(held)
            room_busy[room_id].append(held)
            providers_touched.add(provider_id)
            rooms_touched.add(room_id)
            if patient is not None and patient_id == patient.pk:
                patient_busy.append((start, end))
        return providers_touched, rooms_touched

    toxin: ToxinSchedule | None = None
    if patient is not None and appointment_type.is_toxin:
        # The reinjection rule's owner answers, as it does for booking: the two cannot disagree.
        toxin = toxin_schedule(patient_id=patient.pk, exclude_appointment_id=exclude_appointment_id)
    worked = {weekday for by_weekday in hours.values() for weekday in by_weekday}
    days = [
        day
        for day in clock.dates_between(first_day, last_day)
        if day.weekday() in worked and (toxin is None or toxin.allows(day))
    ]
    earliest = _ts(clock.ceil_to_grid(now))
    if after is not None:
        # Strictly after: from the first whole second past it (slots start on whole seconds).
        earliest = max(earliest, math.floor(after.timestamp()) + 1)

    def candidates(day: date) -> dict[int, list]:
        """start second -> [(provider id, location id)] of the day's grid times that fit in a
        working block at a location with a room of the kind: the slots to check, by start."""
        # Most providers share a few opening times: each is turned into seconds once a day.
        starts = {wall: _ts(clock.ceil_to_grid(clock.at(day, wall))) for wall in start_times}
        ends = {wall: _ts(clock.at(day, wall)) for wall in end_times}
        by_start: dict[int, list] = defaultdict(list)
        weekday = day.weekday()
        for provider_id in provider_ids:
            for location_id, start_time, end_time in hours.get(provider_id, {}).get(weekday, ()):
                if location_id not in rooms_by_location:
                    continue
                start = starts[start_time]
                if start < earliest:
                    start += -(-(earliest - start) // step) * step
                entry = (provider_id, location_id)
                for moment in range(start, ends[end_time] - length + 1, step):
                    by_start[moment].append(entry)
        return by_start

    # The first read covers the first days, as many as could hold ``enough`` slots three
    # times over if nothing were booked (the first page of a search for all providers is
    # then a day or less); without ``enough``, the whole window.
    head = days
    by_day: dict[date, dict[int, list]] = {}
    if enough:
        capacity = 0
        for i, day in enumerate(days):
            by_day[day] = candidates(day)
            capacity += sum(len(group) for group in by_day[day].values())
            if capacity >= 3 * enough:
                head = days[: i + 1]
                break
    cut = read_end if len(head) == len(days) else clock.day_bounds(head[-1])[1] + timedelta(seconds=buffer)
    take(appointments.holding(window_start, cut))

    provider_free = {pid: Busy(provider_busy[pid]) for pid in hours}
    room_free = {rid: Busy(room_busy[rid]) for rooms in rooms_by_location.values() for rid, _ in rooms}
    patient_free = Busy(patient_busy)

    def rooms_free() -> dict[int, list[tuple[Room | int, Busy]]]:
        return {
            location_id: [(room, room_free[rid]) for rid, room in rooms]
            for location_id, rooms in rooms_by_location.items()
        }

    rooms_at = rooms_free()
    found: dict[tuple[int, int], Room | int] = {}
    starts_found = 0

    def scan(days_scanned: list[date]) -> bool:
        """Add the free slots of these days to ``found``, earliest first; whether it holds
        enough (then it stops, after a whole start time)."""
        nonlocal starts_found
        for day in days_scanned:
            by_start = by_day.pop(day, None) or candidates(day)
            for start in sorted(by_start):
                before = len(found)
                end, held = start + length, start + hold
                for provider_id, location_id in by_start[start]:
                    if (
                        (provider_id, start) in found
                        or not provider_free[provider_id].is_free(start, held)
                        or not patient_free.is_free(start, end)
                    ):
                        continue
                    for room, free in rooms_at[location_id]:
                        if free.is_free(start, held):
                            found[(provider_id, start)] = room
                            break
                starts_found += len(found) > before
                # Slots are found in start order: once they are enough, no later one can
                # come before them.
                if enough and len(found) >= enough and starts_found > 1:
                    return True
        return False

    done = scan(head)
    # The second read: the rest of the window if the search goes on, else nothing (an empty
    # range, read all the same so that the number of queries never depends on the data).
    providers_touched, rooms_touched = take(
        appointments.filter(starts_at__gte=cut, starts_at__lt=cut if done else read_end)
    )
    if not done and len(head) < len(days):
        for pid in providers_touched & provider_free.keys():
            provider_free[pid] = Busy(provider_busy[pid])
        for rid in rooms_touched & room_free.keys():
            room_free[rid] = Busy(room_busy[rid])
        rooms_at = rooms_free()
        patient_free = Busy(patient_busy)
        scan(days[len(head) :])

    return _Found(
        sorted((start, names[pk], pk) for pk, start in found), rooms=found, by_pk=by_pk, length=length
    )


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
