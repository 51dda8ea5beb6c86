"""An earnings scan: the day's earnings calendar, screened ticker by ticker.

``run_scan`` takes the calendar of one day, pre-filters every ticker on price and average
volume (one quote and one history request each, no option chains), then runs the full
screen (``options.analysis.analyze``) on the survivors with bounded concurrency. Every
ticker ends in exactly one outcome: ``result`` (an analysis), ``filtered`` (failed the
pre-filter), ``no_data`` (unknown symbol, no options, insufficient data) or ``error``
(upstream failure or a bug), each with a reason; each outcome is recorded in the
``ScanStore`` as it completes, so clients see results while the scan runs.

Only the calling thread writes to the store (the pool only computes), so the event ids
of one job are assigned by one writer; cancellation is read from the store between
tickers. A scan re-run for the same job (a retried RQ job after a worker died) skips the
tickers already recorded, so nothing is counted or reported twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tradestats.market.errors import DataError, NoOptions, UnknownTicker, UpstreamUnavailable
from tradestats.market.protocol import MarketData
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote
from tradestats.options.analysis import analyze
from tradestats.options.verdict import Thresholds
from tradestats.options.volatility import average_volume
from tradestats.resilience.ratelimit import RateLimiter

if TYPE_CHECKING:
    from tradestats.jobs.store import ScanStore

log = logging.getLogger("tradestats.scans")

Outcome = Literal["result", "filtered", "no_data", "error"]
OUTCOMES: tuple[Outcome, ...] = ("result", "filtered", "no_data", "error")
DEFAULT_CONCURRENCY = 4
VOLUME_WINDOW = 30
HISTORY_DAYS = 60  # calendar days fetched for the 30-session average volume
# Seconds a ticker's work may wait for rate-limit tokens before it counts as an error.
RATE_LIMIT_WAIT = 30.0
# How often (seconds) the cancel flag is re-read from the store while tickers complete.
CANCEL_POLL = 0.2


@dataclass(frozen=True, slots=True)
class ScanFilters:
    """Which calendar tickers a scan analyzes.

    ``min_price``: last price in $ (default 2.50). ``min_avg_volume``: mean share volume of
    the last 30 sessions (default 1.5M). ``tickers``: keep only these symbols of the
    calendar. ``limit``: analyze at most this many tickers (the first in calendar order).
    ``thresholds``: the verdict's (default: the reference calculator's); recorded with the
    job so a worker screens with the thresholds in force when the scan was started.
    """

    min_price: float = 2.5
    min_avg_volume: float = 1_500_000.0
    tickers: tuple[str, ...] | None = None
    limit: int | None = None
    thresholds: Thresholds | None = None

    def to_dict(self) -> dict[str, Any]:
        t = self.thresholds
        return {
            "min_price": self.min_price,
            "min_avg_volume": self.min_avg_volume,
            "tickers": list(self.tickers) if self.tickers is not None else None,
            "limit": self.limit,
            "thresholds": None
            if t is None
            else {
                "min_avg_volume": t.min_avg_volume,
                "min_iv30_rv30": t.min_iv30_rv30,
                "max_slope": t.max_slope,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ScanFilters:
        data = data or {}
        tickers = data.get("tickers")
        limits = data.get("thresholds")
        return cls(
            min_price=float(data.get("min_price", 2.5)),
            min_avg_volume=float(data.get("min_avg_volume", 1_500_000.0)),
            tickers=tuple(str(t).upper() for t in tickers) if tickers is not None else None,
            limit=int(data["limit"]) if data.get("limit") is not None else None,
            thresholds=None
            if not isinstance(limits, dict)
            else Thresholds(
                float(limits["min_avg_volume"]),
                float(limits["min_iv30_rv30"]),
                float(limits["max_slope"]),
            ),
        )


@dataclass(frozen=True, slots=True)
class TickerOutcome:
    """What happened to one ticker of the calendar."""

    ticker: str
    outcome: Outcome
    reason: str | None = None
    analysis: dict[str, Any] | None = None
    timing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticker": self.ticker,
            "outcome": self.outcome,
            "reason": self.reason,
            "timing": self.timing,
            "analysis": self.analysis,
        }


@dataclass
class ScanProgress:
    """Counters of a scan: ``done == analyzed + filtered_out + no_data + errors``."""

    total: int = 0
    done: int = 0
    analyzed: int = 0
    filtered_out: int = 0
    no_data: int = 0
    errors: int = 0

    def count(self, outcome: Outcome) -> None:
        self.done += 1
        if outcome == "result":
            self.analyzed += 1
        elif outcome == "filtered":
            self.filtered_out += 1
        elif outcome == "no_data":
            self.no_data += 1
        else:
            self.errors += 1

    def to_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "done": self.done,
            "analyzed": self.analyzed,
            "filtered_out": self.filtered_out,
            "no_data": self.no_data,
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ScanProgress:
        data = data or {}
        return cls(**{k: int(data.get(k, 0)) for k in cls.__dataclass_fields__})


class RateLimitedMarket:
    """A ``MarketData`` whose every call first takes a token from ``limiter``.

    Raises ``UpstreamUnavailable`` when no token comes within ``wait`` seconds.
    """

    def __init__(self, market: MarketData, limiter: RateLimiter, wait: float) -> None:
        self.market = market
        self.limiter = limiter
        self.wait = wait
        self.source = market.source

    def _take(self) -> None:
        if not self.limiter.acquire(self.wait):
            raise UpstreamUnavailable("scan rate limit: no request slot within the wait")

    def quote(self, ticker: str) -> Quote:
        self._take()
        return self.market.quote(ticker)

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        self._take()
        return self.market.history(ticker, start, end)

    def expirations(self, ticker: str) -> list[dt.date]:
        self._take()
        return self.market.expirations(ticker)

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        self._take()
        return self.market.chain(ticker, expiry)

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        self._take()
        return self.market.earnings_calendar(day)

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        self._take()
        return self.market.earnings_dates(ticker)


def prefilter(ticker: str, market: MarketData, today: dt.date, filters: ScanFilters) -> str | None:
    """Why ``ticker`` fails the cheap checks (price, 30-session volume), or ``None``.

    Costs one quote and one history request; never touches option chains.
    """
    price = market.quote(ticker).price
    if price < filters.min_price:
        return f"price {price:.2f} below {filters.min_price:.2f}"
    bars = market.history(ticker, today - dt.timedelta(days=HISTORY_DAYS), today)
    try:
        volume = average_volume(bars, VOLUME_WINDOW)
    except ValueError as exc:
        raise DataError(f"{ticker}: {exc}") from None
    if volume < filters.min_avg_volume:
        return f"30-day average volume {volume:,.0f} below {filters.min_avg_volume:,.0f}"
    return None


def screen_ticker(
    event: EarningsEvent, market: MarketData, today: dt.date, filters: ScanFilters
) -> TickerOutcome:
    """Pre-filter then analyze one calendar entry; never raises for a data problem."""
    ticker = event.ticker
    try:
        reason = prefilter(ticker, market, today, filters)
        if reason is not None:
            return TickerOutcome(ticker, "filtered", reason, timing=event.timing)
        analysis = analyze(ticker, market, today, filters.thresholds)
        return TickerOutcome(ticker, "result", None, analysis.to_dict(), event.timing)
    except (UnknownTicker, NoOptions, DataError) as exc:
        return TickerOutcome(ticker, "no_data", str(exc), timing=event.timing)
    except UpstreamUnavailable as exc:
        return TickerOutcome(ticker, "error", f"upstream unavailable: {exc}", timing=event.timing)
    except Exception as exc:  # one ticker's bug must not end the scan; it is reported
        log.exception("scan: analyzing %s failed", ticker)
        return TickerOutcome(ticker, "error", f"{type(exc).__name__}: {exc}", timing=event.timing)


def select_calendar(events: list[EarningsEvent], filters: ScanFilters) -> list[EarningsEvent]:
    """The calendar entries a scan covers: de-duplicated, optionally restricted/limited."""
    seen: set[str] = set()
    out: list[EarningsEvent] = []
    wanted = set(filters.tickers) if filters.tickers is not None else None
    for e in events:
        key = e.ticker.upper()
        if key in seen or (wanted is not None and key not in wanted):
            continue
        seen.add(key)
        out.append(e)
    return out[: filters.limit] if filters.limit is not None else out


@dataclass
class _Cancellation:
    store: ScanStore
    job_id: str
    poll: float
    _checked: float = field(default=float("-inf"))
    cancelled: bool = False

    def check(self, force: bool = False) -> bool:
        now = time.monotonic()
        if not self.cancelled and (force or now - self._checked >= self.poll):
            self._checked = now
            self.cancelled = self.store.cancel_requested(self.job_id)
        return self.cancelled


def run_scan(
    job_id: str,
    date: dt.date,
    filters: ScanFilters,
    market: MarketData,
    store: ScanStore,
    limiter: RateLimiter | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    *,
    today: dt.date | None = None,
) -> str:
    """Run scan ``job_id`` (created in ``store``) to a terminal status and return it.

    ``today`` is the as-of date of the analysis (default: the provider's ``today`` if it
    has one, else the local date). With ``limiter``, every market request takes a token
    and at most ``min(concurrency, limiter.burst)`` tickers are in flight.
    Returns ``done``, ``cancelled`` or ``failed``; ``skipped`` if the job was not
    runnable (already finished or cancelled before it started).
    """
    if store.start(job_id) is None:
        return "skipped"
    as_of = today or _provider_today(market)
    workers = max(1, concurrency)
    if limiter is not None:
        burst = getattr(limiter, "burst", None)
        if isinstance(burst, int | float):
            workers = max(1, min(workers, int(burst)))
        market = RateLimitedMarket(market, limiter, RATE_LIMIT_WAIT)
    try:
        calendar = select_calendar(market.earnings_calendar(date), filters)
    except Exception as exc:
        log.warning("scan %s: earnings calendar unavailable: %s", job_id, exc)
        store.finish(job_id, "failed", f"earnings calendar unavailable: {exc}")
        return "failed"

    snapshot = store.get(job_id)
    recorded = set(snapshot.tickers()) if snapshot is not None else set()
    progress = ScanProgress.from_dict(snapshot.progress if snapshot is not None else None)
    progress.total = len(calendar)
    store.update_progress(job_id, progress.to_dict())
    pending = [e for e in calendar if e.ticker not in recorded]
    cancel = _Cancellation(store, job_id, CANCEL_POLL)

    try:
        with ThreadPoolExecutor(workers, thread_name_prefix=f"scan-{job_id[:8]}") as pool:
            for outcome in _screen_all(pending, market, as_of, filters, pool, workers, cancel):
                progress.count(outcome.outcome)
                store.record(job_id, outcome.to_dict(), progress.to_dict())
    except Exception as exc:  # a store failure: report it if the store still answers
        log.exception("scan %s failed", job_id)
        store.finish(job_id, "failed", f"{type(exc).__name__}: {exc}")
        return "failed"
    # A cancel that arrives after the last ticker is recorded changes nothing: done.
    cancelled = progress.done < progress.total and cancel.check(force=True)
    status = "cancelled" if cancelled else "done"
    store.finish(job_id, status)
    return status


def _provider_today(market: MarketData) -> dt.date:
    today = getattr(market, "today", None)
    if callable(today):
        today = today()
    return today if isinstance(today, dt.date) else dt.date.today()


def _screen_all(
    events: list[EarningsEvent],
    market: MarketData,
    today: dt.date,
    filters: ScanFilters,
    pool: ThreadPoolExecutor,
    workers: int,
    cancel: _Cancellation,
) -> Iterator[TickerOutcome]:
    """Outcomes in completion order; at most ``workers`` tickers in flight, and no new
    ticker is started once the scan is cancelled (those in flight are still reported)."""
    queue = iter(events)
    in_flight: set[Future[TickerOutcome]] = set()
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < workers and not cancel.check():
            event = next(queue, None)
            if event is None:
                exhausted = True
                break
            in_flight.add(pool.submit(screen_ticker, event, market, today, filters))
        if not in_flight:
            return
        finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
        for fut in finished:
            yield fut.result()
