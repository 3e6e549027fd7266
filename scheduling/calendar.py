"""Calendar grids for the day, room and week pages.

A grid is a table: one row per quarter hour of the clinic's wall clock, one column per provider
(day view), room (room view) or date (week view). Appointments span rows with ``rowspan``, so
the page needs no positioning styles and reads as a table to screen readers.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from . import clock
from .intervals import Busy
from .models import Appointment, Location, Provider, Room, TimeOff, WorkingHours
from .rules import working_blocks
from .selectors import appointments_between, appointments_listed

DEFAULT_OPEN = time(8, 0)
DEFAULT_CLOSE = time(18, 0)
# Shown in the grid: what holds or held the slot. Cancelled ones are listed below it.
SHOWN = (*Appointment.ACTIVE_STATUSES, Appointment.Status.NO_SHOW)


@dataclass
class Cell:
    kind: str  # appointment, free, buffer, off, closed, past
    column: "Column"
    start: datetime
    rowspan: int = 1
    appointments: list = field(default_factory=list)


@dataclass
class Column:
    label: str
    day: date
    provider: Provider | None = None
    room: Room | None = None
    colour: str = ""
    cells: dict = field(default_factory=dict)  # row index -> Cell (absent: covered by a rowspan)


@dataclass
class Grid:
    rows: list[time]
    columns: list[Column]

    @property
    def table(self) -> list[tuple[time, list[Cell]]]:
        return [
            (wall, [c.cells[i] for c in self.columns if i in c.cells]) for i, wall in enumerate(self.rows)
        ]


def _minutes(wall: time) -> int:
    return wall.hour * 60 + wall.minute


def _rows(first: int, last: int) -> list[time]:
    """Quarter-hour wall times from minute ``first`` to ``last`` of the day."""
    first -= first % clock.GRID_MINUTES
    return [time(m // 60, m % 60) for m in range(first, last, clock.GRID_MINUTES)]


def _bounds(hours: list[WorkingHours], appointments: list[Appointment]) -> tuple[int, int]:
    """The grid's first and last minute: opening hours and every appointment shown, at least 08-18."""
    starts = [_minutes(wh.start_time) for wh in hours]
    ends = [_minutes(wh.end_time) for wh in hours]
    for appt in appointments:
        begin = clock.local(appt.starts_at)
        starts.append(_minutes(begin.time()))
        # Past midnight the grid stops at the end of the day.
        ends.append(
            24 * 60
            if clock.local(appt.ends_at).date() > begin.date()
            else _minutes(clock.local(appt.ends_at).time())
        )
    last = max([_minutes(DEFAULT_CLOSE), *ends])
    return min([_minutes(DEFAULT_OPEN), *starts]), -(-last // clock.GRID_MINUTES) * clock.GRID_MINUTES


def _fill(
    column: Column,
    rows: list[time],
    *,
    appointments: list[Appointment],
    blocks: list | None,
    away: Busy,
    now: datetime,
) -> None:
    """Lay one column out: appointments spanning rows, then what each remaining row is."""
    starts = [clock.at(column.day, wall) for wall in rows]
    grid_end = starts[-1] + clock.GRID
    tick = timedelta(microseconds=1)

    def row_of(moment: datetime) -> int:
        return bisect_right(starts, moment) - 1

    owner: dict[int, int] = {}  # row -> the row whose appointment cell covers it
    for appt in sorted(appointments, key=lambda a: (a.starts_at, a.pk)):
        if appt.ends_at <= starts[0] or appt.starts_at >= grid_end:
            continue
        first = row_of(max(appt.starts_at, starts[0]))
        last = row_of(min(appt.ends_at, grid_end) - tick)
        if first in owner:
            # Overlaps one shown already (a no-show whose slot was booked again): share its cell.
            head = column.cells[owner[first]]
            head.appointments.append(appt)
            first = owner[first]
            last = max(last, first + head.rowspan - 1)
            head.rowspan = last - first + 1
        else:
            column.cells[first] = Cell(
                "appointment", column, starts[first], rowspan=last - first + 1, appointments=[appt]
            )
        for r in range(first, last + 1):
            owner[r] = first
    buffers = Busy((a.ends_at, a.blocked_until) for a in appointments if a.is_active)
    for i, start in enumerate(starts):
        if i in owner:
            continue
        end = start + clock.GRID
        if not buffers.is_free(start, end):
            kind = "buffer"
        elif not away.is_free(start, end):
            kind = "off"
        elif blocks is not None and not any(b.start <= start and end <= b.end for b in blocks):
            kind = "closed"
        elif start < now:
            kind = "past"
        else:
            kind = "free"
        column.cells[i] = Cell(kind, column, start)


def _visible(appointments):
    return [a for a in appointments if a.status in SHOWN]


def provider_day(*, day: date, location: Location | None = None) -> tuple[Grid, list[Appointment]]:
    """The day view: a column per provider working that day (or with appointments then).

    Returns the grid and the day's cancelled appointments.
    """
    day_start, day_end = clock.day_bounds(day)
    appointments = list(
        appointments_listed(appointments_between(start=day_start, end=day_end)).filter(
            starts_at__gte=day_start
        )
    )
    if location is not None:
        appointments = [a for a in appointments if a.room.location_id == location.pk]
    hours_qs = WorkingHours.objects.filter(
        weekday=day.weekday(), provider__is_active=True, location__is_active=True
    )
    if location is not None:
        hours_qs = hours_qs.filter(location=location)
    hours = list(hours_qs)
    provider_ids = {wh.provider_id for wh in hours} | {
        a.provider_id for a in appointments if a.status in SHOWN
    }
    providers = list(Provider.objects.filter(pk__in=provider_ids).select_related("user"))
    away = _away(Q(provider_id__in=provider_ids), day_start, day_end, key="provider_id")
    rows = _rows(*_bounds(hours, _visible(appointments)))
    by_provider = _grouped(_visible(appointments), "provider_id")
    hours_by_provider = _grouped(hours, "provider_id")
    now = timezone.now()
    columns = []
    for provider in providers:
        column = Column(label=str(provider), day=day, provider=provider, colour=provider.colour)
        _fill(
            column,
            rows,
            appointments=by_provider[provider.pk],
            blocks=working_blocks(hours_by_provider[provider.pk], day),
            away=away[provider.pk],
            now=now,
        )
        columns.append(column)
    cancelled = [a for a in appointments if a.status == Appointment.Status.CANCELLED]
    return Grid(rows, columns), cancelled


def room_day(*, day: date, location: Location | None = None) -> Grid:
    """The room view: a column per active room; rooms have no working hours, only time off."""
    day_start, day_end = clock.day_bounds(day)
    rooms = Room.objects.filter(is_active=True).select_related("location")
    if location is not None:
        rooms = rooms.filter(location=location)
    rooms = list(rooms)
    appointments = [
        a
        for a in appointments_listed(appointments_between(start=day_start, end=day_end)).filter(
            starts_at__gte=day_start, room__in=rooms
        )
        if a.status in SHOWN
    ]
    away = _away(Q(room__in=rooms), day_start, day_end, key="room_id")
    rows = _rows(*_bounds([], appointments))
    by_room = _grouped(appointments, "room_id")
    now = timezone.now()
    columns = []
    for room in rooms:
        column = Column(label=room.name, day=day, room=room)
        _fill(column, rows, appointments=by_room[room.pk], blocks=None, away=away[room.pk], now=now)
        columns.append(column)
    return Grid(rows, columns)


def provider_week(*, provider: Provider, monday: date) -> Grid:
    """A provider's week: a column per day, Monday to Sunday."""
    start, end = clock.day_bounds(monday)[0], clock.day_bounds(monday + timedelta(days=6))[1]
    appointments = [
        a
        for a in appointments_listed(appointments_between(start=start, end=end)).filter(
            provider=provider, starts_at__gte=start
        )
        if a.status in SHOWN
    ]
    hours = list(WorkingHours.objects.filter(provider=provider, location__is_active=True))
    away = _away(Q(provider=provider), start, end, key="provider_id")[provider.pk]
    rows = _rows(*_bounds(hours, appointments))
    by_day = defaultdict(list)
    for a in appointments:
        by_day[clock.local(a.starts_at).date()].append(a)
    now = timezone.now()
    columns = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        column = Column(label=f"{day:%a %d %b}", day=day, provider=provider, colour=provider.colour)
        _fill(column, rows, appointments=by_day[day], blocks=working_blocks(hours, day), away=away, now=now)
        columns.append(column)
    return Grid(rows, columns)


def _grouped(items, attr: str) -> defaultdict:
    groups = defaultdict(list)
    for item in items:
        groups[getattr(item, attr)].append(item)
    return groups


def _away(condition: Q, start: datetime, end: datetime, *, key: str) -> dict[int, Busy]:
    intervals = defaultdict(list)
    for owner, s, e in TimeOff.objects.filter(condition, starts_at__lt=end, ends_at__gt=start).values_list(
        key, "starts_at", "ends_at"
    ):
        intervals[owner].append((s, e))
    return defaultdict(Busy, {owner: Busy(spans) for owner, spans in intervals.items()})
