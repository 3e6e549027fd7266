"""Availability: the free slots for an appointment type in a window, for the diary's "next free
slot", the API and the patients' booking links.

The search reads everything it needs for a window in a fixed number of queries (providers, their
working hours, rooms, time off, the window's appointments, the patient's toxin history) and
computes in Python with sorted intervals, so its cost does not grow with the number of
appointments in the database. It applies the per-slot rules that booking applies, from the
same place (``slot_rules``: who may deliver the type, which rooms suit it, how long a booking
holds them, the first start and the horizon), and asks the reinjection rule's owner about toxin
days as booking does (``rules.toxin_schedule``): a slot offered here is a slot booking accepts.
"""

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.db.models import BigIntegerField, Func, Q, QuerySet
from django.utils import timezone

from clinic.models import display_name

from . import clock
from .intervals import Busy
from .models import Appointment, AppointmentType, Provider, Room, TimeOff, WorkingHours
from .rules import ToxinSchedule, toxin_schedule
from .slot_rules import delivering_providers, first_bookable_start, last_bookable_day, suitable_rooms

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


def bookable_providers(*, appointment_type: AppointmentType) -> QuerySet[Provider]:
    """The providers who may deliver ``appointment_type`` (``slot_rules.may_deliver``), with their users."""
    return delivering_providers(appointment_type).select_related("user")


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

    def __init__(
        self,
        keys: Iterable[tuple[int, str, int]] = (),
        *,
        rooms: dict[tuple[int, int], Room | int] | None = None,
        by_pk: dict[int, Provider] | None = None,
        length: int = 0,
    ) -> None:
        self.keys: list[tuple[int, str, int]] = list(keys)
        self.rooms: dict[tuple[int, int], Room | int] = rooms or {}
        self.by_pk: dict[int, Provider] = by_pk or {}
        self.length = length

    def _times(
        self, keys: Iterable[tuple[int, str, int]]
    ) -> Iterator[tuple[datetime, datetime, int, Room | int]]:
        # The slots of a page share a few dozen start times: one datetime each.
        moments: dict[int, datetime] = {}
        for start, _, pk in keys:
            end = start + self.length
            if start not in moments:
                moments[start] = _dt(start)
            if end not in moments:
                moments[end] = _dt(end)
            yield moments[start], moments[end], pk, self.rooms[(pk, start)]

    def slots(self, keys: Iterable[tuple[int, str, int]]) -> list[Slot]:
        # (With records=True the rooms are Room objects.)
        return [Slot(start, end, self.by_pk[pk], room) for start, end, pk, room in self._times(keys)]  # type: ignore[arg-type]

    def refs(self, keys: Iterable[tuple[int, str, int]]) -> list[SlotRef]:
        # (With records=False the rooms are ids.)
        return [SlotRef(*times) for times in self._times(keys)]  # type: ignore[arg-type]


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


def _free_slots(**search) -> _Found:
    """The search of availability_for, in a fixed number of queries (see ``_Search``)."""
    return _Search(**search).run()


class _Search:
    """One availability search, run as the numbered steps of ``run``.

    The quarter hours are checked in order, day by day. With ``enough``, the search stops
    after the first start time that brings the slots found to ``enough`` over at least two
    start times: every slot not yet checked starts later, so the first ``enough`` are final
    (and a page cut between two start times can tell that more follow). The window's
    appointments are read in two parts: first those of the days that could hold ``enough``
    slots three times over, the rest only if the search goes on past them (else the second
    read is of an empty range, which keeps the number of queries the same whatever the data).
    ``records``: Provider and Room objects, or only ids and names (availability_page).

    All times are whole seconds since the epoch: comparing integers is many times cheaper
    than comparing aware datetimes, and reading them (EpochSeconds) costs the driver far less
    than parsing thousands of datetimes. A quarter hour of the wall clock is 900 seconds in
    every zone in use (offsets are whole quarters).
    """

    def __init__(
        self,
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
    ):
        self.appointment_type = appointment_type
        self.date_from, self.date_to = date_from, date_to
        self.provider, self.patient = provider, patient
        self.exclude_appointment_id = exclude_appointment_id
        self.after, self.enough, self.records = after, enough, records
        self.length = (duration_minutes or appointment_type.duration_minutes) * 60
        self.buffer = appointment_type.buffer_after_minutes * 60
        self.step = int(clock.GRID.total_seconds())
        # provider id -> weekday -> [(location id, start time, end time)], in start-time order.
        self.hours: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
        # location id -> [(room id, the Room or its id)], in the order rooms are offered.
        self.rooms_by_location: dict[int, list[tuple[int, Room | int]]] = defaultdict(list)
        self.provider_busy: dict[int, list] = defaultdict(list)
        self.room_busy: dict[int, list] = defaultdict(list)
        self.patient_busy: list = []
        # (provider id, start second) -> the room of each free slot found.
        self.found: dict[tuple[int, int], Room | int] = {}
        self.starts_found = 0
        self.by_day: dict[date, dict[int, list]] = {}

    def run(self) -> _Found:
        # 1. The days asked for, from today (or ``after``) to the booking horizon.
        if not self.window():
            return _Found()
        # 2. Who may deliver the type (the rule booking applies: slot_rules.may_deliver).
        if not self.read_providers():
            return _Found()
        # 3. Their working hours, and the rooms that suit the type where they work.
        self.read_hours()
        self.read_rooms()
        # 4. Their and the rooms' time off.
        self.read_time_off()
        # 5. The days worth scanning: worked, and allowed by the reinjection rule's owner.
        days = self.days_to_scan()
        # 6. The first days' bookings, then the free slots of those days.
        head = self.head_of(days)
        cut = self.read_end if len(head) == len(days) else self.day_end(head[-1])
        self.take(self.appointments.holding(self.window_start, cut))
        self.index_busy()
        done = self.scan(head)
        # 7. The rest of the window's bookings if the search goes on, else an empty range read
        #    all the same (the number of queries never depends on the data), and their slots.
        providers_touched, rooms_touched = self.take(
            self.appointments.filter(starts_at__gte=cut, starts_at__lt=cut if done else self.read_end)
        )
        if not done and len(head) < len(days):
            self.index_busy(providers_touched, rooms_touched)
            self.scan(days[len(head) :])
        # 8. The slots found, by start, then provider name.
        return _Found(
            sorted((start, self.names[pk], pk) for pk, start in self.found),
            rooms=self.found,
            by_pk=self.by_pk,
            length=self.length,
        )

    # 1
    def window(self) -> bool:
        self.now = timezone.now()
        today = clock.local(self.now).date()
        first_day = max(self.date_from, today)
        if self.after is not None:
            first_day = max(first_day, clock.local(self.after).date())
        last_day = min(self.date_to, last_bookable_day(today))
        if not self.appointment_type.is_active or first_day > last_day:
            return False
        self.first_day, self.last_day = first_day, last_day
        self.window_start = clock.day_bounds(first_day)[0]
        # A slot holds its provider and room for its buffer too, past the end of its day.
        self.read_end = self.day_end(last_day)
        earliest = _ts(first_bookable_start(self.now))
        if self.after is not None:
            # Strictly after: from the first whole second past it (slots start on whole seconds).
            earliest = max(earliest, math.floor(self.after.timestamp()) + 1)
        self.earliest = earliest
        return True

    def day_end(self, day: date) -> datetime:
        """The end of what a day's slots can hold: the day, and the buffer of its last slot."""
        return clock.day_bounds(day)[1] + timedelta(seconds=self.buffer)

    # 2
    def read_providers(self) -> bool:
        providers = bookable_providers(appointment_type=self.appointment_type)
        if self.provider is not None:
            providers = providers.filter(pk=self.provider.pk)
        if self.records:
            self.by_pk = {p.id: p for p in providers}
            self.names = {pk: str(p) for pk, p in self.by_pk.items()}
        else:
            self.by_pk = {}
            self.names = {
                pk: display_name(title=title, first_name=first, last_name=last, username=username)
                for pk, title, first, last, username in providers.values_list(
                    "id", "user__title", "user__first_name", "user__last_name", "user__username"
                )
            }
        self.provider_ids = list(self.names)
        return bool(self.provider_ids)

    # 3
    def read_hours(self) -> None:
        for provider_id, location_id, weekday, start_time, end_time in (
            WorkingHours.objects.filter(provider_id__any=self.provider_ids, location__is_active=True)
            .order_by("provider_id", "weekday", "start_time")
            .values_list("provider_id", "location_id", "weekday", "start_time", "end_time")
        ):
            self.hours[provider_id][weekday].append((location_id, start_time, end_time))
        every_block = [block for days in self.hours.values() for blocks in days.values() for block in blocks]
        self.location_ids = {location_id for location_id, _, _ in every_block}
        self.start_times = {start for _, start, _ in every_block}
        self.end_times = {end for _, _, end in every_block}

    def read_rooms(self) -> None:
        rows = suitable_rooms(self.appointment_type, self.location_ids)
        if self.records:
            for room in rows:
                self.rooms_by_location[room.location_id].append((room.id, room))
        else:
            for room_id, location_id in rows.values_list("id", "location_id"):
                self.rooms_by_location[location_id].append((room_id, room_id))
        self.room_ids = [rid for rooms in self.rooms_by_location.values() for rid, _ in rooms]

    # 4
    def read_time_off(self) -> None:
        for provider_id, room_id, start, end in (
            TimeOff.objects.filter(
                Q(provider_id__any=self.provider_ids) | Q(room_id__any=self.room_ids),
                starts_at__lt=self.read_end,
                ends_at__gt=self.window_start,
            )
            .order_by()
            .values_list("provider_id", "room_id", EpochSeconds("starts_at"), EpochSeconds("ends_at"))
        ):
            (self.provider_busy[provider_id] if provider_id else self.room_busy[room_id]).append((start, end))
        # The window's active bookings of those providers and rooms, and the patient's: read in
        # two parts by ``run``. (Lists of ids, not subqueries: with a list the database uses the
        # provider and room indexes when the search is for one provider.)
        resources = Q(provider_id__any=self.provider_ids) | Q(room_id__any=self.room_ids)
        if self.patient is not None:
            resources |= Q(patient_id=self.patient.pk)
        self.appointments = (
            Appointment.objects.active()
            .filter(resources)
            .exclude(pk=self.exclude_appointment_id)
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

    # 5
    def days_to_scan(self) -> list[date]:
        toxin: ToxinSchedule | None = None
        if self.patient is not None and self.appointment_type.is_toxin:
            # The reinjection rule's owner answers, as it does for booking: the two cannot disagree.
            toxin = toxin_schedule(
                patient_id=self.patient.pk, exclude_appointment_id=self.exclude_appointment_id
            )
        worked = {weekday for by_weekday in self.hours.values() for weekday in by_weekday}
        return [
            day
            for day in clock.dates_between(self.first_day, self.last_day)
            if day.weekday() in worked and (toxin is None or toxin.allows(day))
        ]

    # 6
    def head_of(self, days: list[date]) -> list[date]:
        """The first days, as many as could hold ``enough`` slots three times over if nothing
        were booked (the first page of a search for all providers is then a day or less);
        without ``enough``, the whole window."""
        if not self.enough:
            return days
        capacity = 0
        for i, day in enumerate(days):
            self.by_day[day] = self.candidates(day)
            capacity += sum(len(group) for group in self.by_day[day].values())
            if capacity >= 3 * self.enough:
                return days[: i + 1]
        return days

    def candidates(self, day: date) -> dict[int, list]:
        """start second -> [(provider id, location id)] of the day's grid times that fit in a
        working block at a location with a room of the kind: the slots to check, by start."""
        # Most providers share a few opening times: each is turned into seconds once a day.
        starts = {wall: _ts(clock.ceil_to_grid(clock.at(day, wall))) for wall in self.start_times}
        ends = {wall: _ts(clock.at(day, wall)) for wall in self.end_times}
        by_start: dict[int, list] = defaultdict(list)
        weekday = day.weekday()
        earliest, step, length = self.earliest, self.step, self.length
        for provider_id in self.provider_ids:
            for location_id, start_time, end_time in self.hours.get(provider_id, {}).get(weekday, ()):
                if location_id not in self.rooms_by_location:
                    continue
                start = starts[start_time]
                if start < earliest:
                    start += -(-(earliest - start) // step) * step
                entry = (provider_id, location_id)
                for moment in range(start, ends[end_time] - length + 1, step):
                    by_start[moment].append(entry)
        return by_start

    def take(self, rows) -> tuple[set, set]:
        """Add appointment rows to the busy lists; the providers and rooms they touch."""
        providers_touched, rooms_touched = set(), set()
        patient_id_wanted = self.patient.pk if self.patient is not None else None
        for provider_id, room_id, patient_id, start, end, blocked in rows:
            held = (start, blocked)
            self.provider_busy[provider_id].append(held)
            self.room_busy[room_id].append(held)
            providers_touched.add(provider_id)
            rooms_touched.add(room_id)
            if patient_id_wanted is not None and patient_id == patient_id_wanted:
                self.patient_busy.append((start, end))
        return providers_touched, rooms_touched

    def index_busy(self, providers: set | None = None, rooms: set | None = None) -> None:
        """Sort the busy lists for lookups: all of them, or again those that new rows touched."""
        if providers is None:
            self.provider_free = {pid: Busy(self.provider_busy[pid]) for pid in self.hours}
            room_ids = [rid for rooms in self.rooms_by_location.values() for rid, _ in rooms]
            self.room_free = {rid: Busy(self.room_busy[rid]) for rid in room_ids}
        else:
            for pid in providers & self.provider_free.keys():
                self.provider_free[pid] = Busy(self.provider_busy[pid])
            for rid in (rooms or set()) & self.room_free.keys():
                self.room_free[rid] = Busy(self.room_busy[rid])
        self.patient_free = Busy(self.patient_busy)
        self.rooms_at = {
            location_id: [(room, self.room_free[rid]) for rid, room in rooms]
            for location_id, rooms in self.rooms_by_location.items()
        }

    def scan(self, days: list[date]) -> bool:
        """Add the free slots of these days to ``found``, earliest first; whether it holds
        enough (then it stops, after a whole start time)."""
        found, enough = self.found, self.enough
        provider_free, patient_free, rooms_at = self.provider_free, self.patient_free, self.rooms_at
        length, hold = self.length, self.length + self.buffer
        for day in days:
            by_start = self.by_day.pop(day, None) or self.candidates(day)
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
                self.starts_found += len(found) > before
                # Slots are found in start order: once they are enough, no later one can
                # come before them.
                if enough and len(found) >= enough and self.starts_found > 1:
                    return True
        return False


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
    horizon = last_bookable_day(clock.local_today())
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
