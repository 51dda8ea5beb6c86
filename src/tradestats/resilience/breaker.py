"""A circuit breaker that never serializes the calls it guards.

The state machine (closed → open → half-open → closed/open) lives in a ``BreakerStore``
(``breaker_store``): ``InProcessBreakerStore`` by default, ``RedisBreakerStore`` to share
one breaker across processes and hosts. Locks are held only around bookkeeping inside the
store, never around the wrapped call: ``allow()`` hands out a ``Permit`` and the caller
reports the outcome with ``permit.success(duration)`` / ``permit.failure(duration)``.

Timestamps are wall-clock (``Clock.time()``) because a shared store compares times from
several processes, whose monotonic clocks are unrelated; call durations are monotonic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tradestats.resilience.breaker_store import (
    Admission,
    BreakerConfig,
    BreakerState,
    BreakerStore,
    InProcessBreakerStore,
    StoredBreaker,
)
from tradestats.resilience.clock import SYSTEM_CLOCK, Clock
from tradestats.resilience.errors import CircuitOpen
from tradestats.telemetry.metrics import BREAKER_STATE

__all__ = [
    "Admission",
    "BreakerConfig",
    "BreakerSnapshot",
    "BreakerState",
    "BreakerStore",
    "CircuitBreaker",
    "InProcessBreakerStore",
    "Permit",
    "StoredBreaker",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class BreakerSnapshot:
    """What a breaker looks like now (for health checks and the dashboard)."""

    name: str
    state: BreakerState
    failure_rate: float
    slow_call_rate: float
    calls: int
    opened_at: float | None
    retry_after: float | None


class Permit:
    """Leave to make one call; report its outcome exactly once (later reports are
    ignored). Without a ``duration``, the time since ``allow()`` is used."""

    __slots__ = ("_breaker", "_done", "_lock", "generation", "probe", "started")

    def __init__(self, breaker: CircuitBreaker, generation: int, probe: bool, started: float):
        self._breaker = breaker
        self.generation = generation
        self.probe = probe
        self.started = started
        self._done = False
        self._lock = threading.Lock()

    def _finish(self, failed: bool, duration: float | None) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        if duration is None:
            duration = self._breaker.clock.monotonic() - self.started
        self._breaker._report(self, failed=failed, duration=duration)

    def success(self, duration: float | None = None) -> None:
        self._finish(False, duration)

    def failure(self, duration: float | None = None) -> None:
        self._finish(True, duration)


class CircuitBreaker:
    """Stops calling an upstream that is failing or slow, then probes it back.

    - closed: calls pass; outcomes go into a time-based sliding ``window`` of
      ``window_buckets`` buckets. Once it holds ``minimum_calls`` calls, a failure rate
      ≥ ``failure_rate_threshold`` or a slow-call rate (calls lasting ≥
      ``slow_call_duration`` s) ≥ ``slow_call_threshold`` opens the breaker.
    - open: ``allow()`` raises ``CircuitOpen(retry_after)`` for ``open_duration`` s.
    - half-open: at most ``half_open_max_calls`` probe permits are out at once; when
      that many probes succeed the breaker closes (fresh window); any failed or slow
      probe opens it again.

    Thread-safe without serializing calls: only store bookkeeping is locked.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_rate_threshold: float = 0.5,
        slow_call_threshold: float = 1.0,
        slow_call_duration: float = 5.0,
        window: float = 30.0,
        window_buckets: int = 30,
        minimum_calls: int = 10,
        open_duration: float = 15.0,
        half_open_max_calls: int = 3,
        clock: Clock = SYSTEM_CLOCK,
        store: BreakerStore | None = None,
    ) -> None:
        self.name = name
        self.config = BreakerConfig(
            failure_rate_threshold=failure_rate_threshold,
            slow_call_threshold=slow_call_threshold,
            slow_call_duration=slow_call_duration,
            window=window,
            window_buckets=window_buckets,
            minimum_calls=minimum_calls,
            open_duration=open_duration,
            half_open_max_calls=half_open_max_calls,
        )
        self.clock = clock
        self.store: BreakerStore = store if store is not None else InProcessBreakerStore()
        self._lock = threading.Lock()
        self._observed: BreakerState | None = None

    def allow(self) -> Permit:
        """A permit to call now, or ``CircuitOpen`` (with ``retry_after``) when open or
        when all half-open probe slots are taken."""
        admission = self.store.acquire(self.name, self.config, self.clock.time())
        self._observe(admission.state)
        if not admission.allowed:
            raise CircuitOpen(self.name, admission.retry_after)
        return Permit(self, admission.generation, admission.probe, self.clock.monotonic())

    def call(
        self,
        fn: Callable[[], T],
        *,
        is_failure: Callable[[BaseException], bool] = lambda exc: True,
    ) -> T:
        """Run ``fn`` under a permit; an exception counts as a failure unless
        ``is_failure`` says otherwise. ``CircuitOpen`` when the breaker refuses."""
        permit = self.allow()
        try:
            result = fn()
        except BaseException as exc:
            if is_failure(exc):
                permit.failure()
            else:
                permit.success()
            raise
        permit.success()
        return result

    def _report(self, permit: Permit, *, failed: bool, duration: float) -> None:
        state = self.store.record(
            self.name,
            self.config,
            self.clock.time(),
            generation=permit.generation,
            probe=permit.probe,
            failed=failed,
            slow=duration >= self.config.slow_call_duration,
        )
        self._observe(state)

    def _observe(self, state: BreakerState) -> None:
        with self._lock:
            previous, self._observed = self._observed, state
        if previous is not state:
            BREAKER_STATE.labels(upstream=self.name).set(state.gauge_value)
            if previous is not None:
                level = logging.WARNING if state is BreakerState.OPEN else logging.INFO
                log.log(level, "circuit breaker %s: %s -> %s", self.name, previous, state)

    def snapshot(self) -> BreakerSnapshot:
        now = self.clock.time()
        stored = self.store.read(self.name, self.config, now)
        state, retry_after = stored.state, None
        if state is BreakerState.OPEN:
            until = (stored.opened_at or now) + self.config.open_duration
            if now >= until:
                state = BreakerState.HALF_OPEN  # the next call will probe
            else:
                retry_after = until - now
        self._observe(state)
        calls = stored.calls
        return BreakerSnapshot(
            name=self.name,
            state=state,
            failure_rate=stored.failures / calls if calls else 0.0,
            slow_call_rate=stored.slow / calls if calls else 0.0,
            calls=calls,
            opened_at=stored.opened_at,
            retry_after=retry_after,
        )

    @property
    def state(self) -> BreakerState:
        """The effective state now (an open breaker past ``open_duration`` is half-open)."""
        return self.snapshot().state

    def reset(self) -> None:
        """Forget all state (closed, empty window)."""
        self.store.reset(self.name)
        self._observe(BreakerState.CLOSED)
