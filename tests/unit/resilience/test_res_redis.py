"""Shared state through the machine's real Redis (db 15), and fallback when it is down.

Two instances with their own clients and stores stand for two processes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
import redis
from res_helpers import unique

from tradestats.market.errors import UpstreamUnavailable
from tradestats.resilience.breaker import BreakerState, CircuitBreaker
from tradestats.resilience.breaker_redis import RedisBreakerStore
from tradestats.resilience.cache import TTLCache
from tradestats.resilience.cache_redis import RedisCacheBackend
from tradestats.resilience.clock import FakeClock, SystemClock
from tradestats.resilience.errors import CircuitOpen
from tradestats.resilience.ratelimit import RedisTokenBucket
from tradestats.resilience.redis_support import redis_client

DEAD_REDIS = "redis://127.0.0.1:1/0"

pytestmark = pytest.mark.redis


def process(redis_url: str) -> redis.Redis:
    """A separate client (own connection pool), as another process would have."""
    return redis_client(redis_url)


def breaker_pair(
    redis_url: str, prefix: str, clock: FakeClock, **kwargs: Any
) -> tuple[CircuitBreaker, CircuitBreaker]:
    name = unique("shared")
    return (
        CircuitBreaker(
            name,
            clock=clock,
            store=RedisBreakerStore(process(redis_url), key_prefix=prefix, clock=clock),
            **kwargs,
        ),
        CircuitBreaker(
            name,
            clock=clock,
            store=RedisBreakerStore(process(redis_url), key_prefix=prefix, clock=clock),
            **kwargs,
        ),
    )


def test_breaker_state_is_shared(redis_url: str, redis_prefix: str, clock: FakeClock) -> None:
    a, b = breaker_pair(redis_url, redis_prefix, clock, minimum_calls=4, open_duration=10.0)
    for breaker in (a, b, a, b):
        breaker.allow().failure(0.1)
    assert a.snapshot().state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        b.allow()
    snap = b.snapshot()
    assert snap.calls == 4
    assert snap.failure_rate == 1.0


def test_half_open_probe_slots_are_shared(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    a, b = breaker_pair(
        redis_url, redis_prefix, clock, minimum_calls=2, open_duration=5.0, half_open_max_calls=3
    )
    a.allow().failure(0.1)
    b.allow().failure(0.1)
    clock.advance(5.0)
    probes = [a.allow(), b.allow(), a.allow()]
    with pytest.raises(CircuitOpen):
        b.allow()
    for probe in probes:
        probe.success(0.1)
    assert a.snapshot().state is BreakerState.CLOSED
    assert b.snapshot().state is BreakerState.CLOSED


def test_window_keys_expire(redis_conn: redis.Redis, redis_prefix: str, clock: FakeClock) -> None:
    store = RedisBreakerStore(redis_conn, key_prefix=redis_prefix, clock=clock)
    breaker = CircuitBreaker("ttl", clock=clock, store=store, window=2.0, window_buckets=2)
    breaker.allow().success(0.1)
    ttl_ms = redis_conn.pttl(f"{redis_prefix}breaker:{{ttl}}:window")
    assert 0 < ttl_ms <= 3000


def test_token_bucket_is_shared(redis_url: str, redis_prefix: str, clock: FakeClock) -> None:
    key = unique("quotes")
    a = RedisTokenBucket(
        process(redis_url), key, rate=1.0, burst=5, key_prefix=redis_prefix, clock=clock
    )
    b = RedisTokenBucket(
        process(redis_url), key, rate=1.0, burst=5, key_prefix=redis_prefix, clock=clock
    )
    taken = [a.try_acquire(), b.try_acquire(), a.try_acquire(), b.try_acquire(), a.try_acquire()]
    assert taken == [True] * 5
    assert not a.try_acquire()
    assert not b.try_acquire()
    assert b.wait_time() == pytest.approx(1.0, abs=0.01)
    clock.advance(1.0)
    assert b.try_acquire()
    assert not a.try_acquire()
    assert a.acquire(timeout=2.0)
    assert clock.sleeps == [pytest.approx(1.0, abs=0.01)]


def test_token_bucket_enforces_a_global_rate(redis_url: str, redis_prefix: str) -> None:
    key = unique("global")
    buckets = [
        RedisTokenBucket(
            process(redis_url),
            key,
            rate=20.0,
            burst=2,
            key_prefix=redis_prefix,
            clock=SystemClock(),
        )
        for _ in range(3)
    ]
    count = 0
    lock = threading.Lock()
    stop = time.monotonic() + 0.5

    def worker(bucket: RedisTokenBucket) -> None:
        nonlocal count
        while time.monotonic() < stop:
            if bucket.acquire(timeout=0.1):
                with lock:
                    count += 1

    threads = [threading.Thread(target=worker, args=(b,)) for b in buckets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    # 3 "processes" share one 20/s limit, not 3 x 20/s
    assert 8 <= count <= 2 + 20 * 0.6 + 2


def test_cache_is_shared(redis_url: str, redis_prefix: str, clock: FakeClock) -> None:
    kind = unique("quotes")
    caches = [
        TTLCache[dict[str, float]](
            kind,
            ttl=10.0,
            stale_ttl=60.0,
            clock=clock,
            backend=RedisCacheBackend(process(redis_url), key_prefix=redis_prefix, clock=clock),
        )
        for _ in range(2)
    ]
    calls = 0

    def load() -> dict[str, float]:
        nonlocal calls
        calls += 1
        return {"price": 101.5}

    first = caches[0].get_or_load("AAPL", load)
    second = caches[1].get_or_load("AAPL", load)
    assert calls == 1
    assert second.value == {"price": 101.5}
    assert second.as_of == first.as_of
    assert not second.stale


def test_cache_backend_ttl_is_stale_ttl(
    redis_conn: redis.Redis, redis_prefix: str, clock: FakeClock
) -> None:
    cache = TTLCache[int](
        "ttlkind",
        ttl=1.0,
        stale_ttl=30.0,
        clock=clock,
        backend=RedisCacheBackend(redis_conn, key_prefix=redis_prefix),
    )
    cache.get_or_load("k", lambda: 1)
    ttl_ms = redis_conn.pttl(f"{redis_prefix}cache:ttlkind:k")
    assert 29_000 < ttl_ms <= 30_000


def test_cache_json_codec(redis_url: str, redis_prefix: str, clock: FakeClock) -> None:
    backend = RedisCacheBackend(process(redis_url), key_prefix=redis_prefix, codec="json")
    writer = TTLCache[list[int]]("j", ttl=5, stale_ttl=10, clock=clock, backend=backend)
    writer.get_or_load("k", lambda: [1, 2])
    reader = TTLCache[list[int]]("j", ttl=5, stale_ttl=10, clock=clock, backend=backend)
    assert reader.get_or_load("k", lambda: [9]).value == [1, 2]


def test_single_flight_across_processes(redis_url: str, redis_prefix: str) -> None:
    kind = unique("chain")
    clock = SystemClock()
    caches = [
        TTLCache[str](
            kind,
            ttl=10.0,
            stale_ttl=60.0,
            clock=clock,
            lock_poll=0.02,
            backend=RedisCacheBackend(process(redis_url), key_prefix=redis_prefix),
        )
        for _ in range(2)
    ]
    calls = 0
    lock = threading.Lock()

    def slow_load() -> str:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.3)
        return "chain"

    results: list[str] = []
    start = threading.Barrier(2)

    def worker(cache: TTLCache[str]) -> None:
        start.wait()
        results.append(cache.get_or_load("SPY", slow_load).value)

    threads = [threading.Thread(target=worker, args=(c,)) for c in caches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == ["chain", "chain"]
    assert calls == 1


def test_fallback_to_in_process_when_redis_is_down(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    dead = redis_client(DEAD_REDIS, socket_timeout=0.2)
    store = RedisBreakerStore(dead, clock=clock, fallback_cooldown=0.0)
    breaker = CircuitBreaker(unique("fallback"), minimum_calls=3, clock=clock, store=store)
    with caplog.at_level(logging.WARNING, logger="tradestats.resilience.redis_support"):
        for _ in range(3):
            breaker.allow().failure(0.1)
    assert breaker.snapshot().state is BreakerState.OPEN  # the breaker still works, in-process
    assert store.fallbacks >= 6
    warnings = [r for r in caplog.records if "redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # logged once, counted every time

    bucket = RedisTokenBucket(dead, "q", rate=1.0, burst=2, clock=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]
    assert bucket.fallbacks == 3

    cache = TTLCache[int](
        unique("fb"),
        ttl=10,
        stale_ttl=60,
        clock=clock,
        backend=RedisCacheBackend(dead, clock=clock),
    )
    calls = 0

    def load() -> int:
        nonlocal calls
        calls += 1
        return 7

    assert cache.get_or_load("k", load).value == 7
    assert cache.get_or_load("k", load).value == 7
    assert calls == 1


def test_dead_redis_is_skipped_during_the_cooldown(clock: FakeClock) -> None:
    dead = redis_client(DEAD_REDIS, socket_timeout=0.2)
    store = RedisBreakerStore(dead, clock=clock, fallback_cooldown=5.0)
    breaker = CircuitBreaker(unique("cool"), clock=clock, store=store)
    breaker.allow().success(0.1)
    assert store.guard.degraded
    clock.advance(5.0)
    assert not store.guard.degraded


def test_redis_recovery_goes_back_to_shared_state(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    store = RedisBreakerStore(
        process(redis_url), key_prefix=redis_prefix, clock=clock, fallback_cooldown=1.0
    )
    breaker = CircuitBreaker(unique("recover"), minimum_calls=2, clock=clock, store=store)
    store.guard._down_until = clock.monotonic() + 1.0  # as if Redis had just failed
    breaker.allow().failure(0.1)
    assert store.fallbacks == 2
    clock.advance(1.0)
    breaker.allow().success(0.1)
    assert store.fallbacks == 2
    assert breaker.snapshot().calls == 1  # the Redis window saw only the call after recovery


def test_unreachable_breaker_cache_still_raises_precise_errors(clock: FakeClock) -> None:
    dead = redis_client(DEAD_REDIS, socket_timeout=0.2)
    cache = TTLCache[int](
        unique("fb"), ttl=10, stale_ttl=60, clock=clock, backend=RedisCacheBackend(dead)
    )

    def fail() -> int:
        raise UpstreamUnavailable("down", retry_after=4.0)

    with pytest.raises(UpstreamUnavailable) as info:
        cache.get_or_load("k", fail)
    assert info.value.retry_after == 4.0
