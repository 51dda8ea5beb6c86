"""The yahoo provider through the real resilience stack, against FakeUpstream over real
sockets: retries, Retry-After, timeouts, resets, breaker + stale serving, failover,
single-flight, and breaker state shared through the machine's Redis.

Time is a FakeClock (backoff, Retry-After and TTLs never really sleep); only socket
timeouts take real time (a few hundred milliseconds).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from support.fake_upstream import FakeUpstream
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.market.errors import UnknownTicker, UpstreamUnavailable
from tradestats.market.providers import UpstreamPolicy
from tradestats.market.service import MarketService, build_market_service, market_day
from tradestats.resilience.clock import FakeClock
from tradestats.resilience.redis_support import redis_client
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

REDIS_URL = os.environ.get("TRADESTATS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Generous rate limit (FakeClock sleeps would age the caches), quick socket timeouts,
# a breaker that needs several calls before it judges.
POLICY = UpstreamPolicy(
    rate=1000.0,
    burst=1000.0,
    max_attempts=3,
    backoff_base=0.05,
    backoff_cap=0.2,
    retry_after_cap=5.0,
    minimum_calls=1000,
    open_duration=30.0,
    half_open_max_calls=2,
    connect_timeout=1.0,
    read_timeout=0.3,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def upstream(clock: FakeClock) -> Iterator[FakeUpstream]:
    with FakeUpstream(seed=3, today=market_day(clock)) as up:
        yield up


def yahoo_service(
    up: FakeUpstream,
    clock: FakeClock,
    policy: UpstreamPolicy = POLICY,
    *,
    fallback: bool = False,
    redis_conn: Any | None = None,
    key_prefix: str = "tradestats:",
) -> MarketService:
    settings = Settings.load(
        env={},
        overrides={
            "market_data": "yahoo",
            "market_fallback": "demo" if fallback else "none",
            "yahoo_url": up.url,
            "yahoo_cookie_url": up.cookie_url,
            "nasdaq_url": up.url,
            "request_deadline": 10.0,
        },
    )
    return build_market_service(settings, redis_conn, clock, policy=policy, key_prefix=key_prefix)


def make_app(data_dir: Path, market: MarketService, threads: int = 4) -> Flask:
    settings = Settings.load(
        env={"TRADESTATS_DATA_DIR": str(data_dir)}, overrides={"threads": threads}
    )
    engine = build_engine(settings)
    upgrade(engine)
    return create_app(settings, engine=engine, market=market)


def settle(svc: MarketService, timeout: float = 5.0) -> None:
    """Wait until no background cache refresh is queued or running."""
    end = time.monotonic() + timeout
    while any(cache._refreshing for cache in svc.caches.values()):
        assert time.monotonic() < end, "background refreshes did not finish"
        time.sleep(0.01)


def breaker_states(svc: MarketService) -> dict[str, str]:
    checks = svc.readiness()["upstream:circuitBreaker"]
    return {c["componentId"]: c["observedValue"] for c in checks}


def test_5xx_bursts_are_retried_and_retries_are_bounded(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    svc = yahoo_service(upstream, clock)
    upstream.faults.fail_next(1, status=500).fail_next(1, status=503)
    assert svc.quote("AAPL").value.price > 0
    assert upstream.count("quote", key="AAPL") == 3
    assert 0 < clock.slept <= 2 * POLICY.backoff_cap

    upstream.faults.fail_next(50, status=503)
    with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
        svc.quote("MSFT")
    assert upstream.count("quote", key="MSFT") == POLICY.max_attempts
    svc.close()


def test_retry_budget_caps_extra_traffic_in_an_outage(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    policy = UpstreamPolicy(**{**POLICY.__dict__, "budget_min_per_second": 0.1})
    svc = yahoo_service(upstream, clock, policy)
    upstream.faults.configure(error_rate=1.0, scope=["quote"])
    tickers = [f"T{i}" for i in range(20)]
    for ticker in tickers:
        with pytest.raises(UpstreamUnavailable):
            svc.quote(ticker)
    # 20 calls earn 0.2 * 20 = 4 retries, plus a floor of 0.1/s over 10 s = 1.
    assert 20 < upstream.count("quote") <= 25
    svc.close()


def test_429_retry_after_is_honoured_or_passed_on(
    upstream: FakeUpstream, clock: FakeClock, data_dir: Path
) -> None:
    svc = yahoo_service(upstream, clock)
    upstream.faults.throttle_next(1, retry_after=2)
    assert svc.quote("AAPL").value.price > 0
    assert upstream.count("quote", key="AAPL") == 2
    assert clock.sleeps == [2.0]

    # Longer than the policy will wait: not retried; the client sees 503 + Retry-After.
    upstream.faults.throttle_next(5, retry_after=30)
    resp = make_app(data_dir, svc).test_client().get("/api/options/MSFT/analysis")
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["Retry-After"] == "30"
    assert upstream.count("quote", key="MSFT") == 1
    svc.close()


def test_timeouts_are_retried_then_reported(upstream: FakeUpstream, clock: FakeClock) -> None:
    svc = yahoo_service(upstream, clock)
    upstream.faults.stall_next(1, seconds=3)
    assert svc.quote("AAPL").value.price > 0
    assert upstream.count("quote", key="AAPL", outcome="stall") == 1
    assert upstream.count("quote", key="AAPL") == 2

    upstream.faults.stall_next(3, seconds=3)
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        svc.quote("MSFT")
    assert upstream.count("quote", key="MSFT") == 3
    svc.close()


def test_connection_resets_are_retried(upstream: FakeUpstream, clock: FakeClock) -> None:
    svc = yahoo_service(upstream, clock)
    upstream.faults.reset_next(2)
    assert svc.quote("AAPL").value.price > 0
    assert upstream.count("quote", key="AAPL", outcome="reset") == 2
    assert upstream.count("quote", key="AAPL") == 3
    svc.close()


def test_breaker_opens_ready_warns_stale_served_then_recovers(
    upstream: FakeUpstream, clock: FakeClock, data_dir: Path
) -> None:
    policy = UpstreamPolicy(**{**POLICY.__dict__, "minimum_calls": 4, "max_attempts": 1})
    svc = yahoo_service(upstream, clock, policy)
    client = make_app(data_dir, svc).test_client()

    first = client.get("/api/options/AAPL/analysis")
    assert first.status_code == 200, first.data
    good = json.loads(first.data)
    assert good["source"] == "yahoo" and good["stale"] is False
    assert json.loads(client.get("/api/ready").data)["status"] == "pass"

    upstream.faults.configure(error_rate=1.0)
    clock.advance(120)  # the cached analysis and its inputs are past their ttl
    for ticker in ("MSFT", "NVDA", "AMZN", "META"):
        resp = client.get(f"/api/options/{ticker}/analysis")
        assert resp.status_code == 503 and int(resp.headers["Retry-After"]) >= 1
    assert breaker_states(svc)["yahoo"] == "open"

    ready = client.get("/api/ready")
    assert ready.status_code == 200
    body = json.loads(ready.data)
    assert body["status"] == "warn"
    yahoo = next(
        c for c in body["checks"]["upstream:circuitBreaker"] if c["componentId"] == "yahoo"
    )
    assert yahoo["status"] == "warn" and yahoo["observedValue"] == "open"

    stale = client.get("/api/options/AAPL/analysis")
    assert stale.status_code == 200
    served = json.loads(stale.data)
    assert served["stale"] is True and served["asOf"] == good["asOf"]
    assert served["iv30"] == good["iv30"]

    before = upstream.count("quote", key="GOOG")
    resp = client.get("/api/options/GOOG/analysis")
    assert resp.status_code == 503
    assert 1 <= int(resp.headers["Retry-After"]) <= 30
    assert upstream.count("quote", key="GOOG") == before  # rejected without a call

    # The upstream heals; after open_duration the probes close the breaker. First let
    # the background refreshes started by the stale answer finish (refused: open).
    settle(svc)
    upstream.faults.clear()
    clock.advance(31)
    assert breaker_states(svc)["yahoo"] == "half_open"
    for ticker in ("GOOG", "TSLA"):
        assert client.get(f"/api/market/{ticker}/history").status_code == 200
    assert breaker_states(svc)["yahoo"] == "closed"
    assert json.loads(client.get("/api/ready").data)["status"] == "pass"
    svc.close()


def test_failover_to_demo_when_configured(
    upstream: FakeUpstream, clock: FakeClock, data_dir: Path
) -> None:
    svc = yahoo_service(upstream, clock, fallback=True)
    client = make_app(data_dir, svc).test_client()
    body = json.loads(client.get("/api/options/AAPL/analysis").data)
    assert body["source"] == "yahoo"

    upstream.faults.configure(error_rate=1.0)
    resp = client.get("/api/options/MSFT/analysis")
    assert resp.status_code == 200
    body = json.loads(resp.data)
    assert body["source"] == "demo" and body["stale"] is False
    cal = json.loads(client.get("/api/earnings/calendar").data)
    assert cal["source"] == "demo"

    # An unknown ticker is an answer, not an outage: no failover.
    upstream.faults.clear()
    assert client.get("/api/options/NOSUCH/analysis").status_code == 404
    svc.close()


def test_no_failover_without_fallback(upstream: FakeUpstream, clock: FakeClock) -> None:
    svc = yahoo_service(upstream, clock)
    with pytest.raises(UnknownTicker):
        svc.quote("NOSUCH")
    upstream.faults.configure(error_rate=1.0)
    with pytest.raises(UpstreamUnavailable) as info:
        svc.analysis("AAPL")
    assert info.value.retry_after is not None
    svc.close()


def test_single_flight_50_concurrent_requests_one_upstream_call(
    upstream: FakeUpstream, clock: FakeClock, data_dir: Path
) -> None:
    svc = yahoo_service(upstream, clock)
    # 50 requests at once in one process: size the bulkhead for them (a real worker runs
    # at most `threads` at a time; this test is about single-flight, not shedding).
    app = make_app(data_dir, svc, threads=64)
    upstream.faults.configure(latency=0.1)  # every request overlaps the first load
    barrier = threading.Barrier(50)
    results: list[Any] = [None] * 50

    def call(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        results[i] = client.get("/api/options/AAPL/analysis")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r is not None and r.status_code == 200 for r in results)
    bodies = [json.loads(r.data) for r in results]
    assert len({b["asOf"] for b in bodies}) == 1
    assert upstream.count("quote") == 1
    assert upstream.count("chart") == 1
    assert upstream.count("options") == len(bodies[0]["term_structure"])
    svc.close()


@pytest.fixture
def shared_redis() -> Iterator[tuple[redis.Redis, str]]:
    conn = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        conn.ping()
    except redis.RedisError as exc:
        conn.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL} (CI must start it): {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = f"tradestats-test:{uuid.uuid4().hex}:"
    yield conn, prefix
    keys = list(conn.scan_iter(match=f"{prefix}*"))
    if keys:
        conn.delete(*keys)
    conn.close()


@pytest.mark.redis
def test_breaker_state_and_cache_shared_through_redis(
    upstream: FakeUpstream, clock: FakeClock, shared_redis: tuple[redis.Redis, str]
) -> None:
    _, prefix = shared_redis
    policy = UpstreamPolicy(**{**POLICY.__dict__, "minimum_calls": 4, "max_attempts": 1})
    # Two services with their own Redis clients stand for two processes.
    a = yahoo_service(
        upstream, clock, policy, redis_conn=redis_client(REDIS_URL), key_prefix=prefix
    )
    b = yahoo_service(
        upstream, clock, policy, redis_conn=redis_client(REDIS_URL), key_prefix=prefix
    )

    quote = a.quote("AAPL")
    assert b.quote("AAPL").value == quote.value  # from the shared cache
    assert upstream.count("quote", key="AAPL") == 1

    upstream.faults.configure(error_rate=1.0)
    for ticker in ("T1", "T2", "T3", "T4"):
        with pytest.raises(UpstreamUnavailable):
            a.quote(ticker)
    assert breaker_states(a)["yahoo"] == "open"
    assert breaker_states(b)["yahoo"] == "open"
    with pytest.raises(UpstreamUnavailable) as info:
        b.quote("NEWT")
    assert info.value.retry_after is not None and info.value.retry_after > 1
    assert upstream.count("quote", key="NEWT") == 0  # b's breaker refused it too

    a.close()
    b.close()


def test_ticker_history_and_calendar_through_the_stack(
    upstream: FakeUpstream, clock: FakeClock
) -> None:
    svc = yahoo_service(upstream, clock)
    cal = svc.earnings_calendar(dt.date(2025, 1, 30))
    assert cal.source == "nasdaq" and any(e.ticker == "AAPL" for e in cal.value)
    end = market_day(clock)
    bars = svc.history("AAPL", end - dt.timedelta(days=30), end)
    assert bars.source == "yahoo" and len(bars.value) >= 15
    svc.close()


def test_served_app_reads_yahoo_urls_from_settings_and_fails_over(data_dir: Path) -> None:
    """The real server process, configured only through the environment."""
    from support.servers import ServerProcess
    from tradestats.resilience.clock import SystemClock

    with FakeUpstream(today=market_day(SystemClock())) as up:
        env = {
            "TRADESTATS_MARKET_DATA": "yahoo",
            "TRADESTATS_MARKET_FALLBACK": "demo",
            "TRADESTATS_YAHOO_URL": up.url,
            "TRADESTATS_YAHOO_COOKIE_URL": up.cookie_url,
            "TRADESTATS_NASDAQ_URL": up.url,
            # Shutdown can wait out the whole drain period for an idle keep-alive worker
            # (seen on HEAD too); keep it short here.
            "TRADESTATS_GRACEFUL_TIMEOUT": "3",
        }
        with ServerProcess(data_dir, env=env) as server:
            import requests

            resp = requests.get(server.url + "/api/options/AAPL/analysis", timeout=30)
            assert resp.status_code == 200, resp.text
            assert resp.json()["source"] == "yahoo"
            assert up.count("quote", key="AAPL") >= 1

            up.faults.configure(error_rate=1.0)
            resp = requests.get(server.url + "/api/options/MSFT/analysis", timeout=30)
            assert resp.status_code == 200, resp.text
            assert resp.json()["source"] == "demo"
            ready = requests.get(server.url + "/api/ready", timeout=10).json()
            ids = {c["componentId"] for c in ready["checks"]["upstream:circuitBreaker"]}
            assert ids == {"yahoo", "nasdaq"}


# -- Yahoo's cookie + crumb handshake through build_market_service ----------------------


@pytest.fixture
def crumb_upstream(clock: FakeClock) -> Iterator[FakeUpstream]:
    with FakeUpstream(seed=3, today=market_day(clock), require_crumb=True) as up:
        yield up


def test_crumb_handshake_once_for_many_api_requests(
    crumb_upstream: FakeUpstream, clock: FakeClock, data_dir: Path
) -> None:
    up = crumb_upstream
    svc = yahoo_service(up, clock)
    client = make_app(data_dir, svc).test_client()
    for ticker in ("AAPL", "MSFT"):
        resp = client.get(f"/api/options/{ticker}/analysis")
        assert resp.status_code == 200, resp.data
        assert json.loads(resp.data)["source"] == "yahoo"
    assert up.count("cookie") == 1 and up.count("crumb") == 1
    v7 = [r for r in up.records() if r.route in ("quote", "options")]
    assert v7 and all(r.outcome == "ok" and r.params["crumb"] == up.crumb for r in v7)
    assert all("crumb" not in r.params for r in up.records() if r.route == "chart")
    svc.close()


def test_rotated_crumb_one_refresh_then_success(
    crumb_upstream: FakeUpstream, clock: FakeClock
) -> None:
    up = crumb_upstream
    svc = yahoo_service(up, clock)
    assert svc.quote("AAPL").value.price > 0
    up.rotate_crumb(cookie=True)
    clock.advance(3600)  # the cached quote is gone: the next read goes upstream
    fresh = svc.quote("AAPL")
    assert fresh.value.price > 0 and fresh.stale is False
    assert up.count("quote", key="AAPL", outcome="401") == 1
    assert up.count("quote", key="AAPL", outcome="ok") == 2
    assert up.count("cookie") == 2 and up.count("crumb") == 2
    assert breaker_states(svc)["yahoo"] == "closed"  # a 401 is not an outage of Yahoo
    svc.close()


def test_cookie_endpoint_down_is_503_while_chart_still_works(
    crumb_upstream: FakeUpstream, clock: FakeClock, data_dir: Path
) -> None:
    up = crumb_upstream
    up.faults.configure(scope=["cookie"], error_rate=1.0, error_statuses=[503])
    svc = yahoo_service(up, clock)
    client = make_app(data_dir, svc).test_client()

    resp = client.get("/api/options/AAPL/analysis")
    assert resp.status_code == 503, resp.data
    assert resp.mimetype == "application/problem+json"
    assert int(resp.headers["Retry-After"]) >= 1
    assert up.count("crumb") == 0 and up.count("quote") == 0  # no crumbless v7 call

    history = client.get("/api/market/AAPL/history")
    assert history.status_code == 200, history.data
    assert up.count("chart", outcome="ok") == 1

    up.faults.clear()
    clock.advance(5)  # past the remembered handshake failure
    assert client.get("/api/options/AAPL/analysis").status_code == 200
    assert up.count("cookie", outcome="ok") == 1 and up.count("crumb") == 1
    svc.close()


def test_slow_upstream_does_not_exhaust_server_threads(data_dir: Path) -> None:
    """With every upstream call stalling past its timeout, more concurrent screen
    requests than the server has threads each end within the request deadline (503 with
    Retry-After), and liveness/readiness keep answering meanwhile."""
    import threading
    import time

    import requests

    from support.servers import ServerProcess
    from tradestats.resilience.clock import SystemClock

    with FakeUpstream(today=market_day(SystemClock())) as up:
        env = {
            "TRADESTATS_MARKET_DATA": "yahoo",
            "TRADESTATS_YAHOO_URL": up.url,
            "TRADESTATS_YAHOO_COOKIE_URL": up.cookie_url,
            "TRADESTATS_NASDAQ_URL": up.url,
            "TRADESTATS_REQUEST_DEADLINE": "4",
            "TRADESTATS_TIMEOUT": "30",
            "TRADESTATS_WORKERS": "2",
            "TRADESTATS_THREADS": "4",
            "TRADESTATS_GRACEFUL_TIMEOUT": "3",
        }
        with ServerProcess(data_dir, env=env) as server:
            up.faults.configure(latency=20.0)  # far beyond the client's read timeout
            results: list[tuple[int, float, str | None]] = []
            lock = threading.Lock()

            def screen(ticker: str) -> None:
                started = time.monotonic()
                resp = requests.get(f"{server.url}/api/options/{ticker}/analysis", timeout=60)
                with lock:
                    results.append(
                        (
                            resp.status_code,
                            time.monotonic() - started,
                            resp.headers.get("Retry-After"),
                        )
                    )

            threads = [threading.Thread(target=screen, args=(f"T{i}X",)) for i in range(12)]
            for t in threads:
                t.start()
            time.sleep(1.0)
            health_started = time.monotonic()
            health = requests.get(server.url + "/api/health", timeout=10)
            assert health.status_code == 200
            # Without the bulkhead every thread waits ~4 s on the upstream and liveness
            # queues behind them.
            assert time.monotonic() - health_started < 2
            for t in threads:
                t.join(60)
            assert len(results) == 12
            for status, elapsed, retry_after in results:
                # 503: the upstream timed out at the deadline, or the bulkhead shed the
                # request at once; either way with Retry-After and within the deadline
                # (plus queueing for a thread).
                assert status == 503 and retry_after is not None
                assert elapsed < 10, elapsed
            up.faults.clear()
