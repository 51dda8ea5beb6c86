"""Retry as a value: ``RetryPolicy`` decides *whether and how long*, ``RetryBudget`` caps
how much extra traffic retries may add, and the caller decides *what* is idempotent.

Backoff is capped exponential with full jitter (AWS architecture blog, "Exponential
Backoff and Jitter"): the n-th retry waits ``uniform(0, min(cap, base * 2**n))``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tradestats.resilience.clock import SYSTEM_CLOCK, Clock
from tradestats.resilience.deadline import Deadline

__all__ = ["RetryBudget", "RetryPolicy", "parse_retry_after"]

T = TypeVar("T")

DEFAULT_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``now`` is wall-clock epoch seconds (``Clock.time()``). Unparseable → ``None``;
    a date in the past → ``0.0``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, when.timestamp() - now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one logical call.

    ``max_attempts`` counts the first try (3 = one try + two retries). A ``Retry-After``
    from the upstream replaces the jittered backoff; one longer than ``retry_after_cap``
    is not waited for (the call gives up and reports it), so a throttled upstream never
    holds a request thread for long. No delay ever reaches past the ``Deadline``.
    """

    max_attempts: int = 3
    base: float = 0.2
    cap: float = 5.0
    retry_after_cap: float = 10.0
    retry_on_status: frozenset[int] = DEFAULT_RETRY_STATUSES
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base < 0 or self.cap < 0 or self.retry_after_cap < 0:
            raise ValueError("base, cap and retry_after_cap must be >= 0")

    def retryable_status(self, status: int) -> bool:
        return status in self.retry_on_status

    def backoff(self, retry_number: int) -> float:
        """Full-jitter delay before retry ``retry_number`` (0 = the first retry)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(retry_number, 62))
        return self.rng.uniform(0.0, ceiling)

    def next_delay(
        self,
        attempts_made: int,
        *,
        retry_after: float | None = None,
        deadline: Deadline | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to stop retrying.

        Stops when ``max_attempts`` are used up, when the upstream's ``Retry-After``
        exceeds ``retry_after_cap``, or when the wait would not end before the deadline.
        """
        if attempts_made >= self.max_attempts:
            return None
        if retry_after is not None:
            if retry_after > self.retry_after_cap:
                return None
            delay = max(0.0, retry_after)
        else:
            delay = self.backoff(attempts_made - 1)
        if deadline is not None and delay >= deadline.remaining():
            return None
        return delay

    def call(
        self,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        retry_if: Callable[[Exception], bool],
        deadline: Deadline | None = None,
        budget: RetryBudget | None = None,
        clock: Clock = SYSTEM_CLOCK,
        on_retry: Callable[[int, Exception, float], None] | None = None,
    ) -> T:
        """Run ``fn``, retrying exceptions ``retry_if`` accepts, per this policy.

        Non-idempotent calls are never retried. ``retry_after`` is read from the
        exception when it has one. ``on_retry(attempts_made, exc, delay)`` is called
        before each sleep (metrics, logging).
        """
        if budget is not None:
            budget.record_call()
        attempts = 0
        while True:
            attempts += 1
            try:
                return fn()
            except Exception as exc:
                if not idempotent or not retry_if(exc):
                    raise
                retry_after = getattr(exc, "retry_after", None)
                delay = self.next_delay(
                    attempts,
                    retry_after=retry_after if isinstance(retry_after, int | float) else None,
                    deadline=deadline,
                )
                if delay is None or (budget is not None and not budget.try_spend()):
                    raise
                if on_retry is not None:
                    on_retry(attempts, exc, delay)
                clock.sleep(delay)


class RetryBudget:
    """Caps retries to ``ratio`` of calls over a sliding ``window``, plus a floor of
    ``min_per_second`` retries/s, so a full outage adds at most ~``ratio`` extra traffic
    instead of multiplying it by ``max_attempts`` (Finagle/gRPC retry budgets).

    Counts live in ``buckets`` time buckets; calls and retries older than ``window``
    fall out. Thread-safe; one budget per upstream, shared by all its callers.
    """

    def __init__(
        self,
        ratio: float = 0.2,
        min_per_second: float = 3.0,
        window: float = 10.0,
        *,
        buckets: int = 10,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if ratio < 0 or min_per_second < 0 or window <= 0 or buckets < 1:
            raise ValueError("invalid retry budget")
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window = window
        self._width = window / buckets
        self._buckets = buckets
        self._clock = clock
        self._lock = threading.Lock()
        # bucket index -> [calls, retries]
        self._counts: dict[int, list[int]] = {}

    def _bucket(self) -> list[int]:
        now_index = math.floor(self._clock.monotonic() / self._width)
        oldest = now_index - self._buckets + 1
        for index in [i for i in self._counts if i < oldest]:
            del self._counts[index]
        return self._counts.setdefault(now_index, [0, 0])

    def record_call(self) -> None:
        """Count one logical call (its first attempt); each call earns ``ratio`` retries."""
        with self._lock:
            self._bucket()[0] += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget; ``False`` (and nothing taken) when exhausted."""
        with self._lock:
            current = self._bucket()
            calls = sum(c[0] for c in self._counts.values())
            retries = sum(c[1] for c in self._counts.values())
            allowed = self.ratio * calls + self.min_per_second * self.window
            if retries + 1 > allowed:
                return False
            current[1] += 1
            return True

    def available(self) -> float:
        """Retries that could be spent now."""
        with self._lock:
            self._bucket()
            calls = sum(c[0] for c in self._counts.values())
            retries = sum(c[1] for c in self._counts.values())
            return max(0.0, self.ratio * calls + self.min_per_second * self.window - retries)
