"""Earnings-screener benchmark: scan speed, cached analysis latency, upstream politeness
and behaviour under upstream faults. Every figure is printed with its target, verdict and
the baseline it is compared against, measured side by side in this one run.

1. **Scan 500 tickers on ``demo`` <= 10 s.** The demo calendar has ~5-8 names per day, so
   the benchmark gives ``run_scan`` a demo market whose calendar lists the whole 500-name
   universe (each name's next announcement); everything else is the stock ``DemoMarket``
   behind a stock ``MarketService`` (caches, deadline), read through ``ServiceMarketData``
   as ``tradestats scan`` does. Filters ``min_price=0, min_avg_volume=0`` send every name
   to the full analysis (names without options end ``no_data``). Each run starts on a
   fresh market (nothing generated or cached). Figure: wall time of ``run_scan`` at the
   default concurrency (4). Baseline: the same scan with concurrency 1.
2. **Cached ``GET /api/options/<T>/analysis`` p50 <= 5 ms.** ``tradestats serve --demo``
   (gunicorn, 2 workers) as a subprocess; one keep-alive ``requests.Session``. Baseline:
   the first (uncached) request of each ticker on that session. Then the cache of every
   worker is warmed (each ticker requested over fresh connections too), and >= 1000
   sequential requests round-robin over the tickers are timed client side
   (``perf_counter`` around ``session.get``, client overhead included).
3. **Fake upstream limited to 5 req/s: scan sustains >= 4.5 req/s with zero 429s.**
   ``FakeUpstream`` (tests/support) with ``faults.rate_limit(5)`` (bucket 5/s, burst 5)
   on the Yahoo routes; the earnings calendar (Nasdaq route) is served by the same fake
   outside the limit. ``build_market_service`` with ``market_data=yahoo``, both base URLs
   pointed at the fake through ``Settings`` and ``TRADESTATS_UPSTREAM_RATE=5``,
   ``TRADESTATS_UPSTREAM_BURST=4``. The calendar is a synthetic Nasdaq body with enough
   names for the scan to last >= 20 s. Figure: Yahoo requests received by the fake /
   (last arrival - first arrival), and the fake's count of 429 answers.
4. **Upstream failing 30% of calls: every ticker accounted for, upstream calls <= 1.25x
   fault-free.** Baseline: run 3 (same scan, same limits, no faults). Faulty run: a fresh
   service and fake with ``faults.configure(error_rate=0.3)`` (500/503, seeded) on the
   Yahoo routes, plus the same 5 req/s limit. Prints both request counts (every request
   the fake received, retries included), the ratio and the per-outcome ticker counts.
   "stale" counts analysed tickers for which any input came back stale from the cache.

Usage: python bench/screener.py [--quick] [--json out.json]
Exit status: 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tests/support: FakeUpstream, ServerProcess

from support.fake_upstream import FakeUpstream  # noqa: E402
from support.servers import ServerProcess  # noqa: E402
from tradestats.config import Settings  # noqa: E402
from tradestats.jobs.market import ServiceMarketData  # noqa: E402
from tradestats.jobs.scan import DEFAULT_CONCURRENCY, ScanFilters, run_scan  # noqa: E402
from tradestats.jobs.store import ScanSnapshot  # noqa: E402
from tradestats.jobs.store_memory import MemoryScanStore  # noqa: E402
from tradestats.market.demo import DemoMarket  # noqa: E402
from tradestats.market.demo_universe import universe  # noqa: E402
from tradestats.market.errors import NoOptions  # noqa: E402
from tradestats.market.providers import Provider  # noqa: E402
from tradestats.market.service import MarketService, build_market_service  # noqa: E402
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote  # noqa: E402
from tradestats.telemetry.metrics import UPSTREAM_CALLS, UPSTREAM_RETRIES  # noqa: E402

YAHOO_ROUTES = ("quote", "chart", "options")
EVERYONE = ScanFilters(min_price=0.0, min_avg_volume=0.0)
DEMO_DAY = dt.date(2025, 3, 3)  # a Monday; fixed so every run scans the same market


@dataclass
class Check:
    name: str
    figure: str
    target: str
    baseline: str
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def header(text: str) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n== {text}  [load average {load}; {os.cpu_count()} cores]", flush=True)


# -- 1. 500-ticker scan on demo -----------------------------------------------------------


class UniverseCalendarDemo(DemoMarket):
    """``DemoMarket`` whose calendar of any day lists every name of its universe, each
    with its next announcement (on or after that day)."""

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        horizon = day + dt.timedelta(days=100)  # > one 91-day cycle + jitter
        return [self._events(self._profile(t), day, horizon)[0] for t in self.tickers]


def demo_scan(concurrency: int, size: int) -> tuple[float, ScanSnapshot]:
    market = UniverseCalendarDemo(seed=7, today=DEMO_DAY, size=size)
    service = MarketService([Provider("demo", market, "demo")], today=lambda: DEMO_DAY)
    store = MemoryScanStore()
    job = uuid.uuid4().hex
    store.create(job, {"date": DEMO_DAY.isoformat(), "filters": EVERYONE.to_dict()})
    start = time.perf_counter()
    status = run_scan(
        job,
        DEMO_DAY,
        EVERYONE,
        ServiceMarketData(service),
        store,
        concurrency=concurrency,
        today=DEMO_DAY,
    )
    seconds = time.perf_counter() - start
    service.close()
    snapshot = store.get(job)
    assert snapshot is not None and status == "done", (status, snapshot and snapshot.error)
    return seconds, snapshot


def bench_demo_scan(size: int, repeats: int) -> Check:
    header(f"1. {size}-ticker scan on demo (target <= 10 s)")
    runs: dict[int, list[float]] = {DEFAULT_CONCURRENCY: [], 1: []}
    progress: dict[str, int] = {}
    for _ in range(repeats):  # interleaved, so both see the same machine load
        for conc in runs:
            seconds, snap = demo_scan(conc, size)
            runs[conc].append(seconds)
            progress = snap.progress
            print(f"   concurrency {conc}: {seconds:6.2f} s  {snap.progress}", flush=True)
    best = {c: min(v) for c, v in runs.items()}
    median = {c: statistics.median(v) for c, v in runs.items()}
    fig = median[DEFAULT_CONCURRENCY]
    ok = fig <= 10.0 and progress.get("done") == size
    print(
        f"   scan (concurrency {DEFAULT_CONCURRENCY}): median {fig:.2f} s, best "
        f"{best[DEFAULT_CONCURRENCY]:.2f} s over {repeats} runs "
        f"({size / fig:.0f} tickers/s)\n"
        f"   baseline (concurrency 1): median {median[1]:.2f} s -> ratio "
        f"{fig / median[1]:.2f}x of baseline time\n"
        f"   target <= 10 s: {fig / 10.0:.2f}x of budget -> {verdict(ok)}"
    )
    return Check(
        "demo_scan_500",
        f"{fig:.2f} s",
        "<= 10 s",
        f"concurrency 1: {median[1]:.2f} s",
        ok,
        {"tickers": size, "runs_s": {str(k): v for k, v in runs.items()}, "progress": progress},
    )


# -- 2. cached analysis latency -----------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def bench_analysis_latency(n_requests: int, n_tickers: int) -> Check:
    header(f"2. cached GET /api/options/<T>/analysis, {n_requests} requests (p50 <= 5 ms)")
    demo = DemoMarket(seed=7, size=500)
    tickers: list[str] = []
    for t in demo.tickers:
        try:
            demo.expirations(t)
        except NoOptions:
            continue  # the endpoint answers 404
        tickers.append(t)
        if len(tickers) == n_tickers:
            break
    with tempfile.TemporaryDirectory(prefix="bench-screener-") as tmp:
        server = ServerProcess(Path(tmp), "--demo", env={"TRADESTATS_LOG_LEVEL": "WARNING"})
        server.start(timeout=60)
        try:
            url = server.url + "/api/options/{}/analysis"
            session = requests.Session()
            cold: list[float] = []
            for t in tickers:
                t0 = time.perf_counter()
                r = session.get(url.format(t), timeout=30)
                cold.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            # Warm every worker: new connections land on whichever worker accepts.
            for _ in range(6):
                with requests.Session() as fresh:
                    for t in tickers:
                        fresh.get(url.format(t), timeout=30).raise_for_status()
            for t in tickers:  # and re-touch on the measuring connection
                session.get(url.format(t), timeout=30).raise_for_status()
            warm: list[float] = []
            bad = Counter[int]()
            stale = 0
            for i in range(n_requests):
                t = tickers[i % len(tickers)]
                t0 = time.perf_counter()
                r = session.get(url.format(t), timeout=30)
                warm.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    bad[r.status_code] += 1
                elif r.json().get("stale"):
                    stale += 1
            session.close()
        finally:
            server.stop()
    p50, p95, p99 = (pct(warm, q) for q in (50, 95, 99))
    c50 = statistics.median(cold)
    ok = p50 <= 5.0 and not bad
    print(
        f"   uncached (first request of each of {len(tickers)} tickers): median {c50:.1f} ms, "
        f"min {min(cold):.1f}, max {max(cold):.1f} ms (first includes building the market)\n"
        f"   cached ({n_requests} keep-alive requests): p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
        f"p99 {p99:.2f} ms, max {max(warm):.2f} ms; non-200: {dict(bad) or 0}; "
        f"stale: {stale}\n"
        f"   cached p50 / uncached median: {p50 / c50:.3f} ({c50 / p50:.0f}x faster)\n"
        f"   target p50 <= 5 ms: {p50 / 5.0:.2f}x of budget -> {verdict(ok)}"
    )
    return Check(
        "analysis_cached_p50",
        f"p50 {p50:.2f} ms (p95 {p95:.2f}, p99 {p99:.2f})",
        "p50 <= 5 ms",
        f"uncached median {c50:.1f} ms",
        ok,
        {
            "tickers": len(tickers),
            "requests": n_requests,
            "cached_ms": {"p50": p50, "p95": p95, "p99": p99, "max": max(warm)},
            "uncached_ms": {"median": c50, "min": min(cold), "max": max(cold)},
            "non_200": dict(bad),
            "stale": stale,
        },
    )


# -- 3 and 4. scans against the fake upstream ----------------------------------------------


class StaleNotingMarket(ServiceMarketData):
    """``ServiceMarketData`` that remembers which tickers got any stale value (the scan's
    outcomes do not carry ``stale``)."""

    def __init__(self, service: MarketService) -> None:
        super().__init__(service)
        self.stale: set[str] = set()
        self._lock = threading.Lock()

    def _note(self, ticker: str, stale: bool) -> None:
        if stale:
            with self._lock:
                self.stale.add(ticker.upper())

    def quote(self, ticker: str) -> Quote:
        r = self.service.quote(ticker)
        self._note(ticker, r.stale)
        return r.value

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        r = self.service.history(ticker, start, end)
        self._note(ticker, r.stale)
        return r.value

    def expirations(self, ticker: str) -> list[dt.date]:
        r = self.service.expirations(ticker)
        self._note(ticker, r.stale)
        return r.value

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        r = self.service.chain(ticker, expiry)
        self._note(ticker, r.stale)
        return r.value


def nasdaq_body(day: dt.date, tickers: list[str]) -> dict[str, Any]:
    rows = [
        {
            "lastYearRptDt": "N/A",
            "lastYearEPS": "N/A",
            "time": ("time-pre-market", "time-after-hours")[i % 2],
            "symbol": t,
            "name": f"{t} Benchmark Corp.",
            "marketCap": "$1,000,000,000",
            "fiscalQuarterEnding": "Dec/2024",
            "epsForecast": "$1.00",
            "noOfEsts": "3",
        }
        for i, t in enumerate(tickers)
    ]
    return {
        "data": {"asOf": f"{day:%a}, {day:%b} {day.day}, {day.year}", "rows": rows},
        "message": None,
        "status": {"rCode": 200, "bCodeMessage": None, "developerMessage": None},
    }


@dataclass
class UpstreamScan:
    label: str
    tickers: int
    seconds: float
    status: str
    yahoo_requests: int
    nasdaq_requests: int
    by_outcome: dict[str, int]  # the fake's fate per request: ok, 429, 500, 503, ...
    span_s: float
    req_per_s: float
    steady_req_per_s: float  # after the first `burst` requests
    retries: int  # UPSTREAM_RETRIES of the yahoo client during the scan
    rejected: int  # attempts not sent (breaker open / no local rate-limit token)
    ticker_outcomes: dict[str, int]
    stale_tickers: int
    accounted: bool


BURST = 4  # client bucket; below the fake's 5 so one Nasdaq call + jitter never tip it


def _metric(counter: Any, **labels: str) -> int:
    return int(counter.labels(**labels)._value.get())


def upstream_scan(label: str, tickers: list[str], error_rate: float, seed: int) -> UpstreamScan:
    today = dt.date.today()
    retries0 = _metric(UPSTREAM_RETRIES, upstream="yahoo")
    rejected0 = _metric(UPSTREAM_CALLS, upstream="yahoo", outcome="rejected")
    with FakeUpstream(seed=seed, today=today) as up:
        up.override("earnings", today.isoformat(), nasdaq_body(today, tickers))
        up.faults.configure(scope=YAHOO_ROUTES, error_rate=error_rate)
        up.faults.rate_limit(5)
        settings = Settings.load(
            env={},
            overrides={
                "market_data": "yahoo",
                "yahoo_url": up.url,
                "yahoo_cookie_url": up.cookie_url,
                "nasdaq_url": up.url,
                "upstream_rate": 5.0,
                "upstream_burst": BURST,
                "data_dir": tempfile.gettempdir(),
            },
        )
        service = build_market_service(settings)
        market = StaleNotingMarket(service)
        store = MemoryScanStore()
        job = uuid.uuid4().hex
        store.create(job, {"date": today.isoformat(), "filters": EVERYONE.to_dict()})
        start = time.perf_counter()
        status = run_scan(job, today, EVERYONE, market, store, today=today)
        seconds = time.perf_counter() - start
        service.close()
        records = up.records()
    snap = store.get(job)
    assert snap is not None
    yahoo = sorted((r for r in records if r.route in YAHOO_ROUTES), key=lambda r: r.at)
    span = yahoo[-1].at - yahoo[0].at if len(yahoo) > 1 else float("nan")
    rate = (len(yahoo) - 1) / span if len(yahoo) > 1 and span > 0 else float("nan")
    steady = yahoo[BURST - 1 :]
    steady_rate = (
        (len(steady) - 1) / (steady[-1].at - steady[0].at) if len(steady) > 2 else float("nan")
    )
    outcomes = Counter(o["outcome"] for o in snap.outcomes)
    stale = sum(1 for o in snap.outcomes if o["ticker"] in market.stale)
    recorded = [o["ticker"] for o in snap.outcomes]
    accounted = (
        status == "done"
        and sorted(recorded) == sorted(tickers)
        and snap.progress.get("done") == len(tickers)
    )
    result = UpstreamScan(
        label,
        len(tickers),
        seconds,
        status,
        len(yahoo),
        sum(1 for r in records if r.route == "earnings"),
        dict(Counter(r.outcome for r in yahoo)),
        span,
        rate,
        steady_rate,
        _metric(UPSTREAM_RETRIES, upstream="yahoo") - retries0,
        _metric(UPSTREAM_CALLS, upstream="yahoo", outcome="rejected") - rejected0,
        {k: outcomes.get(k, 0) for k in ("result", "filtered", "no_data", "error")},
        stale,
        accounted,
    )
    print(
        f"   {label:<10} {seconds:6.2f} s, {len(tickers)} tickers, status {status}; yahoo "
        f"requests {len(yahoo)} ({result.by_outcome}; {result.retries} retries, "
        f"{result.rejected} rejected locally) over {span:.2f} s = {rate:.2f} req/s "
        f"(steady {steady_rate:.2f}); tickers {result.ticker_outcomes}, stale {stale}",
        flush=True,
    )
    return result


def bench_upstream(n_tickers: int, seed: int, min_span: float) -> tuple[Check, Check]:
    header(
        f"3./4. scan of {n_tickers} tickers via yahoo provider against FakeUpstream "
        f"(rate-limited 5 req/s; client limit 5 req/s, burst {BURST})"
    )
    tickers = [t for t in universe(500)[100:] if "." not in t][:n_tickers]
    clean = upstream_scan("fault-free", tickers, 0.0, seed)
    faulty = upstream_scan("30% fail", tickers, 0.3, seed)

    r429 = clean.by_outcome.get("429", 0)
    rate = min(clean.req_per_s, clean.steady_req_per_s)  # the conservative figure
    ok3 = rate >= 4.5 and r429 == 0 and clean.span_s >= min_span and clean.accounted
    short = "" if clean.span_s >= 20.0 else " (span < 20 s: --quick smoke, not the target run)"
    print(
        f"\n   3. sustained {clean.req_per_s:.2f} req/s overall, {clean.steady_req_per_s:.2f} "
        f"req/s after the initial burst, over {clean.span_s:.1f} s{short}\n"
        f"      = {rate / 5.0:.3f}x of the upstream's 5 req/s limit (the baseline); "
        f"429s: {r429}\n"
        f"      target >= 4.5 req/s, zero 429s, >= 20 s -> {verdict(ok3)}"
    )
    check3 = Check(
        "upstream_rate_5rps",
        f"{clean.req_per_s:.2f} req/s, {r429} x 429 over {clean.span_s:.1f} s",
        ">= 4.5 req/s, 0 x 429, >= 20 s",
        "upstream limit 5 req/s",
        ok3,
        asdict(clean),
    )

    ratio = faulty.yahoo_requests / clean.yahoo_requests
    ok4 = faulty.accounted and ratio <= 1.25
    injected = sum(v for k, v in faulty.by_outcome.items() if k not in ("ok", "429"))
    print(
        f"   4. upstream calls: fault-free {clean.yahoo_requests}, 30% failing "
        f"{faulty.yahoo_requests} ({injected} answered with an injected error, "
        f"{faulty.retries} retries, {faulty.rejected} rejected locally) -> ratio "
        f"{ratio:.3f}x (target <= 1.25x)\n"
        f"      retry amplification in the faulty run: {faulty.yahoo_requests} sent / "
        f"{faulty.yahoo_requests - faulty.retries} logical calls = "
        f"{faulty.yahoo_requests / max(1, faulty.yahoo_requests - faulty.retries):.3f}x\n"
        f"      tickers fault-free {clean.ticker_outcomes}; 30% failing "
        f"{faulty.ticker_outcomes}, {faulty.stale_tickers} with stale inputs; "
        f"all {faulty.tickers} accounted for: {faulty.accounted}\n"
        f"      -> {verdict(ok4)}"
    )
    check4 = Check(
        "upstream_30pct_errors",
        f"calls {faulty.yahoo_requests} vs {clean.yahoo_requests} = {ratio:.3f}x; "
        f"accounted {faulty.accounted}",
        "<= 1.25x, every ticker accounted for",
        f"fault-free {clean.yahoo_requests} calls",
        ok4,
        {"ratio": ratio, "fault_free": asdict(clean), "faulty": asdict(faulty)},
    )
    return check3, check4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller, shorter runs (smoke)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--seed", type=int, default=11, help="fault-injection seed")
    parser.add_argument(
        "--upstream-tickers",
        type=int,
        default=None,
        help="tickers of the fake-upstream scans (default 16; --quick 6)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # scans log every ticker error

    size = 500
    repeats = 1 if args.quick else 3
    n_requests = 1000 if args.quick else 2000
    n_up = args.upstream_tickers or (6 if args.quick else 16)
    print(f"bench/screener.py{' --quick' if args.quick else ''}: python {sys.version.split()[0]}")

    checks = [bench_demo_scan(size, repeats), bench_analysis_latency(n_requests, 20)]
    checks.extend(bench_upstream(n_up, args.seed, 0.0 if args.quick else 20.0))

    header("summary")
    for c in checks:
        print(
            f"   {verdict(c.ok)}  {c.name:<22} {c.figure:<48} target {c.target}; "
            f"baseline {c.baseline}"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(c) for c in checks], indent=2, default=str))
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
