"""Fast conversion of aware datetimes to local calendar dates and hours.

`datetime.astimezone(ZoneInfo)` costs around a microsecond; statistics over a million
realizations call it per row. Trade times cluster, so `LocalClock` remembers the UTC
span of the last local day (when its UTC offset is constant across that day) and
answers from it; other times fall back to `astimezone`. Fastest for UTC inputs.
`day_runs` / `local_dates` go further for sorted times: one binary search per day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from operator import le

_ONE_DAY = timedelta(days=1)


class LocalClock:
    """Local date/hour of aware datetimes in `tz`, cached per local day."""

    __slots__ = ("_day", "_end", "_offset", "_start", "tz")

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._start: datetime | None = None
        self._end: datetime | None = None
        self._day: date | None = None
        self._offset: timedelta | None = None

    def _load(self, when: datetime) -> bool:
        local = when.astimezone(self.tz)
        day = local.date()
        start = datetime.combine(day, time(0), tzinfo=self.tz)
        end = datetime.combine(day + _ONE_DAY, time(0), tzinfo=self.tz)
        offset = start.utcoffset()
        if offset is None or offset != end.utcoffset() or offset != local.utcoffset():
            return False  # a DST transition inside this day: do not cache
        # Bounds in UTC: comparing datetimes that share a tzinfo skips utcoffset() calls.
        self._start, self._end = start.astimezone(UTC), end.astimezone(UTC)
        self._day, self._offset = day, offset
        return True

    def date(self, when: datetime) -> date:
        """Calendar date of `when` in the clock's timezone."""
        start, end = self._start, self._end
        if start is not None and end is not None and start <= when < end:
            assert self._day is not None
            return self._day
        if self._load(when):
            assert self._day is not None
            return self._day
        return when.astimezone(self.tz).date()

    def hour(self, when: datetime) -> int:
        """Hour of day (0-23) of `when` in the clock's timezone."""
        start, end = self._start, self._end
        if not (start is not None and end is not None and start <= when < end):
            if not self._load(when):
                return when.astimezone(self.tz).hour
        assert self._start is not None and self._offset is not None
        return int((when - self._start).total_seconds() // 3600)


def _is_sorted(times: Sequence[datetime]) -> bool:
    return all(map(le, times, islice(times, 1, None)))


def day_runs(times: Sequence[datetime], tz: tzinfo) -> list[tuple[int, int, date]]:
    """Runs ``(start, stop, day)`` of consecutive `times` on one calendar day in `tz`.

    Every index is in exactly one run and runs are in index order; a day may appear in
    several runs when `times` is not sorted. Sorted input (the usual case: fills,
    realizations and closes come in time order) costs one binary search per day instead
    of one timezone conversion per row.
    """
    n = len(times)
    if n == 0:
        return []
    clock = LocalClock(tz)
    local_date = clock.date
    if not _is_sorted(times):
        runs: list[tuple[int, int, date]] = []
        start = 0
        day = local_date(times[0])
        for i in range(1, n):
            d = local_date(times[i])
            if d != day:
                runs.append((start, i, day))
                start, day = i, d
        runs.append((start, n, day))
        return runs
    runs = []
    i = 0
    while i < n:
        day = local_date(times[i])
        # First instant of the next local day (fold=0: its first occurrence); the local
        # date is non-decreasing up to it, so every time in [times[i], end) is on `day`.
        end = datetime.combine(day + _ONE_DAY, time(0), tzinfo=tz)
        j = bisect_left(times, end, i + 1)
        while j > i + 1 and local_date(times[j - 1]) != day:
            j -= 1  # a zone rule the bound above does not capture: shrink to be safe
        runs.append((i, j, day))
        i = j
    return runs


def local_dates(times: Sequence[datetime], tz: tzinfo) -> list[date]:
    """Calendar date in `tz` of each of `times` (see `day_runs`)."""
    out: list[date] = []
    extend = out.extend
    for start, stop, day in day_runs(times, tz):
        extend([day] * (stop - start))
    return out
