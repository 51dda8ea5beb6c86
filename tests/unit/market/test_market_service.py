"""MarketService over in-memory providers: caching, staleness, failover, single-flight,
deadlines, readiness and wiring from settings. Time is a FakeClock throughout."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tradestats.config import Settings
from tradestats.market.demo import DemoMarket
from tradestats.market.errors import DataError, NoOptions, UnknownTicker, UpstreamUnavailable
from tradestats.market.providers import Provider, request_deadline
from tradestats.market.service import (
    CacheTtl,
    MarketService,
    NoCalendarSpread,
    UnlistedExpiry,
    build_market_service,
)
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote
from tradestats.market.yahoo_auth import YahooSession
from tradestats.resilience.breaker import CircuitBreaker
from tradestats.resilience.clock import FakeClock
from tradestats.resilience.deadline import Deadline
from tradestats.resilience.http import UpstreamClient

TODAY = dt.date(2025, 3, 3)  # a Monday


class ScriptedMarket:
    """DemoMarket data with call counting, an outage switch and an optional gate."""

    def __init__(self, source: str = "primary") -> None:
        self.source = source
        self.demo = DemoMarket(today=TODAY)
        self.calls: Counter[str] = Counter()
        self.error: Exception | None = None
        self.gate: threading.Event | None = None
        self.deadlines: list[Deadline | None] = []
        self._lock = threading.Lock()

    def _call(self, name: str, fn: Callable[[], Any]) -> Any:
        with self._lock:
            self.calls[name] += 1
        from tradestats.market import providers

        self.deadlines.append(providers._DEADLINE.get())
        if self.gate is not None:
            assert self.gate.wait(5)
        if self.error is not None:
            raise self.error
        return fn()

    def quote(self, ticker: str) -> Quote:
        return self._call("quote", lambda: self.demo.quote(ticker))  # type: ignore[no-any-return]

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        return self._call("history", lambda: self.demo.history(ticker, start, end))  # type: ignore[no-any-return]

    def expirations(self, ticker: str) -> list[dt.date]:
        return self._call("expirations", lambda: self.demo.expirations(ticker))  # type: ignore[no-any-return]

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        return self._call("chain", lambda: self.demo.chain(ticker, expiry))  # type: ignore[no-any-return]

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        return self._call("calendar", lambda: self.demo.earnings_calendar(day))  # type: ignore[no-any-return]

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        return self._call("earnings", lambda: self.demo.earnings_dates(ticker))  # type: ignore[no-any-return]


def service(
    *markets: ScriptedMarket, clock: FakeClock, breakers: tuple[CircuitBreaker, ...] = ()
) -> MarketService:
    providers = []
    for m in markets:
        p = Provider(m.source, m, f"{m.source}-calendar")
        providers.append(p)
    svc = MarketService(providers, clock=clock, deadline=5.0, today=lambda: TODAY)
    if breakers:
        client = UpstreamClient("x", "http://127.0.0.1:9", breaker=breakers[0], clock=clock)
        svc.providers[0].clients = (client,)
    return svc


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.005)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_quote_is_cached_for_its_ttl_then_revalidated(clock: FakeClock) -> None:
    m = ScriptedMarket()
    svc = service(m, clock=clock)
    first = svc.quote("aapl")
    assert first.source == "primary" and not first.stale
    assert first.as_of == dt.datetime.fromtimestamp(clock.time(), dt.UTC)
    clock.advance(10)
    assert svc.quote("AAPL").value == first.value
    assert m.calls["quote"] == 1
    clock.advance(10)  # past the 15 s ttl: stale at once, refreshed behind
    again = svc.quote("AAPL")
    assert again.stale and again.as_of == first.as_of
    wait_for(lambda: m.calls["quote"] == 2)
    wait_for(lambda: not svc.quote("AAPL").stale)
    svc.close()


def test_outage_serves_last_good_value_stale_with_its_as_of(clock: FakeClock) -> None:
    m = ScriptedMarket()
    svc = service(m, clock=clock)
    good = svc.analysis("AAPL")
    assert good["stale"] is False and good["source"] == "primary"
    m.error = UpstreamUnavailable("down", retry_after=7)
    clock.advance(600)  # every input and the analysis are past their ttl
    stale = svc.analysis("AAPL")
    assert stale["stale"] is True
    assert stale["asOf"] == good["asOf"]
    assert stale["verdict"] == good["verdict"]
    # A ticker never loaded: nothing to serve, the outage's Retry-After is kept.
    with pytest.raises(UpstreamUnavailable) as info:
        svc.analysis("MSFT")
    assert info.value.retry_after == 7
    svc.close()


def test_outage_without_hint_suggests_a_retry_after(clock: FakeClock) -> None:
    m = ScriptedMarket()
    m.error = UpstreamUnavailable("down")
    with pytest.raises(UpstreamUnavailable) as info:
        service(m, clock=clock).quote("AAPL")
    assert info.value.retry_after is not None and info.value.retry_after >= 1


def test_open_breaker_sets_retry_after_and_readiness_warns(clock: FakeClock) -> None:
    breaker = CircuitBreaker("yahoo", minimum_calls=2, open_duration=30, clock=clock)
    m = ScriptedMarket()
    svc = service(m, clock=clock, breakers=(breaker,))
    ready = svc.readiness()["upstream:circuitBreaker"]
    assert ready[0]["status"] == "pass" and ready[0]["observedValue"] == "closed"
    for _ in range(2):
        breaker.allow().failure()
    clock.advance(10)
    check = svc.readiness()["upstream:circuitBreaker"][0]
    assert check == {
        "componentId": "yahoo",
        "componentType": "component",
        "status": "warn",
        "observedValue": "open",
        "time": check["time"],
        "output": "open; next probe in 20.0s",
    }
    m.error = UpstreamUnavailable("circuit open")
    with pytest.raises(UpstreamUnavailable) as info:
        svc.quote("AAPL")
    assert info.value.retry_after == pytest.approx(20)
    clock.advance(25)
    assert svc.readiness()["upstream:circuitBreaker"][0]["observedValue"] == "half_open"


def test_failover_on_outage_only(clock: FakeClock) -> None:
    primary, fallback = ScriptedMarket("yahoo"), ScriptedMarket("demo")
    svc = service(primary, fallback, clock=clock)
    primary.error = UpstreamUnavailable("down")
    result = svc.quote("AAPL")
    assert result.source == "demo" and not result.stale
    assert svc.earnings_calendar(TODAY).source == "demo-calendar"
    assert svc.analysis("AAPL")["source"] == "demo"
    # Answers are not outages: no failover.
    for error in (UnknownTicker("ZZZ"), NoOptions("ZZZ"), DataError("bad")):
        primary.error = error
        with pytest.raises(type(error)):
            svc.quote("ZZZ")
        assert fallback.calls["quote"] == 1


def test_primary_stale_value_beats_fallback(clock: FakeClock) -> None:
    primary, fallback = ScriptedMarket("yahoo"), ScriptedMarket("demo")
    svc = service(primary, fallback, clock=clock)
    svc.quote("AAPL")
    primary.error = UpstreamUnavailable("down")
    clock.advance(60)
    result = svc.quote("AAPL")
    assert result.source == "yahoo" and result.stale
    assert fallback.calls["quote"] == 0


def test_single_flight_50_concurrent_requests_one_load(clock: FakeClock) -> None:
    m = ScriptedMarket()
    m.gate = threading.Event()
    svc = service(m, clock=clock)
    with ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(svc.analysis, "AAPL") for _ in range(50)]
        wait_for(lambda: m.calls["quote"] == 1)
        time.sleep(0.05)  # let every caller join the flight
        m.gate.set()
        results = [f.result(timeout=10) for f in futures]
    assert len({r["asOf"] for r in results}) == 1
    assert m.calls["quote"] == 1 and m.calls["history"] == 1 and m.calls["expirations"] == 1
    assert m.calls["chain"] == len(results[0]["term_structure"])


def test_every_provider_call_runs_under_the_request_deadline(clock: FakeClock) -> None:
    m = ScriptedMarket()
    svc = service(m, clock=clock)
    svc.analysis("AAPL")
    assert m.deadlines and all(d is not None for d in m.deadlines)
    assert len({id(d) for d in m.deadlines}) == 1  # one budget for the whole request
    assert m.deadlines[0] is not None and m.deadlines[0].seconds == 5.0
    with request_deadline(1.0, clock) as outer, request_deadline(9.0, clock) as inner:
        assert inner is outer


def test_chain_defaults_to_nearest_and_rejects_unlisted(clock: FakeClock) -> None:
    svc = service(ScriptedMarket(), clock=clock)
    listed = svc.expirations("AAPL").value
    assert svc.chain("AAPL").value.expiry == listed[0]
    assert svc.chain("AAPL", listed[3]).value.expiry == listed[3]
    with pytest.raises(UnlistedExpiry) as info:
        svc.chain("AAPL", dt.date(2001, 1, 5))
    assert info.value.listed == tuple(listed)


def test_calendar_spread_uses_next_earnings(clock: FakeClock) -> None:
    m = ScriptedMarket()
    svc = service(m, clock=clock)
    events = [e for e in m.demo.earnings_dates("AAPL") if e.date >= TODAY]
    ticket = svc.calendar_spread("AAPL").value
    assert ticket.earnings_date == events[0].date and ticket.timing == events[0].timing
    assert ticket.spread.front_expiry >= ticket.earnings_date
    with pytest.raises(NoCalendarSpread):
        svc.calendar_spread("AAPL", TODAY + dt.timedelta(days=5000), "AMC")


def test_earnings_history_measures_past_moves(clock: FakeClock) -> None:
    svc = service(ScriptedMarket(), clock=clock)
    history = svc.earnings_history("AAPL").value
    assert history.summary.count >= 3
    assert all(m.event.date <= TODAY for m in history.moves)
    assert all(e.date > TODAY for e in history.upcoming)


def test_custom_ttls(clock: FakeClock) -> None:
    m = ScriptedMarket()
    svc = MarketService(
        [Provider("p", m, "p")],
        clock=clock,
        ttls={"quote": CacheTtl(1.0, 2.0)},
        today=lambda: TODAY,
    )
    svc.quote("AAPL")
    clock.advance(3)  # past stale_ttl: loaded again, inline
    assert not svc.quote("AAPL").stale
    assert m.calls["quote"] == 2


def test_build_from_settings() -> None:
    demo = build_market_service(Settings.load(env={}))
    assert [p.name for p in demo.providers] == ["demo"]
    assert demo.readiness() == {}
    assert demo.analysis("AAPL")["source"] == "demo"
    demo.close()

    settings = Settings.load(
        env={
            "TRADESTATS_MARKET_DATA": "yahoo",
            "TRADESTATS_MARKET_FALLBACK": "demo",
            "TRADESTATS_THREADS": "32",
            "TRADESTATS_YAHOO_URL": "http://127.0.0.1:9/y",
            "TRADESTATS_NASDAQ_URL": "http://127.0.0.1:9/n",
            "TRADESTATS_YAHOO_COOKIE_URL": "http://127.0.0.1:9/cookie",
            "TRADESTATS_REQUEST_DEADLINE": "3",
        }
    )
    svc = build_market_service(settings)
    assert [p.name for p in svc.providers] == ["yahoo", "demo"]
    yahoo = svc.providers[0]
    assert [c.base_url for c in yahoo.clients] == ["http://127.0.0.1:9/y", "http://127.0.0.1:9/n"]
    for client in yahoo.clients:
        adapter: Any = client.session.get_adapter("http://127.0.0.1:9/")
        assert adapter._pool_maxsize >= settings.threads
        assert client.breaker is not None and client.limiter is not None
        assert client.budget is not None and client.default_deadline == 3
    # v7 calls carry the crumb of a handshake over the yahoo client's own session.
    market: Any = yahoo.market
    auth = market._crumb.__self__
    assert isinstance(auth, YahooSession) and market._crumb_rejected == auth.invalidate
    assert auth.client is yahoo.clients[0] and auth.client.session is yahoo.clients[0].session
    assert auth.cookie_url == "http://127.0.0.1:9/cookie"
    assert svc.deadline == 3
    svc.close()


def test_settings_validate_urls_and_fallback() -> None:
    from tradestats.config import ConfigError

    with pytest.raises(ConfigError, match="TRADESTATS_YAHOO_URL"):
        Settings.load(env={"TRADESTATS_YAHOO_URL": "query1.finance.yahoo.com"})
    with pytest.raises(ConfigError, match="TRADESTATS_NASDAQ_URL"):
        Settings.load(env={"TRADESTATS_NASDAQ_URL": "https://api.nasdaq.com?x=1"})
    with pytest.raises(ConfigError, match="TRADESTATS_MARKET_FALLBACK"):
        Settings.load(env={"TRADESTATS_MARKET_FALLBACK": "yahoo"})
    for bad in ("fc.yahoo.com", "ftp://fc.yahoo.com/", "https:///x", "https://fc.yahoo.com/#a"):
        with pytest.raises(ConfigError, match="TRADESTATS_YAHOO_COOKIE_URL"):
            Settings.load(env={"TRADESTATS_YAHOO_COOKIE_URL": bad})
    s = Settings.load(env={"TRADESTATS_YAHOO_URL": "", "TRADESTATS_YAHOO_COOKIE_URL": ""})
    assert s.yahoo_url == "https://query1.finance.yahoo.com"
    assert s.yahoo_cookie_url == "https://fc.yahoo.com/"
    s = Settings.load(env={"TRADESTATS_YAHOO_COOKIE_URL": "https://finance.yahoo.com/?x=1"})
    assert s.yahoo_cookie_url == "https://finance.yahoo.com/?x=1"
    assert s.market_fallback == "none"
