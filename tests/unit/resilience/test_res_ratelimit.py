from __future__ import annotations

import threading
import time

import pytest

from tradestats.resilience.clock import FakeClock, SystemClock
from tradestats.resilience.ratelimit import TokenBucket


def test_burst_then_refill_at_rate(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=10.0, burst=5, clock=clock)
    assert [bucket.try_acquire() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.wait_time() == pytest.approx(0.1)
    clock.advance(0.1)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.advance(100.0)  # refill never exceeds the burst
    assert sum(bucket.try_acquire() for _ in range(10)) == 5


def test_acquire_waits_on_the_clock_within_timeout(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=2.0, burst=1, clock=clock)
    assert bucket.acquire(timeout=0)
    assert bucket.acquire(timeout=1.0)
    assert clock.sleeps == [pytest.approx(0.5)]


def test_acquire_gives_up_without_sleeping_when_the_token_is_too_far(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.try_acquire()
    assert not bucket.acquire(timeout=0.5)
    assert clock.sleeps == []


def test_sustained_rate_over_time(clock: FakeClock) -> None:
    bucket = TokenBucket(rate=5.0, burst=3, clock=clock)
    start = clock.monotonic()
    acquired = 0
    while clock.monotonic() - start < 10.0:
        assert bucket.acquire(timeout=1.0)
        acquired += 1
    # burst + rate * elapsed
    assert 3 + 5 * 10 - 1 <= acquired <= 3 + 5 * 10 + 1


def test_rate_holds_across_threads_on_a_real_clock() -> None:
    bucket = TokenBucket(rate=40.0, burst=2, clock=SystemClock())
    count = 0
    lock = threading.Lock()
    stop = time.monotonic() + 0.5

    def worker() -> None:
        nonlocal count
        while time.monotonic() < stop:
            if bucket.try_acquire():
                with lock:
                    count += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count <= 2 + 40 * 0.5 + 3


def test_invalid_bucket() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)
