from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

import pytest
from res_helpers import metric, unique

from tradestats.market.errors import DataError, UpstreamUnavailable
from tradestats.resilience.cache import TTLCache
from tradestats.resilience.clock import FakeClock
from tradestats.resilience.errors import CircuitOpen


class InlineExecutor(Executor):
    """Runs "background" work at once, so refresh tests are deterministic."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class Loader:
    def __init__(self, *values: object) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        value = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        if isinstance(value, BaseException):
            raise value
        return value


def cache(clock: FakeClock, **kwargs: Any) -> TTLCache[Any]:
    kwargs.setdefault("background_refresh", False)
    return TTLCache(unique("kind"), ttl=10.0, stale_ttl=60.0, clock=clock, **kwargs)


def counts(c: TTLCache[Any]) -> tuple[float, float, float]:
    return tuple(  # type: ignore[return-value]
        metric("tradestats_cache_requests_total", kind=c.kind, result=r)
        for r in ("hit", "miss", "stale")
    )


def test_hit_within_ttl_and_reload_after(clock: FakeClock) -> None:
    c = cache(clock)
    load = Loader(1, 2)
    first = c.get_or_load("k", load)
    assert (first.value, first.stale, first.as_of) == (1, False, clock.time())
    clock.advance(9.9)
    assert c.get_or_load("k", load).value == 1
    clock.advance(0.1)
    second = c.get_or_load("k", load)
    assert (second.value, second.stale) == (2, False)
    assert load.calls == 2
    assert counts(c) == (1, 2, 0)


def test_single_flight_50_threads_one_loader_call(clock: FakeClock) -> None:
    c = cache(clock)
    calls = 0
    started = threading.Barrier(50)

    def slow_loader() -> str:
        nonlocal calls
        calls += 1
        time.sleep(0.2)
        return "v"

    results: list[Any] = []

    def worker() -> None:
        started.wait()
        results.append(c.get_or_load("AAPL", slow_loader).value)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert calls == 1
    assert results == ["v"] * 50


def test_single_flight_shares_the_failure(clock: FakeClock) -> None:
    c = cache(clock)
    calls = 0
    gate = threading.Event()

    def failing() -> str:
        nonlocal calls
        calls += 1
        gate.wait(5)
        raise UpstreamUnavailable("down", retry_after=7.0)

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            c.get_or_load("k", failing)
        except UpstreamUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(10)
    assert calls == 1
    assert len(errors) == 10
    assert all(getattr(e, "retry_after", None) == 7.0 for e in errors)


def test_waiters_give_up_after_load_timeout(clock: FakeClock) -> None:
    c = cache(clock, load_timeout=0.1)
    release = threading.Event()
    leader = threading.Thread(target=lambda: c.get_or_load("k", lambda: release.wait(5)))
    leader.start()
    time.sleep(0.05)
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        c.get_or_load("k", lambda: "never called")
    release.set()
    leader.join(5)


def test_stale_served_with_as_of_when_the_loader_fails(clock: FakeClock) -> None:
    c = cache(clock)
    loaded_at = clock.time()
    c.get_or_load("k", Loader("good"))
    clock.advance(30.0)
    for error in (UpstreamUnavailable("down"), CircuitOpen("up", 5.0), DataError("bad")):
        result = c.get_or_load("k", Loader(error))
        assert (result.value, result.stale, result.as_of) == ("good", True, loaded_at)
    assert counts(c) == (0, 1, 3)


def test_nothing_cached_reraises_upstream_unavailable_with_retry_after(clock: FakeClock) -> None:
    c = cache(clock)
    with pytest.raises(UpstreamUnavailable) as info:
        c.get_or_load("k", Loader(CircuitOpen("quotes", 12.0)))
    assert info.value.retry_after == 12.0


def test_values_past_stale_ttl_are_never_served(clock: FakeClock) -> None:
    c = cache(clock)
    c.get_or_load("k", Loader("old"))
    clock.advance(60.0)
    with pytest.raises(UpstreamUnavailable):
        c.get_or_load("k", Loader(UpstreamUnavailable("down", retry_after=3.0)))


def test_non_market_errors_propagate_without_stale(clock: FakeClock) -> None:
    c = cache(clock)
    c.get_or_load("k", Loader("good"))
    clock.advance(30.0)
    with pytest.raises(ZeroDivisionError):
        c.get_or_load("k", Loader(ZeroDivisionError()))


def test_stale_while_revalidate_refreshes_in_background_once(clock: FakeClock) -> None:
    c = cache(clock, background_refresh=True, executor=InlineExecutor())
    c.get_or_load("k", Loader("v1"))
    clock.advance(15.0)
    refresh = Loader("v2")
    result = c.get_or_load("k", refresh)
    assert (result.value, result.stale) == ("v1", True)
    assert refresh.calls == 1
    fresh = c.get_or_load("k", refresh)
    assert (fresh.value, fresh.stale) == ("v2", False)
    assert refresh.calls == 1
    # background refreshes are not counted as requests
    assert counts(c) == (1, 1, 1)


def test_only_one_background_refresh_in_flight(clock: FakeClock) -> None:
    c = cache(clock, background_refresh=True)
    c.get_or_load("k", Loader("v1"))
    clock.advance(15.0)
    gate = threading.Event()
    calls = 0

    def slow() -> str:
        nonlocal calls
        calls += 1
        gate.wait(5)
        return "v2"

    for _ in range(20):
        assert c.get_or_load("k", slow).value == "v1"
    gate.set()
    c.close()
    assert calls == 1
    assert c.get_or_load("k", slow).value == "v2"


def test_failed_background_refresh_keeps_the_stale_value(clock: FakeClock) -> None:
    c = cache(clock, background_refresh=True, executor=InlineExecutor())
    c.get_or_load("k", Loader("v1"))
    clock.advance(15.0)
    result = c.get_or_load("k", Loader(UpstreamUnavailable("down")))
    assert (result.value, result.stale) == ("v1", True)
    assert c.peek("k") is not None


def test_lru_bound(clock: FakeClock) -> None:
    c = cache(clock, max_entries=3)
    for key in ("a", "b", "c"):
        c.get_or_load(key, Loader(key))
    c.get_or_load("a", Loader("unused"))  # touch a: b is now least recently used
    c.get_or_load("d", Loader("d"))
    assert len(c) == 3
    assert c.peek("b") is None
    assert c.peek("a") is not None
    assert c.peek("d") is not None


def test_invalid_ttls() -> None:
    with pytest.raises(ValueError):
        TTLCache("x", ttl=10, stale_ttl=5)
