from __future__ import annotations

import email.utils
import random

import pytest

from tradestats.market.errors import UpstreamUnavailable
from tradestats.resilience.clock import FakeClock
from tradestats.resilience.deadline import Deadline
from tradestats.resilience.retry import RetryBudget, RetryPolicy, parse_retry_after


def test_fake_clock_sleep_advances_both_clocks() -> None:
    clock = FakeClock(start=10.0, wall_start=5000.0)
    clock.sleep(1.5)
    clock.advance(0.5)
    assert clock.monotonic() == 12.0
    assert clock.time() == 5002.0
    assert clock.sleeps == [1.5]
    with pytest.raises(ValueError):
        clock.sleep(-1)


def test_deadline_remaining_expired_and_attempt_timeout(clock: FakeClock) -> None:
    deadline = Deadline(2.0, clock)
    assert deadline.remaining() == 2.0
    assert deadline.timeout(10.0) == 2.0
    assert deadline.timeout(0.5) == 0.5
    clock.advance(1.5)
    assert deadline.timeout(10.0) == pytest.approx(0.5)
    assert not deadline.expired
    clock.advance(1.0)
    assert deadline.remaining() == 0.0
    assert deadline.expired
    assert Deadline.never(clock).timeout(3.0) == 3.0


def test_backoff_is_full_jitter_within_capped_exponential_bounds() -> None:
    policy = RetryPolicy(base=0.2, cap=5.0, rng=random.Random(42))
    for n in range(12):
        ceiling = min(5.0, 0.2 * 2**n)
        samples = [policy.backoff(n) for _ in range(300)]
        assert all(0.0 <= s <= ceiling for s in samples)
        # full jitter: spread over the whole range, not clustered at the ceiling
        assert min(samples) < 0.1 * ceiling
        assert max(samples) > 0.9 * ceiling
    # huge attempt numbers do not overflow
    assert 0.0 <= policy.backoff(10_000) <= 5.0


def test_backoff_is_deterministic_with_a_seeded_rng() -> None:
    a = RetryPolicy(rng=random.Random(7))
    b = RetryPolicy(rng=random.Random(7))
    assert [a.backoff(i) for i in range(5)] == [b.backoff(i) for i in range(5)]


def test_next_delay_stops_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, rng=random.Random(1))
    assert policy.next_delay(1) is not None
    assert policy.next_delay(2) is not None
    assert policy.next_delay(3) is None


def test_retry_after_is_honoured_but_capped() -> None:
    policy = RetryPolicy(retry_after_cap=10.0)
    assert policy.next_delay(1, retry_after=2.5) == 2.5
    assert policy.next_delay(1, retry_after=10.0) == 10.0
    # longer than we are willing to wait: give up now and let the caller report it
    assert policy.next_delay(1, retry_after=60.0) is None


def test_never_sleeps_past_the_deadline(clock: FakeClock) -> None:
    policy = RetryPolicy(base=10.0, cap=10.0, rng=random.Random(3))
    deadline = Deadline(1.0, clock)
    assert policy.next_delay(1, retry_after=0.5, deadline=deadline) == 0.5
    assert policy.next_delay(1, retry_after=1.0, deadline=deadline) is None
    for _ in range(50):
        delay = policy.next_delay(1, deadline=deadline)
        assert delay is None or delay < 1.0


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("5", now) == 5.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("-3", now) == 0.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("inf", now) is None


def test_call_retries_retryable_errors_until_success(clock: FakeClock) -> None:
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise UpstreamUnavailable("down")
        return "ok"

    policy = RetryPolicy(max_attempts=3, rng=random.Random(0))
    seen: list[int] = []
    result = policy.call(
        flaky,
        idempotent=True,
        retry_if=lambda e: isinstance(e, UpstreamUnavailable),
        clock=clock,
        on_retry=lambda n, exc, delay: seen.append(n),
    )
    assert result == "ok"
    assert len(attempts) == 3
    assert seen == [1, 2]
    assert len(clock.sleeps) == 2


def test_call_never_retries_non_idempotent_or_unlisted_errors(clock: FakeClock) -> None:
    calls = []

    def fail() -> None:
        calls.append(1)
        raise UpstreamUnavailable("down")

    policy = RetryPolicy(max_attempts=5)
    with pytest.raises(UpstreamUnavailable):
        policy.call(fail, idempotent=False, retry_if=lambda e: True, clock=clock)
    assert len(calls) == 1
    with pytest.raises(UpstreamUnavailable):
        policy.call(fail, idempotent=True, retry_if=lambda e: False, clock=clock)
    assert len(calls) == 2


def test_call_uses_retry_after_from_the_exception(clock: FakeClock) -> None:
    def throttled() -> None:
        raise UpstreamUnavailable("429", retry_after=1.25)

    policy = RetryPolicy(max_attempts=2)
    with pytest.raises(UpstreamUnavailable):
        policy.call(throttled, idempotent=True, retry_if=lambda e: True, clock=clock)
    assert clock.sleeps == [1.25]


def test_call_total_sleep_stays_within_the_deadline(clock: FakeClock) -> None:
    def fail() -> None:
        raise UpstreamUnavailable("down")

    policy = RetryPolicy(max_attempts=100, base=0.3, cap=0.3, rng=random.Random(5))
    deadline = Deadline(2.0, clock)
    with pytest.raises(UpstreamUnavailable):
        policy.call(fail, idempotent=True, retry_if=lambda e: True, deadline=deadline, clock=clock)
    assert clock.slept < 2.0
    assert len(clock.sleeps) >= 3


def test_budget_caps_retries_under_a_full_outage(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=3.0, window=10.0, clock=clock)
    policy = RetryPolicy(max_attempts=3, base=0.0, cap=0.0)
    attempts = 0

    def fail() -> None:
        nonlocal attempts
        attempts += 1
        raise UpstreamUnavailable("down")

    for _ in range(1000):
        with pytest.raises(UpstreamUnavailable):
            policy.call(fail, idempotent=True, retry_if=lambda e: True, budget=budget, clock=clock)
    retries = attempts - 1000
    # without the budget: 2000 retries; with it: 20% of calls + the 3/s floor over 10 s
    assert retries <= 0.2 * 1000 + 3.0 * 10.0
    assert retries >= 0.2 * 1000  # the budget is spent, not hoarded


def test_budget_refills_as_the_window_slides(clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.0, min_per_second=1.0, window=5.0, clock=clock)
    spent = sum(budget.try_spend() for _ in range(20))
    assert spent == 5
    assert budget.available() == 0
    clock.advance(5.0)
    assert budget.try_spend()


def test_budget_allows_ratio_of_calls() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, window=10.0, clock=clock)
    for _ in range(10):
        budget.record_call()
    assert sum(budget.try_spend() for _ in range(20)) == 5
