"""An overall time budget for one unit of work (one API request's upstream calls)."""

from __future__ import annotations

import math

from tradestats.resilience.clock import SYSTEM_CLOCK, Clock

__all__ = ["Deadline"]


class Deadline:
    """``seconds`` from now on ``clock``'s monotonic time; ``math.inf`` means no deadline.

    Retries never sleep past it and per-attempt socket timeouts are capped by it
    (``timeout(cap)``), so a request's total upstream time is bounded by one number.
    """

    __slots__ = ("_clock", "_expires_at", "seconds")

    def __init__(self, seconds: float, clock: Clock = SYSTEM_CLOCK) -> None:
        if seconds < 0 or math.isnan(seconds):
            raise ValueError("deadline seconds must be >= 0")
        self.seconds = seconds
        self._clock = clock
        self._expires_at = clock.monotonic() + seconds

    @classmethod
    def never(cls, clock: Clock = SYSTEM_CLOCK) -> Deadline:
        """A deadline that never expires (per-attempt timeouts still apply)."""
        return cls(math.inf, clock)

    def remaining(self) -> float:
        """Seconds left, never negative (``inf`` for ``never()``)."""
        return max(0.0, self._expires_at - self._clock.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def timeout(self, for_attempt_cap: float) -> float:
        """A per-attempt timeout: ``for_attempt_cap``, but no later than the deadline."""
        return min(for_attempt_cap, self.remaining())

    def __repr__(self) -> str:
        return f"Deadline(seconds={self.seconds!r}, remaining={self.remaining():.3f})"
