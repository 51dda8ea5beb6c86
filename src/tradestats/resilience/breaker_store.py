"""Breaker state and where it lives: the ``BreakerStore`` protocol, the state machine's
configuration, and ``InProcessBreakerStore`` (the default; ``RedisBreakerStore`` in
``breaker_redis`` implements the same transitions in Lua)."""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Admission",
    "BreakerConfig",
    "BreakerState",
    "BreakerStore",
    "InProcessBreakerStore",
    "StoredBreaker",
]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"

    @property
    def gauge_value(self) -> int:
        """The ``BREAKER_STATE`` encoding: 0 closed, 1 half-open, 2 open."""
        return {"closed": 0, "half_open": 1, "open": 2}[self.value]


@dataclass(frozen=True)
class BreakerConfig:
    """Thresholds of one breaker (see ``CircuitBreaker`` for their meaning)."""

    failure_rate_threshold: float = 0.5
    slow_call_threshold: float = 1.0
    slow_call_duration: float = 5.0
    window: float = 30.0
    window_buckets: int = 30
    minimum_calls: int = 10
    open_duration: float = 15.0
    half_open_max_calls: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.failure_rate_threshold <= 1 or not 0 < self.slow_call_threshold <= 1:
            raise ValueError("rate thresholds must be in (0, 1]")
        if self.window <= 0 or self.window_buckets < 1:
            raise ValueError("window and window_buckets must be positive")
        if self.minimum_calls < 1 or self.half_open_max_calls < 1 or self.open_duration < 0:
            raise ValueError("minimum_calls and half_open_max_calls must be >= 1")

    @property
    def bucket_width(self) -> float:
        return self.window / self.window_buckets

    @property
    def probe_lease(self) -> float:
        """After this long in half-open with all probe slots taken, the slots are
        presumed abandoned (a caller that never reported) and handed out again."""
        return max(self.open_duration, 2 * self.slow_call_duration)

    @property
    def busy_retry_after(self) -> float:
        """``retry_after`` when half-open probe slots are all in use."""
        return min(1.0, self.open_duration) or 1.0

    def should_trip(self, calls: int, failures: int, slow: int) -> bool:
        if calls < self.minimum_calls:
            return False
        return (
            failures / calls >= self.failure_rate_threshold
            or slow / calls >= self.slow_call_threshold
        )


@dataclass(frozen=True)
class Admission:
    """A store's answer to "may I call?"."""

    allowed: bool
    probe: bool
    generation: int
    state: BreakerState
    retry_after: float | None = None


@dataclass(frozen=True)
class StoredBreaker:
    """A store's raw view of one breaker (state as stored; window counts)."""

    state: BreakerState
    generation: int
    opened_at: float | None
    calls: int
    failures: int
    slow: int


class BreakerStore(Protocol):
    """Where breaker state lives. Each method is atomic for one breaker ``name``.

    ``generation`` increases on every state transition; results reported under an older
    generation are dropped, so a slow call from before a transition cannot move the
    state machine of the new period.
    """

    def acquire(self, name: str, config: BreakerConfig, now: float) -> Admission: ...

    def record(
        self,
        name: str,
        config: BreakerConfig,
        now: float,
        *,
        generation: int,
        probe: bool,
        failed: bool,
        slow: bool,
    ) -> BreakerState: ...

    def read(self, name: str, config: BreakerConfig, now: float) -> StoredBreaker: ...

    def reset(self, name: str) -> None: ...


@dataclass
class _Record:
    state: BreakerState = BreakerState.CLOSED
    generation: int = 0
    opened_at: float | None = None
    half_open_at: float = 0.0
    probes: int = 0
    probe_ok: int = 0
    # bucket index -> [calls, failures, slow]
    window: dict[int, list[int]] = field(default_factory=dict)


class InProcessBreakerStore:
    """Breaker state in this process's memory (the default store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}

    def _get(self, name: str) -> _Record:
        return self._records.setdefault(name, _Record())

    @staticmethod
    def _transition(r: _Record, state: BreakerState, now: float) -> None:
        r.state = state
        r.generation += 1
        r.probes = 0
        r.probe_ok = 0
        if state is BreakerState.OPEN:
            r.opened_at = now
        elif state is BreakerState.HALF_OPEN:
            r.half_open_at = now
        else:
            r.opened_at = None
            r.window.clear()

    @staticmethod
    def _totals(r: _Record, config: BreakerConfig, now: float) -> tuple[int, int, int]:
        oldest = math.floor(now / config.bucket_width) - config.window_buckets + 1
        for index in [i for i in r.window if i < oldest]:
            del r.window[index]
        calls = sum(c[0] for c in r.window.values())
        failures = sum(c[1] for c in r.window.values())
        slow = sum(c[2] for c in r.window.values())
        return calls, failures, slow

    def acquire(self, name: str, config: BreakerConfig, now: float) -> Admission:
        with self._lock:
            r = self._get(name)
            if r.state is BreakerState.CLOSED:
                return Admission(True, False, r.generation, r.state)
            if r.state is BreakerState.OPEN:
                until = (r.opened_at or now) + config.open_duration
                if now < until:
                    return Admission(False, False, r.generation, r.state, until - now)
                self._transition(r, BreakerState.HALF_OPEN, now)
            elif (
                r.probes >= config.half_open_max_calls
                and now - r.half_open_at >= config.probe_lease
            ):
                self._transition(r, BreakerState.HALF_OPEN, now)
            if r.probes < config.half_open_max_calls:
                r.probes += 1
                return Admission(True, True, r.generation, r.state)
            return Admission(False, False, r.generation, r.state, config.busy_retry_after)

    def record(
        self,
        name: str,
        config: BreakerConfig,
        now: float,
        *,
        generation: int,
        probe: bool,
        failed: bool,
        slow: bool,
    ) -> BreakerState:
        with self._lock:
            r = self._get(name)
            if generation != r.generation:
                return r.state
            if probe:
                if r.state is BreakerState.HALF_OPEN:
                    if failed or slow:
                        self._transition(r, BreakerState.OPEN, now)
                    else:
                        r.probe_ok += 1
                        if r.probe_ok >= config.half_open_max_calls:
                            self._transition(r, BreakerState.CLOSED, now)
                return r.state
            bucket = r.window.setdefault(math.floor(now / config.bucket_width), [0, 0, 0])
            bucket[0] += 1
            bucket[1] += int(failed)
            bucket[2] += int(slow)
            calls, failures, slow_calls = self._totals(r, config, now)
            if r.state is BreakerState.CLOSED and config.should_trip(calls, failures, slow_calls):
                self._transition(r, BreakerState.OPEN, now)
            return r.state

    def read(self, name: str, config: BreakerConfig, now: float) -> StoredBreaker:
        with self._lock:
            r = self._get(name)
            calls, failures, slow = self._totals(r, config, now)
            return StoredBreaker(r.state, r.generation, r.opened_at, calls, failures, slow)

    def reset(self, name: str) -> None:
        with self._lock:
            self._records.pop(name, None)
