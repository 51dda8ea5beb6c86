"""run_scan on the demo market: every ticker accounted for, pre-filter before chains,
cancellation, resume without duplicates, rate limits, failures."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tradestats.config import Settings
from tradestats.jobs import scan as scan_module
from tradestats.jobs.scan import ScanFilters, run_scan
from tradestats.jobs.store import DbScanStore, ScanStore
from tradestats.jobs.store_memory import MemoryScanStore
from tradestats.market.demo import DemoMarket
from tradestats.market.errors import NoOptions, UpstreamUnavailable
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote
from tradestats.resilience.ratelimit import TokenBucket
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

TODAY = dt.date(2025, 3, 3)
SCAN_DAY = dt.date(2025, 3, 7)  # 15 reports in the seed-7 demo: all three verdicts


class CountingMarket:
    """Delegates to a market and logs every call as (method, ticker)."""

    def __init__(self, market: Any, fail: dict[tuple[str, str], Exception] | None = None):
        self.market = market
        self.source = market.source
        self.today = market.today
        self.calls: list[tuple[str, str]] = []
        self.fail = fail or {}
        self.lock = threading.Lock()
        self.before: dict[str, Any] = {}

    def _log(self, method: str, ticker: str) -> None:
        with self.lock:
            self.calls.append((method, ticker))
        hook = self.before.get(method)
        if hook is not None:
            hook(ticker)
        exc = self.fail.get((method, ticker))
        if exc is not None:
            raise exc

    def quote(self, ticker: str) -> Quote:
        self._log("quote", ticker)
        return self.market.quote(ticker)  # type: ignore[no-any-return]

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        self._log("history", ticker)
        return self.market.history(ticker, start, end)  # type: ignore[no-any-return]

    def expirations(self, ticker: str) -> list[dt.date]:
        self._log("expirations", ticker)
        return self.market.expirations(ticker)  # type: ignore[no-any-return]

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        self._log("chain", ticker)
        return self.market.chain(ticker, expiry)  # type: ignore[no-any-return]

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        self._log("earnings_calendar", day.isoformat())
        return self.market.earnings_calendar(day)  # type: ignore[no-any-return]

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        self._log("earnings_dates", ticker)
        return self.market.earnings_dates(ticker)  # type: ignore[no-any-return]


@pytest.fixture
def demo() -> DemoMarket:
    return DemoMarket(seed=7, today=TODAY)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ScanStore:
    if request.param == "memory":
        return MemoryScanStore()
    settings = Settings.load(
        env={"TRADESTATS_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/t.db"}
    )
    engine = build_engine(settings)
    upgrade(engine)
    return DbScanStore(engine)


def new_job(store: ScanStore, job_id: str = "a" * 32) -> str:
    store.create(job_id, {"date": SCAN_DAY.isoformat(), "filters": {}})
    return job_id


def test_scan_accounts_for_every_ticker_with_a_mix_of_verdicts(
    demo: DemoMarket, store: ScanStore
) -> None:
    calendar = {e.ticker for e in demo.earnings_calendar(SCAN_DAY)}
    broken = sorted(calendar)[:2]
    market = CountingMarket(
        demo,
        fail={
            ("expirations", broken[0]): NoOptions(broken[0]),
            ("quote", broken[1]): UpstreamUnavailable("HTTP 503"),
        },
    )
    job = new_job(store)
    assert run_scan(job, SCAN_DAY, ScanFilters(), market, store, concurrency=3) == "done"

    snap = store.get(job)
    assert snap is not None and snap.status == "done"
    by_ticker = {o["ticker"]: o for o in snap.outcomes}
    assert set(by_ticker) == calendar and len(snap.outcomes) == len(calendar)
    for o in snap.outcomes:
        assert o["outcome"] in ("result", "filtered", "no_data", "error")
        assert (o["analysis"] is not None) == (o["outcome"] == "result")
        assert o["outcome"] == "result" or o["reason"]
    assert by_ticker[broken[0]]["outcome"] == "no_data"
    assert by_ticker[broken[1]]["outcome"] == "error"
    assert "503" in by_ticker[broken[1]]["reason"]
    verdicts = Counter(o["analysis"]["verdict"] for o in snap.outcomes if o["analysis"])
    assert set(verdicts) == {"Recommended", "Consider", "Avoid"}
    p = snap.progress
    assert p["total"] == p["done"] == len(calendar)
    assert p["done"] == p["analyzed"] + p["filtered_out"] + p["no_data"] + p["errors"]
    assert p["filtered_out"] >= 1 and p["no_data"] == 1 and p["errors"] == 1

    events = store.events_after(job, 0)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "done" and sum(e.terminal for e in events) == 1
    assert sum(e.type == "result" for e in events) == p["analyzed"]
    assert events[-1].data["progress"] == p


def test_prefilter_runs_before_any_chain_is_fetched(demo: DemoMarket) -> None:
    market = CountingMarket(demo)
    store = MemoryScanStore()
    job = new_job(store)
    run_scan(job, SCAN_DAY, ScanFilters(), market, store, concurrency=4)
    snap = store.get(job)
    assert snap is not None
    filtered = {o["ticker"] for o in snap.outcomes if o["outcome"] == "filtered"}
    analyzed = {o["ticker"] for o in snap.outcomes if o["outcome"] == "result"}
    assert filtered and analyzed
    chain_calls = Counter(t for m, t in market.calls if m in ("chain", "expirations"))
    assert not filtered & set(chain_calls), "filtered tickers must never fetch options"
    for ticker in analyzed:
        calls = [m for m, t in market.calls if t == ticker]
        assert calls.index("expirations") > calls.index("quote")
        assert calls.index("expirations") > calls.index("history")
    # A stricter filter fetches fewer chains.
    strict = CountingMarket(DemoMarket(seed=7, today=TODAY))
    job2 = new_job(store, "b" * 32)
    run_scan(job2, SCAN_DAY, ScanFilters(min_avg_volume=1e12), strict, store)
    assert not [c for c in strict.calls if c[0] in ("chain", "expirations")]
    snap2 = store.get(job2)
    assert snap2 is not None and snap2.progress["filtered_out"] == snap2.progress["total"]


def test_filters_limit_and_tickers(demo: DemoMarket) -> None:
    calendar = [e.ticker for e in demo.earnings_calendar(SCAN_DAY)]
    store = MemoryScanStore()
    job = new_job(store)
    run_scan(job, SCAN_DAY, ScanFilters(limit=3), demo, store)
    snap = store.get(job)
    assert snap is not None and sorted(snap.tickers()) == sorted(calendar[:3])
    job2 = new_job(store, "c" * 32)
    run_scan(job2, SCAN_DAY, ScanFilters(tickers=(calendar[5], "NOPE")), demo, store)
    snap2 = store.get(job2)
    assert snap2 is not None and snap2.tickers() == [calendar[5]]


def test_cancel_stops_between_tickers(
    demo: DemoMarket, store: ScanStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_module, "CANCEL_POLL", 0.0)
    market = CountingMarket(demo)
    job = new_job(store)
    seen: set[str] = set()

    def cancel_on_third(ticker: str) -> None:
        if ticker in seen:
            return
        seen.add(ticker)
        if len(seen) == 3:
            assert store.request_cancel(job) == "cancelling"

    market.before["quote"] = cancel_on_third
    assert run_scan(job, SCAN_DAY, ScanFilters(), market, store, concurrency=1) == "cancelled"
    snap = store.get(job)
    assert snap is not None and snap.status == "cancelled"
    assert 3 <= snap.progress["done"] < snap.progress["total"]
    # Nothing was started after the cancel was seen (the ticker in flight finished).
    assert len({t for m, t in market.calls if m == "quote"}) == snap.progress["done"]
    events = store.events_after(job, 0)
    assert events[-1].type == "cancelled"
    # Finished jobs stay finished: no further writes, cancel again is a no-op.
    assert store.finish(job, "done") is None
    assert store.request_cancel(job) == "cancelled"


def test_cancel_before_start_never_runs(demo: DemoMarket, store: ScanStore) -> None:
    job = new_job(store)
    assert store.request_cancel(job) == "cancelled"
    market = CountingMarket(demo)
    assert run_scan(job, SCAN_DAY, ScanFilters(), market, store) == "skipped"
    assert market.calls == []
    assert [e.type for e in store.events_after(job, 0)] == ["cancelled"]


def test_rerun_resumes_without_duplicates(demo: DemoMarket, store: ScanStore) -> None:
    """A retried job (its worker died mid-scan) skips the tickers already recorded."""
    job = new_job(store)
    calendar = [e.ticker for e in demo.earnings_calendar(SCAN_DAY)]
    store.start(job)
    first = {"ticker": calendar[0], "outcome": "filtered", "reason": "x", "analysis": None}
    store.record(job, first, {"total": len(calendar), "done": 1, "filtered_out": 1})
    assert store.record(job, first, {"total": len(calendar), "done": 2}) is None  # dedupe
    market = CountingMarket(demo)
    assert run_scan(job, SCAN_DAY, ScanFilters(), market, store) == "done"
    snap = store.get(job)
    assert snap is not None
    assert sorted(snap.tickers()) == sorted(calendar)
    assert snap.progress["done"] == len(calendar)
    assert ("quote", calendar[0]) not in market.calls
    ids = [e.id for e in store.events_after(job, 0)]
    assert ids == list(range(1, len(ids) + 1))


def test_rate_limiter_bounds_concurrency_and_gates_every_request(demo: DemoMarket) -> None:
    class CountingBucket(TokenBucket):
        taken = 0

        def acquire(self, timeout: float) -> bool:
            ok = super().acquire(timeout)
            CountingBucket.taken += ok
            return ok

    limiter = CountingBucket(rate=10_000, burst=2)
    market = CountingMarket(demo)
    in_flight: list[int] = [0, 0]
    lock = threading.Lock()

    def enter(_ticker: str) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])

    def leave(_ticker: str) -> None:
        with lock:
            in_flight[0] -= 1

    market.before["quote"] = enter
    market.before["history"] = leave  # every ticker's first two calls
    store = MemoryScanStore()
    job = new_job(store)
    assert run_scan(job, SCAN_DAY, ScanFilters(), market, store, limiter, 8) == "done"
    assert CountingBucket.taken == len(market.calls)
    assert in_flight[1] <= 2


def test_rate_limit_exhausted_is_an_error_per_ticker(
    demo: DemoMarket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_module, "RATE_LIMIT_WAIT", 0.0)
    limiter = TokenBucket(rate=0.001, burst=3)
    store = MemoryScanStore()
    job = new_job(store)
    run_scan(job, SCAN_DAY, ScanFilters(), demo, store, limiter)
    snap = store.get(job)
    assert snap is not None and snap.status == "done"
    assert snap.progress["errors"] >= 1
    assert all("rate limit" in o["reason"] for o in snap.outcomes if o["outcome"] == "error")


def test_calendar_failure_fails_the_scan(demo: DemoMarket, store: ScanStore) -> None:
    market = CountingMarket(
        demo, fail={("earnings_calendar", SCAN_DAY.isoformat()): UpstreamUnavailable("down")}
    )
    job = new_job(store)
    assert run_scan(job, SCAN_DAY, ScanFilters(), market, store) == "failed"
    snap = store.get(job)
    assert snap is not None and snap.status == "failed" and "down" in (snap.error or "")
    events = store.events_after(job, 0)
    assert events[-1].type == "error" and events[-1].data["error"] == snap.error
