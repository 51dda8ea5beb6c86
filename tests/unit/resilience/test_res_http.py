"""UpstreamClient against a real threaded HTTP server on a local socket."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from res_helpers import metric, unique

from tradestats.market.errors import DataError, UpstreamUnavailable
from tradestats.resilience.breaker import BreakerState, CircuitBreaker
from tradestats.resilience.clock import FakeClock, SystemClock
from tradestats.resilience.deadline import Deadline
from tradestats.resilience.errors import CircuitOpen, RateLimited, UpstreamError, UpstreamNotFound
from tradestats.resilience.http import UpstreamClient, build_session
from tradestats.resilience.ratelimit import TokenBucket
from tradestats.resilience.retry import RetryBudget, RetryPolicy


class FakeUpstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: Counter[str] = Counter()
        self.flaky_failures = 2
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and client timeouts are the point of these tests


class Handler(BaseHTTPRequestHandler):
    server: FakeUpstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        with self.server.lock:
            self.server.hits[path] += 1
            hits = self.server.hits[path]
        if path == "/ok":
            self.reply(200, {"ok": True, "query": self.path.partition("?")[2]})
        elif path == "/fail":
            self.reply(500, {"error": "boom"})
        elif path == "/flaky":
            if hits <= self.server.flaky_failures:
                self.reply(503, {"error": "busy"})
            else:
                self.reply(200, {"ok": hits})
        elif path == "/throttle":
            self.reply(429, {"error": "slow down"}, {"Retry-After": "1"})
        elif path == "/throttle-long":
            self.reply(429, {"error": "slow down"}, {"Retry-After": "120"})
        elif path == "/slow":
            time.sleep(1.0)
            self.reply(200, {"ok": "late"})
        elif path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif path == "/notfound":
            self.reply(404, {"error": "no such ticker"})
        elif path == "/forbidden":
            self.reply(403, {"error": "no"})
        elif path == "/badjson":
            self.reply(200, b"<html>consent page</html>")
        else:
            self.reply(404, {})

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client(upstream: FakeUpstream, clock: Any, **kwargs: Any) -> UpstreamClient:
    name = kwargs.pop("name", unique("up"))
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, base=0.05, cap=0.2))
    kwargs.setdefault("read_timeout", 0.3)
    kwargs.setdefault("connect_timeout", 0.5)
    return UpstreamClient(name, upstream.url, session=build_session(4), clock=clock, **kwargs)


def calls(c: UpstreamClient, outcome: str) -> float:
    return metric("tradestats_upstream_calls_total", upstream=c.name, outcome=outcome)


def retries(c: UpstreamClient) -> float:
    return metric("tradestats_upstream_retries_total", upstream=c.name)


def test_build_session_pools_and_never_retries_in_the_transport() -> None:
    session = build_session(7)
    adapter = session.get_adapter("https://example.com")
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    assert adapter._pool_maxsize == 7  # type: ignore[attr-defined]
    assert adapter.max_retries.total == 0


def test_ok_returns_json_and_counts(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock)
    assert c.get_json("/ok", {"symbol": "AAPL"}) == {"ok": True, "query": "symbol=AAPL"}
    assert calls(c, "ok") == 1
    assert retries(c) == 0


def test_server_errors_are_retried_then_surface_as_unavailable(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    c = client(upstream, clock)
    with pytest.raises(UpstreamUnavailable, match="HTTP 500"):
        c.get_json("/fail")
    assert upstream.hits["/fail"] == 3
    assert calls(c, "error") == 3
    assert retries(c) == 2
    assert len(clock.sleeps) == 2
    assert all(0 <= s <= 0.2 for s in clock.sleeps)


def test_transient_errors_recover(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock)
    assert c.get_json("/flaky") == {"ok": 3}
    assert calls(c, "error") == 2
    assert calls(c, "ok") == 1


def test_429_honours_retry_after_and_counts_ratelimited(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    c = client(upstream, clock)
    with pytest.raises(RateLimited) as info:
        c.get_json("/throttle")
    assert isinstance(info.value, UpstreamUnavailable)
    assert info.value.retry_after == 1.0
    assert clock.sleeps == [1.0, 1.0]
    assert calls(c, "ratelimited") == 3


def test_429_with_a_long_retry_after_is_not_waited_for(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    c = client(upstream, clock, retry=RetryPolicy(retry_after_cap=10.0))
    with pytest.raises(UpstreamUnavailable) as info:
        c.get_json("/throttle-long")
    assert info.value.retry_after == 120.0
    assert upstream.hits["/throttle-long"] == 1
    assert clock.sleeps == []


def test_429_is_a_breaker_failure(upstream: FakeUpstream, clock: FakeClock) -> None:
    breaker = CircuitBreaker(unique("b"), minimum_calls=3, clock=clock)
    c = client(upstream, clock, breaker=breaker, retry=RetryPolicy(max_attempts=1))
    for _ in range(3):
        with pytest.raises(RateLimited):
            c.get_json("/throttle")
    assert breaker.snapshot().state is BreakerState.OPEN


def test_timeouts_are_retried_and_counted(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock, retry=RetryPolicy(max_attempts=2, base=0.01, cap=0.01))
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        c.get_json("/slow")
    assert calls(c, "timeout") == 2
    assert retries(c) == 1


def test_connection_resets_are_retried_and_counted(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    c = client(upstream, clock)
    with pytest.raises(UpstreamUnavailable, match="connection failed"):
        c.get_json("/reset")
    assert upstream.hits["/reset"] == 3
    assert calls(c, "error") == 3


def test_connection_refused_is_unavailable(clock: FakeClock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = UpstreamClient(
        unique("down"), f"http://127.0.0.1:{port}", clock=clock, retry=RetryPolicy(max_attempts=2)
    )
    with pytest.raises(UpstreamUnavailable):
        c.get_json("/x")
    assert calls(c, "error") == 2


def test_404_is_precise_and_not_a_breaker_failure(upstream: FakeUpstream, clock: FakeClock) -> None:
    breaker = CircuitBreaker(unique("b"), minimum_calls=3, clock=clock)
    c = client(upstream, clock, breaker=breaker)
    for _ in range(10):
        with pytest.raises(UpstreamNotFound) as info:
            c.get_json("/notfound")
        assert info.value.status == 404
    assert upstream.hits["/notfound"] == 10  # never retried
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_other_4xx_is_an_upstream_error(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock)
    with pytest.raises(UpstreamError) as info:
        c.get_json("/forbidden")
    assert info.value.status == 403
    assert not isinstance(info.value, UpstreamUnavailable)
    assert upstream.hits["/forbidden"] == 1


def test_invalid_json_is_a_data_error(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock)
    with pytest.raises(DataError):
        c.get_json("/badjson")
    assert upstream.hits["/badjson"] == 1


def test_breaker_opens_and_then_rejects_without_calling(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    breaker = CircuitBreaker(unique("b"), minimum_calls=4, open_duration=15.0, clock=clock)
    c = client(upstream, clock, breaker=breaker, retry=RetryPolicy(max_attempts=2, base=0.01))
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            c.get_json("/fail")
    assert upstream.hits["/fail"] == 4
    assert breaker.snapshot().state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as info:
        c.get_json("/ok")
    assert info.value.retry_after == pytest.approx(15.0, abs=0.1)
    assert upstream.hits["/ok"] == 0
    assert calls(c, "rejected") == 1
    # after open_duration the probe goes through and closes it again
    clock.advance(15.0)
    for _ in range(3):
        assert c.get_json("/ok")["ok"] is True
    assert breaker.snapshot().state is BreakerState.CLOSED


def test_retry_budget_bounds_retries_in_an_outage(upstream: FakeUpstream, clock: FakeClock) -> None:
    budget = RetryBudget(ratio=0.1, min_per_second=0.5, window=10.0, clock=clock)
    c = client(upstream, clock, budget=budget, retry=RetryPolicy(max_attempts=3, base=0, cap=0))
    for _ in range(100):
        with pytest.raises(UpstreamUnavailable):
            c.get_json("/fail")
    assert retries(c) <= 0.1 * 100 + 0.5 * 10
    assert upstream.hits["/fail"] == 100 + retries(c)


def test_local_rate_limit_waits_within_the_deadline(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    limiter = TokenBucket(rate=1.0, burst=1, clock=clock)
    c = client(upstream, clock, limiter=limiter)
    c.get_json("/ok", deadline=Deadline(5.0, clock))
    c.get_json("/ok", deadline=Deadline(5.0, clock))  # waits 1 s on the clock
    assert clock.sleeps == [pytest.approx(1.0)]
    with pytest.raises(RateLimited) as info:
        c.get_json("/ok", deadline=Deadline(0.5, clock))
    assert info.value.retry_after == pytest.approx(1.0)
    assert upstream.hits["/ok"] == 2
    assert calls(c, "rejected") == 1


def test_deadline_caps_total_time_on_a_real_clock(upstream: FakeUpstream) -> None:
    c = client(
        upstream,
        SystemClock(),
        read_timeout=10.0,
        retry=RetryPolicy(max_attempts=5, base=0.01, cap=0.05),
    )
    start = time.monotonic()
    with pytest.raises(UpstreamUnavailable):
        c.get_json("/slow", deadline=Deadline(0.4))
    assert time.monotonic() - start < 0.9
    assert upstream.hits["/slow"] <= 2


def test_expired_deadline_sends_nothing(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock)
    with pytest.raises(UpstreamUnavailable, match="deadline"):
        c.get_json("/ok", deadline=Deadline(0.0, clock))
    assert upstream.hits["/ok"] == 0
