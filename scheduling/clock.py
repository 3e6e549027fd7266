"""Clinic time: wall-clock times in the clinic's zone, turned into UTC instants.

Working hours are wall-clock times ("09:00 on Mondays"). On a daylight-saving change day a
wall-clock interval is not the usual length, so every interval is built from local wall-clock
times with zoneinfo and converted to UTC, and all comparisons happen on UTC instants.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

# Appointments start on the quarter hour of the clinic's wall clock.
GRID = timedelta(minutes=15)
GRID_MINUTES = 15


def clinic_tz() -> ZoneInfo:
    return timezone.get_default_timezone()


def local(moment: datetime) -> datetime:
    return moment.astimezone(clinic_tz())


def local_today() -> date:
    return local(timezone.now()).date()


def at(day: date, wall: time) -> datetime:
    """The UTC instant of a wall-clock time in the clinic's zone.

    A wall time that occurs twice (clocks going back) means its first occurrence; one that
    does not exist (clocks going forward) is read with the offset before the change.
    """
    return datetime.combine(day, wall, tzinfo=clinic_tz()).astimezone(UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day as UTC instants (23 or 25 hours on change days)."""
    return at(day, time(0)), at(day + timedelta(days=1), time(0))


def utc(moment: datetime) -> datetime:
    """``moment`` as a UTC instant; a naive one is read as the clinic's wall clock.

    Arithmetic on datetimes that carry a zone with daylight saving is wall-clock arithmetic in
    Python (09:30 + 1 h across a change is still 10:30 on the wall), so services convert to UTC
    before adding durations.
    """
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, clinic_tz())
    return moment.astimezone(UTC)


def on_grid(moment: datetime) -> bool:
    wall = local(moment)
    return wall.minute % GRID_MINUTES == 0 and wall.second == 0 and wall.microsecond == 0


def ceil_to_grid(moment: datetime) -> datetime:
    """The first quarter hour of the clinic's wall clock at or after ``moment`` (in UTC)."""
    wall = local(moment)
    floored = wall.replace(minute=wall.minute - wall.minute % GRID_MINUTES, second=0, microsecond=0)
    if floored == wall:
        return moment.astimezone(UTC)
    return floored.astimezone(UTC) + GRID


def dates_between(first: date, last: date):
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
