"""Calendar grids for the day, room and week pages.

A grid is a table: one row per quarter hour of the clinic's wall clock, one column per provider
(day view), room (room view) or date (week view). Appointments span rows with ``rowspan``, so
the page needs no positioning styles and reads as a table to screen readers.

The day view pages its provider columns (``settings.SCHEDULE_DAY_COLUMNS`` at a time): a clinic
group has hundreds of providers working on one day, and a page reads the appointments, hours and
time off of its own providers only, so its cost does not grow with the group. The room view
pages its rooms the same way.
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q
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
# Read for every appointment of a day's page and never shown there (timestamps and JSON cost the
# most to load).
UNSHOWN_FIELDS = (
    "notes",
    "interval_override_reason",
    "booked_via",
    "created_at",
    "updated_at",
    "appointment_type__provider_roles",
    "appointment_type__follow_up_plan",
)


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


@dataclass
class ProviderDay:
    """One page of the day view.

    ``page`` pages the ids of every provider with a column that day, in name order;
    ``scope`` selects the appointments and waitlist offers that belong on this page (a filter
    on ``provider`` and ``room``, for both models): those of its providers, and on the first
    page also those of every provider with no column that day (someone not working whose
    appointments were all cancelled, or an offer of a slot whose provider has since stopped
    working that day), so that every cancellation and every open offer is listed on exactly one
    page.
    With a location, only what happens in its rooms.
    """

    grid: Grid
    cancelled: list[Appointment]
    page: Page
    scope: Q


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


def _starts(day: date, rows: list[time]) -> list[datetime]:
    """The UTC instant each row starts at on ``day``."""
    return [clock.at(day, wall) for wall in rows]


def _fill(
    column: Column,
    starts: list[datetime],
    *,
    appointments: list[Appointment],
    blocks: list | None,
    away: Busy,
    now: datetime,
) -> None:
    """Lay one column out: appointments spanning rows, then what each remaining row is."""
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


def provider_day(*, day: date, location: Location | None = None, page: int | str | None = 1) -> ProviderDay:
    """The day view: a column per provider working that day (or with appointments then).

    Providers are ordered by name and paged, ``settings.SCHEDULE_DAY_COLUMNS`` at a time; a page
    number out of range shows the last page, one that is not a number the first. One query finds
    and orders the providers with a column (and those with only cancellations that day); the
    rest reads the page's providers only. The grid's rows cover the page's hours and appointments.
    """
    day_start, day_end = clock.day_bounds(day)
    hours_qs = WorkingHours.objects.filter(
        weekday=day.weekday(), provider__is_active=True, location__is_active=True
    )
    day_qs = Appointment.objects.filter(starts_at__gte=day_start, starts_at__lt=day_end)
    if location is not None:
        hours_qs = hours_qs.filter(location=location)
        day_qs = day_qs.filter(room__location=location)
    # Per provider without hours that day, EXISTS probes the (provider, starts_at) index: cheaper
    # than reading every appointment of the day to find the few such providers.
    works = Q(pk__in=hours_qs.values("provider_id"))
    booked = Exists(day_qs.filter(provider=OuterRef("pk"), status__in=SHOWN))
    listed = Exists(day_qs.filter(provider=OuterRef("pk")))
    found = list(
        Provider.objects.filter(works | listed).annotate(column=works | booked).values_list("pk", "column")
    )
    column_ids = [pk for pk, column in found if column]
    paged = Paginator(column_ids, settings.SCHEDULE_DAY_COLUMNS).get_page(page)
    provider_ids = list(paged.object_list)
    # What belongs on this page (see ProviderDay): the first page also takes everyone without a
    # column, whether or not anything of theirs is booked that day (an open offer may be).
    scope = Q(provider_id__any=provider_ids)
    if paged.number == 1:
        scope |= ~Q(provider_id__any=column_ids)
    # The same for that day's appointments, as a list the (provider, starts_at) index can use:
    # every provider with an appointment that day is in found.
    listed_ids = (
        provider_ids + [pk for pk, column in found if not column] if paged.number == 1 else provider_ids
    )
    place = Q(room__location=location) if location is not None else Q()
    scope &= place
    by_id = Provider.objects.select_related("user").in_bulk(listed_ids)
    # What the grid and the cancelled list show of an appointment, nothing more; its provider is
    # one of those just read.
    appointments = list(
        appointments_listed(Appointment.objects.select_related("patient", "appointment_type", "room"))
        .defer(*UNSHOWN_FIELDS)
        .filter(place, provider_id__in=listed_ids, starts_at__gte=day_start, starts_at__lt=day_end)
    )
    for appointment in appointments:
        appointment.provider = by_id[appointment.provider_id]
    if not provider_ids:
        return ProviderDay(Grid(_rows(*_bounds([], [])), []), _cancelled(appointments), paged, scope)
    hours = list(hours_qs.filter(provider_id__in=provider_ids).order_by())
    away = _away(Q(provider_id__in=provider_ids), day_start, day_end, key="provider_id")
    visible = _visible(appointments)
    rows = _rows(*_bounds(hours, visible))
    starts = _starts(day, rows)
    by_provider = _grouped(visible, "provider_id")
    hours_by_provider = _grouped(hours, "provider_id")
    now = timezone.now()
    columns = []
    for provider in (by_id[pk] for pk in provider_ids):
        column = Column(label=str(provider), day=day, provider=provider, colour=provider.colour)
        _fill(
            column,
            starts,
            appointments=by_provider[provider.pk],
            blocks=working_blocks(hours_by_provider[provider.pk], day),
            away=away[provider.pk],
            now=now,
        )
        columns.append(column)
    return ProviderDay(Grid(rows, columns), _cancelled(appointments), paged, scope)


def _cancelled(appointments: list[Appointment]) -> list[Appointment]:
    return [a for a in appointments if a.status == Appointment.Status.CANCELLED]


@dataclass
class RoomDay:
    """One page of the room view: ``page`` pages the ids of the active rooms in location and
    name order."""

    grid: Grid
    page: Page


def room_day(*, day: date, location: Location | None = None, page: int | str | None = 1) -> RoomDay:
    """The room view: a column per active room; rooms have no working hours, only time off.

    Rooms come ``settings.SCHEDULE_DAY_COLUMNS`` at a time, as the day view's providers do (a
    page number out of range shows the last page, one that is not a number the first); a page
    reads the appointments and time off of its own rooms only.
    """
    day_start, day_end = clock.day_bounds(day)
    rooms = Room.objects.filter(is_active=True)
    if location is not None:
        rooms = rooms.filter(location=location)
    paged = Paginator(list(rooms.values_list("pk", flat=True)), settings.SCHEDULE_DAY_COLUMNS).get_page(page)
    room_ids = list(paged.object_list)
    by_id = Room.objects.select_related("location").in_bulk(room_ids)
    appointments = [
        a
        for a in appointments_listed(appointments_between(start=day_start, end=day_end)).filter(
            starts_at__gte=day_start, room_id__in=room_ids
        )
        if a.status in SHOWN
    ]
    away = _away(Q(room_id__in=room_ids), day_start, day_end, key="room_id")
    rows = _rows(*_bounds([], appointments))
    starts = _starts(day, rows)
    by_room = _grouped(appointments, "room_id")
    now = timezone.now()
    columns = []
    for room in (by_id[pk] for pk in room_ids):
        column = Column(label=room.name, day=day, room=room)
        _fill(column, starts, appointments=by_room[room.pk], blocks=None, away=away[room.pk], now=now)
        columns.append(column)
    return RoomDay(Grid(rows, columns), paged)


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
        _fill(
            column,
            _starts(day, rows),
            appointments=by_day[day],
            blocks=working_blocks(hours, day),
            away=away,
            now=now,
        )
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
