"""Circuit breaker state machine, run against both stores (in-process and Redis)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import redis
from res_helpers import metric, unique

from tradestats.resilience.breaker import (
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    InProcessBreakerStore,
)
from tradestats.resilience.breaker_redis import RedisBreakerStore
from tradestats.resilience.clock import FakeClock, SystemClock
from tradestats.resilience.errors import CircuitOpen

MakeBreaker = Callable[..., CircuitBreaker]


@pytest.fixture(params=["memory", "redis"])
def make_breaker(request: pytest.FixtureRequest, clock: FakeClock) -> MakeBreaker:
    """Builds breakers with a unique name on the parametrized store."""
    store: BreakerStore
    if request.param == "memory":
        store = InProcessBreakerStore()
    else:
        conn: redis.Redis = request.getfixturevalue("redis_conn")
        prefix: str = request.getfixturevalue("redis_prefix")
        store = RedisBreakerStore(conn, key_prefix=prefix, clock=clock)

    def make(**kwargs: object) -> CircuitBreaker:
        kwargs.setdefault("clock", clock)
        return CircuitBreaker(unique("up"), store=store, **kwargs)  # type: ignore[arg-type]

    return make


def run(breaker: CircuitBreaker, ok: int = 0, failed: int = 0, duration: float = 0.01) -> None:
    for _ in range(ok):
        breaker.allow().success(duration)
    for _ in range(failed):
        breaker.allow().failure(duration)


def gauge(breaker: CircuitBreaker) -> float:
    return metric("tradestats_circuit_breaker_state", upstream=breaker.name)


def test_stays_closed_until_minimum_calls(make_breaker: MakeBreaker) -> None:
    breaker = make_breaker(minimum_calls=10)
    run(breaker, failed=9)
    assert breaker.snapshot().state is BreakerState.CLOSED
    run(breaker, failed=1)
    assert breaker.snapshot().state is BreakerState.OPEN
    assert gauge(breaker) == 2


def test_opens_only_at_the_failure_rate_threshold(make_breaker: MakeBreaker) -> None:
    breaker = make_breaker(minimum_calls=10, failure_rate_threshold=0.5)
    run(breaker, ok=6, failed=4)
    assert breaker.snapshot().state is BreakerState.CLOSED
    snap = breaker.snapshot()
    assert snap.calls == 10
    assert snap.failure_rate == pytest.approx(0.4)
    run(breaker, failed=2)  # 6 of 12 = 50%
    assert breaker.snapshot().state is BreakerState.OPEN


def test_old_failures_slide_out_of_the_window(make_breaker: MakeBreaker, clock: FakeClock) -> None:
    breaker = make_breaker(minimum_calls=10, window=30.0)
    run(breaker, failed=9)
    clock.advance(31.0)
    run(breaker, ok=9, failed=1)
    snap = breaker.snapshot()
    assert snap.state is BreakerState.CLOSED
    assert snap.calls == 10
    assert snap.failure_rate == pytest.approx(0.1)


def test_slow_call_rate_opens_it(make_breaker: MakeBreaker) -> None:
    breaker = make_breaker(minimum_calls=10, slow_call_threshold=0.5, slow_call_duration=1.0)
    run(breaker, ok=5, duration=0.1)
    run(breaker, ok=4, duration=2.0)
    assert breaker.snapshot().state is BreakerState.CLOSED
    run(breaker, ok=1, duration=2.0)  # 5 of 10 slow
    snap = breaker.snapshot()
    assert snap.state is BreakerState.OPEN
    assert snap.slow_call_rate == pytest.approx(0.5)
    assert snap.failure_rate == 0.0


def test_open_rejects_with_retry_after(make_breaker: MakeBreaker, clock: FakeClock) -> None:
    breaker = make_breaker(minimum_calls=2, open_duration=15.0)
    run(breaker, failed=2)
    clock.advance(5.0)
    with pytest.raises(CircuitOpen) as info:
        breaker.allow()
    assert info.value.retry_after == pytest.approx(10.0)
    snap = breaker.snapshot()
    assert snap.opened_at == pytest.approx(clock.time() - 5.0)
    assert snap.retry_after == pytest.approx(10.0)


def test_half_open_allows_only_n_probes_then_closes(
    make_breaker: MakeBreaker, clock: FakeClock
) -> None:
    breaker = make_breaker(minimum_calls=2, open_duration=15.0, half_open_max_calls=3)
    run(breaker, failed=2)
    clock.advance(15.0)
    assert breaker.snapshot().state is BreakerState.HALF_OPEN
    probes = [breaker.allow() for _ in range(3)]
    assert gauge(breaker) == 1
    with pytest.raises(CircuitOpen):
        breaker.allow()
    probes[0].success(0.1)
    probes[1].success(0.1)
    assert breaker.snapshot().state is BreakerState.HALF_OPEN
    with pytest.raises(CircuitOpen):  # slots are per half-open period, not refilled
        breaker.allow()
    probes[2].success(0.1)
    snap = breaker.snapshot()
    assert snap.state is BreakerState.CLOSED
    assert snap.calls == 0  # a fresh window after closing
    assert gauge(breaker) == 0
    run(breaker, ok=1)


def test_a_failed_probe_reopens(make_breaker: MakeBreaker, clock: FakeClock) -> None:
    breaker = make_breaker(minimum_calls=2, open_duration=10.0, half_open_max_calls=2)
    run(breaker, failed=2)
    clock.advance(10.0)
    first, second = breaker.allow(), breaker.allow()
    first.success(0.1)
    second.failure(0.1)
    assert breaker.snapshot().state is BreakerState.OPEN
    assert gauge(breaker) == 2
    with pytest.raises(CircuitOpen) as info:
        breaker.allow()
    assert info.value.retry_after == pytest.approx(10.0)


def test_a_slow_probe_counts_as_failed(make_breaker: MakeBreaker, clock: FakeClock) -> None:
    breaker = make_breaker(minimum_calls=2, open_duration=1.0, slow_call_duration=2.0)
    run(breaker, failed=2)
    clock.advance(1.0)
    breaker.allow().success(3.0)
    assert breaker.snapshot().state is BreakerState.OPEN


def test_results_from_an_earlier_period_are_ignored(
    make_breaker: MakeBreaker, clock: FakeClock
) -> None:
    breaker = make_breaker(minimum_calls=2, open_duration=1.0, half_open_max_calls=1)
    late = breaker.allow()  # issued while closed, reported after the breaker moved on
    run(breaker, failed=2)
    clock.advance(1.0)
    probe = breaker.allow()
    late.failure(0.1)
    assert breaker.snapshot().state is BreakerState.HALF_OPEN
    probe.success(0.1)
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_abandoned_probe_slots_are_reissued_after_the_lease(
    make_breaker: MakeBreaker, clock: FakeClock
) -> None:
    breaker = make_breaker(
        minimum_calls=2, open_duration=10.0, half_open_max_calls=1, slow_call_duration=1.0
    )
    run(breaker, failed=2)
    clock.advance(10.0)
    breaker.allow()  # never reported
    with pytest.raises(CircuitOpen):
        breaker.allow()
    clock.advance(breaker.config.probe_lease)
    breaker.allow().success(0.1)
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_permit_reports_once(make_breaker: MakeBreaker) -> None:
    breaker = make_breaker(minimum_calls=2)
    permit = breaker.allow()
    permit.failure(0.1)
    permit.failure(0.1)
    permit.success(0.1)
    assert breaker.snapshot().calls == 1


def test_call_counts_exceptions_as_failures(make_breaker: MakeBreaker) -> None:
    breaker = make_breaker(minimum_calls=3)
    assert breaker.call(lambda: 42) == 42

    def boom() -> None:
        raise RuntimeError("boom")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            breaker.call(boom)
    assert breaker.snapshot().state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: 1)


def test_call_can_exempt_exceptions(make_breaker: MakeBreaker) -> None:
    breaker = make_breaker(minimum_calls=2)

    def not_found() -> None:
        raise KeyError("x")

    for _ in range(3):
        with pytest.raises(KeyError):
            breaker.call(not_found, is_failure=lambda e: not isinstance(e, KeyError))
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_reset_closes(make_breaker: MakeBreaker) -> None:
    breaker = make_breaker(minimum_calls=2)
    run(breaker, failed=2)
    breaker.reset()
    assert breaker.snapshot().state is BreakerState.CLOSED
    assert gauge(breaker) == 0


def test_no_lock_is_held_during_the_call() -> None:
    """Two threads are inside the wrapped call at the same time (pybreaker would block)."""
    breaker = CircuitBreaker(unique("concurrent"), clock=SystemClock())
    both_inside = threading.Barrier(2, timeout=5)
    results: list[str] = []

    def call() -> str:
        both_inside.wait()  # BrokenBarrierError if calls were serialized
        return "ok"

    threads = [
        threading.Thread(target=lambda: results.append(breaker.call(call))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["ok", "ok"]


def test_concurrent_probes_limited_across_threads(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        unique("probes"), minimum_calls=2, open_duration=1.0, half_open_max_calls=3, clock=clock
    )
    run(breaker, failed=2)
    clock.advance(1.0)
    admitted: list[object] = []
    rejected: list[object] = []
    start = threading.Barrier(20)

    def attempt() -> None:
        start.wait()
        try:
            admitted.append(breaker.allow())
        except CircuitOpen as exc:
            rejected.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(admitted) == 3
    assert len(rejected) == 17


def test_invalid_config_is_rejected() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("x", failure_rate_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker("x", minimum_calls=0)
