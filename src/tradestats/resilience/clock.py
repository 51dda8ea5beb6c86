"""Time as a value: every policy in this package reads time through a ``Clock``.

``SystemClock`` is the real thing. ``FakeClock`` only moves when told to (or when
something sleeps on it), so tests of backoff, windows and TTLs never really sleep.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "FakeClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Monotonic time for durations, wall time for shared timestamps, and sleeping."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (durations, deadlines)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch (timestamps shared across processes)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (never negative)."""
        ...


class SystemClock:
    """The process's real clocks."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()


class FakeClock:
    """A clock for tests: time moves only by ``advance`` or ``sleep``; sleeps are recorded.

    Both ``monotonic()`` and ``time()`` move together. Thread-safe.
    """

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self._lock = threading.Lock()
        self._mono = start
        self._offset = wall_start - start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def time(self) -> float:
        with self._lock:
            return self._mono + self._offset

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        with self._lock:
            self.sleeps.append(seconds)
            self._mono += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` without recording a sleep."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._mono += seconds

    @property
    def slept(self) -> float:
        """Total seconds slept on this clock."""
        with self._lock:
            return sum(self.sleeps)
