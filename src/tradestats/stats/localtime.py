"""Fast conversion of aware datetimes to local calendar dates and hours.

`datetime.astimezone(ZoneInfo)` costs around a microsecond; statistics over a million
realizations call it per row. Trade times cluster, so `LocalClock` remembers the UTC
span of the last local day (when its UTC offset is constant across that day) and
answers from it; other times fall back to `astimezone`. Fastest for UTC inputs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

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
