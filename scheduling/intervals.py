"""Busy intervals, merged and sorted, for overlap tests on whole intervals.

Checking only slot starts lets a long appointment overlap the next one; here every test is
"does [start, end) intersect any busy [s, e)", answered by a binary search. Times are datetimes
(the calendar) or whole seconds since the epoch (the availability search).
"""

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from typing import Generic, TypeVar

Moment = TypeVar("Moment", datetime, int)


class Busy(Generic[Moment]):
    """Disjoint, sorted half-open intervals."""

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: Iterable[tuple[Moment, Moment]] = ()):
        self.starts: list[Moment] = []
        self.ends: list[Moment] = []
        for start, end in sorted(intervals):
            if end <= start:
                continue
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def is_free(self, start: Moment, end: Moment) -> bool:
        # The first busy interval ending after ``start`` is the only one that can overlap.
        i = bisect_right(self.ends, start)
        return i == len(self.starts) or self.starts[i] >= end

    def __bool__(self) -> bool:
        return bool(self.starts)
