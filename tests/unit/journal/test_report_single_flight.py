"""Concurrent requests for one report share one computation (journal.reports)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tradestats.journal.reports import _SingleFlight


def test_concurrent_callers_share_one_computation_and_its_failure() -> None:
    flights = _SingleFlight()
    started, release = threading.Event(), threading.Event()
    calls = []

    def compute() -> int:
        calls.append(1)
        started.set()
        release.wait(5)
        return 42

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(flights.do, "k", compute)
        assert started.wait(5)
        others = [pool.submit(flights.do, "k", compute) for _ in range(3)]
        waiting = flights._calls["k"]._condition._waiters  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while len(waiting) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # until all three wait on the leader's result
        release.set()
        assert [f.result(5) for f in (first, *others)] == [42] * 4
    assert len(calls) == 1

    def fail() -> int:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        flights.do("k", fail)
    assert flights.do("k", lambda: 7) == 7  # a finished key computes again
