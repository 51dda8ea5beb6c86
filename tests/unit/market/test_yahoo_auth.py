"""YahooSession (cookie + crumb handshake) and YahooMarket's use of it, over a plain
UpstreamClient (no breaker, limiter or budget) against FakeUpstream(require_crumb=True)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest

from support.fake_upstream import FakeUpstream
from tradestats.market.errors import UpstreamUnavailable
from tradestats.market.yahoo import YahooMarket
from tradestats.market.yahoo_auth import YahooSession
from tradestats.resilience.clock import FakeClock
from tradestats.resilience.http import UpstreamClient
from tradestats.resilience.retry import RetryPolicy

TODAY = dt.date(2025, 3, 3)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(today=TODAY, require_crumb=True) as up:
        yield up


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client(up: FakeUpstream, clock: FakeClock) -> UpstreamClient:
    return UpstreamClient(
        "yahoo",
        up.url,
        retry=RetryPolicy(max_attempts=2, base=0.01, cap=0.01),
        clock=clock,
        connect_timeout=1.0,
        read_timeout=2.0,
    )


def market_of(auth: YahooSession) -> YahooMarket:
    return YahooMarket(auth.client, auth.client, crumb=auth.crumb, crumb_rejected=auth.invalidate)


def test_v7_is_refused_without_the_handshake(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock)
    with pytest.raises(UpstreamUnavailable, match="rejected the crumb"):
        YahooMarket(c, c, crumb=lambda: "made-up").quote("AAPL")
    assert upstream.count("quote", outcome="401") == 1


def test_one_handshake_serves_many_requests(upstream: FakeUpstream, clock: FakeClock) -> None:
    auth = YahooSession(client(upstream, clock), upstream.cookie_url)
    market = market_of(auth)
    for ticker in ("AAPL", "MSFT", "NVDA"):
        assert market.quote(ticker).price > 0
    assert market.expirations("QQQ")
    assert upstream.count("cookie") == 1 and upstream.count("crumb") == 1
    assert auth.handshakes == 1 and auth.current == upstream.crumb
    v7 = [r for r in upstream.records() if r.route in ("quote", "options")]
    assert len(v7) == 4 and all(r.params["crumb"] == upstream.crumb for r in v7)
    assert all(r.outcome == "ok" for r in v7)  # the '/' in the crumb survived encoding


def test_concurrent_first_requests_share_one_handshake(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    auth = YahooSession(client(upstream, clock), upstream.cookie_url)
    market = market_of(auth)
    upstream.faults.configure(scope=["cookie"]).stall_next(1, seconds=0.3)
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def call(i: int) -> None:
        barrier.wait()
        try:
            market.quote(f"T{i}")
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert auth.handshakes == 1
    assert upstream.count("cookie") == 1 and upstream.count("crumb") == 1
    assert upstream.count("quote", outcome="ok") == 12


def test_rotated_crumb_is_renewed_once_and_the_call_succeeds(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    auth = YahooSession(client(upstream, clock), upstream.cookie_url)
    market = market_of(auth)
    market.quote("AAPL")
    old = upstream.crumb
    new = upstream.rotate_crumb(cookie=True)
    assert new != old
    assert market.quote("MSFT").price > 0
    assert upstream.count("quote", key="MSFT", outcome="401") == 1
    assert upstream.count("quote", key="MSFT", outcome="ok") == 1
    assert upstream.count("cookie") == 2 and upstream.count("crumb") == 2
    assert auth.current == new
    market.quote("NVDA")
    assert upstream.count("crumb") == 2


def test_concurrent_rejections_cause_one_refresh(upstream: FakeUpstream, clock: FakeClock) -> None:
    auth = YahooSession(client(upstream, clock), upstream.cookie_url)
    market = market_of(auth)
    market.quote("AAPL")
    upstream.rotate_crumb()
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []

    def call(i: int) -> None:
        barrier.wait()
        try:
            market.quote(f"T{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert auth.handshakes == 2
    assert upstream.count("crumb") == 2


def test_a_crumb_rejected_twice_is_an_outage(upstream: FakeUpstream, clock: FakeClock) -> None:
    c = client(upstream, clock)
    rejected: list[str] = []
    market = YahooMarket(c, c, crumb=lambda: "always-stale", crumb_rejected=rejected.append)
    with pytest.raises(UpstreamUnavailable, match="rejected the crumb"):
        market.expirations("AAPL")
    assert rejected == ["always-stale"]
    assert upstream.count("options", outcome="401") == 2


def test_cookie_endpoint_down_is_unavailable_and_remembered_briefly(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    auth = YahooSession(client(upstream, clock), upstream.cookie_url, failure_ttl=5.0)
    market = market_of(auth)
    upstream.faults.configure(scope=["cookie"]).fail_next(1, status=503)
    with pytest.raises(UpstreamUnavailable, match=r"cookie endpoint .* HTTP 503"):
        market.quote("AAPL")
    with pytest.raises(UpstreamUnavailable) as info:  # within failure_ttl: no new attempt
        market.quote("AAPL")
    assert info.value.retry_after is not None and info.value.retry_after >= 1
    assert upstream.count("cookie") == 1 and upstream.count("quote") == 0
    clock.advance(6)
    assert market.quote("AAPL").price > 0
    assert upstream.count("cookie") == 2 and upstream.count("crumb") == 1


def test_unreachable_cookie_endpoint(upstream: FakeUpstream, clock: FakeClock) -> None:
    auth = YahooSession(client(upstream, clock), "http://127.0.0.1:9/")
    with pytest.raises(UpstreamUnavailable, match=r"cookie endpoint .* failed"):
        auth.crumb()
    assert upstream.count("crumb") == 0


def test_no_cookie_means_no_crumb(upstream: FakeUpstream, clock: FakeClock) -> None:
    auth = YahooSession(client(upstream, clock), f"{upstream.url}/no-cookie-here")
    with pytest.raises(UpstreamUnavailable, match=r"no crumb: .*HTTP 401"):
        auth.crumb()
    assert auth.current is None


def test_a_body_that_is_not_a_crumb_is_unavailable(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    # The earnings route answers JSON with 200: not a crumb.
    auth = YahooSession(
        client(upstream, clock), upstream.cookie_url, crumb_path="/api/calendar/earnings"
    )
    with pytest.raises(UpstreamUnavailable, match="no usable crumb"):
        auth.crumb()


def test_chart_needs_no_crumb(upstream: FakeUpstream, clock: FakeClock) -> None:
    auth = YahooSession(client(upstream, clock), "http://127.0.0.1:9/")
    market = market_of(auth)
    bars = market.history("AAPL", TODAY - dt.timedelta(days=14), TODAY)
    assert bars
    assert upstream.count("cookie") == 0 and upstream.count("crumb") == 0
    assert all("crumb" not in r.params for r in upstream.records())


def test_no_handshake_while_the_breaker_is_open(upstream: FakeUpstream, clock: FakeClock) -> None:
    """A breaker opened by another process (same store: Redis in production) stops the
    cookie GET too, which does not go through the client's pipeline."""
    from tradestats.resilience.breaker import CircuitBreaker
    from tradestats.resilience.breaker_store import InProcessBreakerStore
    from tradestats.resilience.errors import CircuitOpen

    shared = InProcessBreakerStore()

    def breaker() -> CircuitBreaker:
        return CircuitBreaker(
            "yahoo", minimum_calls=1, open_duration=15.0, clock=clock, store=shared
        )

    breaker().allow().failure()  # the other process's failure opens the shared breaker
    c = UpstreamClient(
        "yahoo",
        upstream.url,
        retry=RetryPolicy(max_attempts=1, base=0.01, cap=0.01),
        breaker=breaker(),
        clock=clock,
        connect_timeout=1.0,
        read_timeout=2.0,
    )
    auth = YahooSession(c, upstream.cookie_url)
    with pytest.raises(CircuitOpen) as info:
        market_of(auth).quote("AAPL")
    assert info.value.retry_after is not None and info.value.retry_after > 1
    assert upstream.count() == 0

    clock.advance(16)  # half-open: the handshake and a probe may go out
    assert market_of(auth).quote("AAPL").price > 0
    assert upstream.count("cookie") == 1 and upstream.count("crumb") == 1
