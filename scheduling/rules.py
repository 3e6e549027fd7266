"""Rules shared by the availability search and the booking service, so both agree."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Max

from . import clock
from .models import Appointment, Recall, WorkingHours


@dataclass(frozen=True)
class WorkingBlock:
    start: datetime
    end: datetime
    location_id: int


def working_blocks(hours: list[WorkingHours], day: date) -> list[WorkingBlock]:
    """A provider's working blocks on one local date, from their rows for that weekday."""
    return [
        WorkingBlock(clock.at(day, wh.start_time), clock.at(day, wh.end_time), wh.location_id)
        for wh in hours
        if wh.weekday == day.weekday()
    ]


@dataclass(frozen=True)
class ToxinHistory:
    """What the minimum reinjection interval needs to know about one patient.

    ``dates``: local dates of the patient's other active toxin appointments (before and after).
    ``recall_earliest``: the latest earliest-date of their open or booked reinjection recalls,
    which treatments open when a session is recorded without an appointment.
    """

    dates: tuple[date, ...]
    recall_earliest: date | None
    min_days: int

    def allows(self, day: date) -> bool:
        if self.recall_earliest and day < self.recall_earliest:
            return False
        return all(abs((day - other).days) >= self.min_days for other in self.dates)

    def earliest_from(self, day: date) -> date:
        """The first date on or after ``day`` that keeps the interval to every other session."""
        candidate = max(day, self.recall_earliest or day)
        # Sorted ascending and only moving forward, one pass is enough: once past a session
        # plus the interval, no earlier session can come closer again.
        for other in self.dates:
            if abs((candidate - other).days) < self.min_days:
                candidate = other + timedelta(days=self.min_days)
        return candidate


def toxin_history(*, patient, min_days: int, exclude_appointment_id: int | None = None) -> ToxinHistory:
    starts = (
        Appointment.objects.filter(
            patient=patient, appointment_type__is_toxin=True, status__in=Appointment.ACTIVE_STATUSES
        )
        .exclude(pk=exclude_appointment_id)
        .values_list("starts_at", flat=True)
    )
    dates = tuple(sorted({clock.local(s).date() for s in starts}))
    recall_earliest = Recall.objects.filter(
        patient=patient,
        kind=Recall.Kind.REINJECTION,
        status__in=(Recall.Status.OPEN, Recall.Status.BOOKED),
    ).aggregate(latest=Max("earliest_date"))["latest"]
    return ToxinHistory(dates=dates, recall_earliest=recall_earliest, min_days=min_days)
