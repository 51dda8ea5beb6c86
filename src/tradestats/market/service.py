"""`MarketService`: the one object the API, the CLI and jobs read market data through.

It composes, in this order, for every read:

1. a request ``Deadline`` (``settings.request_deadline``) bounding all upstream work;
2. the provider failover chain (``yahoo`` then, if configured, ``demo``): the next
   provider is tried only on ``UpstreamUnavailable`` — ``UnknownTicker``, ``NoOptions``
   and ``DataError`` are answers, not outages;
3. per-provider TTL caches per data kind with single-flight loads and
   stale-while-revalidate; when the upstream fails (or its breaker is open) the last
   good value is served marked stale;
4. the provider, whose upstream clients apply rate limit, breaker and retry.

Every result carries its ``source``, ``as_of`` (when the data was fetched from the
upstream; when any part is stale, the fetch time of the oldest stale part) and ``stale``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from tradestats.config import Settings
from tradestats.market.errors import DataError, MarketDataError, UpstreamUnavailable
from tradestats.market.providers import (
    Provider,
    UpstreamPolicy,
    demo_provider,
    request_deadline,
    yahoo_provider,
)
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote, Right, Timing
from tradestats.options.analysis import analyze
from tradestats.options.calendar_spread import (
    CalendarSpread,
    NoCalendarSpread,
    back_expiry,
    build_calendar_spread,
    front_expiry,
)
from tradestats.options.earnings_history import (
    EarningsMove,
    EarningsMoveSummary,
    earnings_moves,
    summarize_moves,
)
from tradestats.options.verdict import Thresholds
from tradestats.options.volatility import RealizedVolVariant
from tradestats.resilience.breaker import BreakerState
from tradestats.resilience.cache import CacheBackend, CacheResult, TTLCache
from tradestats.resilience.cache_redis import RedisCacheBackend
from tradestats.resilience.clock import SYSTEM_CLOCK, Clock

__all__ = [
    "DEFAULT_TTLS",
    "TICKER_PATTERN",
    "CacheTtl",
    "CalendarSpreadTicket",
    "EarningsHistory",
    "MarketService",
    "NoCalendarSpread",
    "Sourced",
    "UnlistedExpiry",
    "build_market_service",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
MARKET_TZ = ZoneInfo("America/New_York")
# What the API and CLI accept as a ticker (after upper-casing): BRK.B, BF-B, RDS.A.
TICKER_PATTERN = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
DEFAULT_RETRY_AFTER = 5.0  # seconds, when an outage gives no better hint
EARNINGS_LOOKBACK = dt.timedelta(days=7)  # bars before the oldest announcement


@dataclass(frozen=True)
class CacheTtl:
    """``ttl``: served fresh; up to ``stale_ttl``: served stale (refreshed behind)."""

    ttl: float
    stale_ttl: float


DEFAULT_TTLS: Mapping[str, CacheTtl] = {
    "quote": CacheTtl(15.0, 900.0),
    "expirations": CacheTtl(300.0, 86_400.0),
    "chain": CacheTtl(60.0, 3_600.0),
    "history": CacheTtl(3_600.0, 86_400.0),
    "calendar": CacheTtl(900.0, 86_400.0),
    "earnings": CacheTtl(3_600.0, 86_400.0),
    "analysis": CacheTtl(60.0, 3_600.0),
}


class UnlistedExpiry(MarketDataError):
    """The requested expiry is not listed for the ticker (a client error)."""

    def __init__(self, ticker: str, expiry: dt.date, listed: Sequence[dt.date]) -> None:
        shown = ", ".join(d.isoformat() for d in listed[:8])
        more = ", ..." if len(listed) > 8 else ""
        super().__init__(f"{ticker}: {expiry.isoformat()} is not listed (listed: {shown}{more})")
        self.ticker = ticker
        self.expiry = expiry
        self.listed = tuple(listed)


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value, the provider it came from, when it was fetched, and whether it is stale."""

    value: T
    source: str
    as_of: dt.datetime
    stale: bool

    def meta(self) -> dict[str, Any]:
        return {"source": self.source, "asOf": iso(self.as_of), "stale": self.stale}


@dataclass(frozen=True)
class CalendarSpreadTicket:
    ticker: str
    earnings_date: dt.date
    timing: Timing
    inferred: bool  # the earnings date is the provider's estimate
    spot: float
    spread: CalendarSpread


@dataclass(frozen=True)
class EarningsHistory:
    ticker: str
    moves: list[EarningsMove]
    summary: EarningsMoveSummary
    upcoming: list[EarningsEvent]


@dataclass(frozen=True)
class _AnalysisEntry:
    body: dict[str, Any]
    inputs_stale: bool
    inputs_as_of: float


def market_day(clock: Clock) -> dt.date:
    """Today in New York (the listing exchanges' day) on ``clock``."""
    return dt.datetime.fromtimestamp(clock.time(), MARKET_TZ).date()


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` and millisecond precision."""
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


class _Freshness:
    """Collects the cache results a composite answer was built from."""

    def __init__(self) -> None:
        self.stale = False
        self.stale_as_of: float | None = None
        self.fresh_as_of: float | None = None

    def note(self, stale: bool, as_of: float) -> None:
        if stale:
            self.stale = True
            self.stale_as_of = as_of if self.stale_as_of is None else min(self.stale_as_of, as_of)
        else:
            self.fresh_as_of = as_of if self.fresh_as_of is None else max(self.fresh_as_of, as_of)

    def take(self, result: CacheResult[T]) -> T:
        self.note(result.stale, result.as_of)
        return result.value

    def as_of(self, now: float) -> float:
        if self.stale_as_of is not None:
            return self.stale_as_of
        return self.fresh_as_of if self.fresh_as_of is not None else now


class _CachedView:
    """``MarketData`` over one provider, through the service's caches (what `analyze`
    and the composite reads run on)."""

    def __init__(self, service: MarketService, provider: Provider, seen: _Freshness) -> None:
        self._svc = service
        self._p = provider
        self._seen = seen
        self.source = provider.name

    def _get(self, kind: str, key: str, loader: Callable[[], T]) -> T:
        cache: TTLCache[T] = self._svc.caches[kind]
        return self._seen.take(cache.get_or_load(f"{self._p.name}:{key}", loader))

    def quote(self, ticker: str) -> Quote:
        return self._get("quote", ticker, lambda: self._p.market.quote(ticker))

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        key = f"{ticker}:{start}:{end}"
        return self._get("history", key, lambda: self._p.market.history(ticker, start, end))

    def expirations(self, ticker: str) -> list[dt.date]:
        return self._get("expirations", ticker, lambda: self._p.market.expirations(ticker))

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        key = f"{ticker}:{expiry}"
        return self._get("chain", key, lambda: self._p.market.chain(ticker, expiry))

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        return self._get("calendar", str(day), lambda: self._p.market.earnings_calendar(day))

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        return self._get("earnings", ticker, lambda: self._p.market.earnings_dates(ticker))


class MarketService:
    """Market data for the application; see the module doc for the pipeline.

    ``providers`` is the failover chain, primary first. Tickers are upper-cased; callers
    validate their syntax. Raises ``UnknownTicker``, ``NoOptions``, ``DataError``,
    ``UnlistedExpiry``, ``NoCalendarSpread``, or ``UpstreamUnavailable`` (always with a
    ``retry_after``) when no provider has the data and nothing usable is cached.
    """

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        clock: Clock = SYSTEM_CLOCK,
        deadline: float = 20.0,
        ttls: Mapping[str, CacheTtl] | None = None,
        cache_backend: CacheBackend | None = None,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        if not providers:
            raise ValueError("at least one provider")
        self.providers = tuple(providers)
        self.clock = clock
        self.deadline = deadline
        self._today = today
        merged = {**DEFAULT_TTLS, **(ttls or {})}
        self.caches: dict[str, TTLCache[Any]] = {
            kind: TTLCache(
                kind,
                t.ttl,
                t.stale_ttl,
                clock=clock,
                backend=cache_backend,
                load_timeout=deadline,
                serve_stale_on=(UpstreamUnavailable, DataError),
            )
            for kind, t in merged.items()
        }

    # -- plumbing ------------------------------------------------------------------------

    def today(self) -> dt.date:
        """The market day (New York) on this service's clock."""
        return self._today() if self._today is not None else market_day(self.clock)

    def _run(
        self,
        op: Callable[[_CachedView, _Freshness], T],
        source: Callable[[Provider], str] = lambda p: p.name,
    ) -> Sourced[T]:
        """``op`` on each provider in turn until one does not raise UpstreamUnavailable."""
        with request_deadline(self.deadline, self.clock):
            last: UpstreamUnavailable | None = None
            for provider in self.providers:
                seen = _Freshness()
                try:
                    value = op(_CachedView(self, provider, seen), seen)
                except UpstreamUnavailable as exc:
                    log.info("market provider %s unavailable: %s", provider.name, exc)
                    last = exc
                    continue
                moment = dt.datetime.fromtimestamp(seen.as_of(self.clock.time()), dt.UTC)
                return Sourced(value, source(provider), moment, seen.stale)
        assert last is not None
        retry_after = last.retry_after if last.retry_after else self._breaker_retry_after()
        raise UpstreamUnavailable(str(last), retry_after=retry_after) from last

    def _breaker_retry_after(self) -> float:
        waits = [
            snap.retry_after
            for p in self.providers
            for b in p.breakers
            if (snap := b.snapshot()).retry_after is not None
        ]
        return max(1.0, min(waits)) if waits else DEFAULT_RETRY_AFTER

    # -- reads ---------------------------------------------------------------------------

    def quote(self, ticker: str) -> Sourced[Quote]:
        key = ticker.strip().upper()
        return self._run(lambda view, _: view.quote(key))

    def expirations(self, ticker: str) -> Sourced[list[dt.date]]:
        key = ticker.strip().upper()
        return self._run(lambda view, _: view.expirations(key))

    def chain(self, ticker: str, expiry: dt.date | None = None) -> Sourced[Chain]:
        """The chain of ``expiry`` (default: the nearest listed expiry)."""
        key = ticker.strip().upper()

        def op(view: _CachedView, _: _Freshness) -> Chain:
            listed = view.expirations(key)
            wanted = expiry if expiry is not None else listed[0]
            if wanted not in listed:
                raise UnlistedExpiry(key, wanted, listed)
            return view.chain(key, wanted)

        return self._run(op)

    def history(self, ticker: str, start: dt.date, end: dt.date) -> Sourced[list[Bar]]:
        key = ticker.strip().upper()
        return self._run(lambda view, _: view.history(key, start, end))

    def earnings_calendar(self, day: dt.date) -> Sourced[list[EarningsEvent]]:
        return self._run(lambda view, _: view.earnings_calendar(day), lambda p: p.calendar_source)

    def earnings_dates(self, ticker: str) -> Sourced[list[EarningsEvent]]:
        key = ticker.strip().upper()
        return self._run(lambda view, _: view.earnings_dates(key))

    def analysis(
        self,
        ticker: str,
        thresholds: Thresholds | None = None,
        rv_variant: RealizedVolVariant = "calculator",
    ) -> dict[str, Any]:
        """The earnings screen of ``ticker`` (``Analysis.to_dict()``, with the quote's
        time as ``quoteTime``) plus ``source``, ``asOf`` and ``stale``. `thresholds` and
        `rv_variant` default to the reference calculator's."""
        key = ticker.strip().upper()
        today = self.today()
        limits = thresholds or Thresholds()
        variant_key = (
            f"{rv_variant}:{limits.min_avg_volume}:{limits.min_iv30_rv30}:{limits.max_slope}"
        )

        def op(view: _CachedView, seen: _Freshness) -> dict[str, Any]:
            def load() -> _AnalysisEntry:
                inputs = _Freshness()
                inner = _CachedView(self, view._p, inputs)
                body = analyze(key, inner, today, limits, rv_variant).to_dict()
                body["quoteTime"] = body.pop("asof")
                body.pop("source")
                now = self.clock.time()
                return _AnalysisEntry(body, inputs.stale, inputs.as_of(now))

            cache: TTLCache[_AnalysisEntry] = self.caches["analysis"]
            entry = seen.take(
                cache.get_or_load(f"{view.source}:{key}:{today}:{variant_key}", load)
            )
            if entry.inputs_stale:
                seen.note(True, entry.inputs_as_of)
            return entry.body

        result = self._run(op)
        return {**result.value, **result.meta()}

    def calendar_spread(
        self,
        ticker: str,
        earnings_date: dt.date | None = None,
        timing: Timing | None = None,
        right: Right = "call",
    ) -> Sourced[CalendarSpreadTicket]:
        """Sell the first expiry trading the move, buy the one ~30 days later.

        Without ``earnings_date`` the next known announcement (today or later) is used,
        with its timing unless ``timing`` is given. ``NoCalendarSpread`` when there is no
        such announcement, expiry or common strike.
        """
        key = ticker.strip().upper()
        today = self.today()

        def op(view: _CachedView, _: _Freshness) -> CalendarSpreadTicket:
            day, when, inferred = earnings_date, timing, False
            if day is None:
                upcoming = [e for e in view.earnings_dates(key) if e.date >= today]
                if not upcoming:
                    raise NoCalendarSpread(f"{key}: no upcoming earnings date known")
                day, inferred = upcoming[0].date, upcoming[0].inferred
                when = when or upcoming[0].timing
            when = when or "unknown"
            listed = view.expirations(key)
            front = front_expiry(day, when, listed)
            if front is None:
                raise NoCalendarSpread(f"{key}: no expiry on or after the move session of {day}")
            back = back_expiry(front, listed)
            if back is None:
                raise NoCalendarSpread(f"{key}: no expiry after the front expiry {front}")
            spot = view.quote(key).price
            front_chain, back_chain = view.chain(key, front), view.chain(key, back)
            spread = build_calendar_spread(front_chain, back_chain, spot, right)
            return CalendarSpreadTicket(key, day, when, inferred, spot, spread)

        return self._run(op)

    def earnings_history(self, ticker: str) -> Sourced[EarningsHistory]:
        """Next-session reactions to the known past announcements, and the upcoming ones."""
        key = ticker.strip().upper()
        today = self.today()

        def op(view: _CachedView, _: _Freshness) -> EarningsHistory:
            events = view.earnings_dates(key)
            past = [e for e in events if e.date <= today]
            bars: list[Bar] = []
            if past:
                start = min(e.date for e in past) - EARNINGS_LOOKBACK
                bars = view.history(key, start, today)
            moves = earnings_moves(past, bars)
            upcoming = [e for e in events if e.date > today]
            return EarningsHistory(key, moves, summarize_moves(moves), upcoming)

        return self._run(op)

    # -- health and lifecycle ------------------------------------------------------------

    def readiness(self) -> dict[str, list[dict[str, Any]]]:
        """One ``upstream:circuitBreaker`` check per breaker: pass when closed, warn when
        open or half-open (answers may be stale or from the fallback; not a failure)."""
        now = iso(dt.datetime.fromtimestamp(self.clock.time(), dt.UTC))
        entries: list[dict[str, Any]] = []
        for provider in self.providers:
            for breaker in provider.breakers:
                snap = breaker.snapshot()
                entry: dict[str, Any] = {
                    "componentId": snap.name,
                    "componentType": "component",
                    "status": "pass" if snap.state is BreakerState.CLOSED else "warn",
                    "observedValue": snap.state.value,
                    "time": now,
                }
                if snap.retry_after is not None:
                    entry["output"] = f"open; next probe in {snap.retry_after:.1f}s"
                entries.append(entry)
        return {"upstream:circuitBreaker": entries} if entries else {}

    def close(self) -> None:
        for cache in self.caches.values():
            cache.close()
        for provider in self.providers:
            provider.close()


def build_market_service(
    settings: Settings,
    redis: Any | None = None,
    clock: Clock = SYSTEM_CLOCK,
    *,
    policy: UpstreamPolicy | None = None,
    ttls: Mapping[str, CacheTtl] | None = None,
    key_prefix: str = "tradestats:",
) -> MarketService:
    """The service for ``settings``: provider chain, upstream clients (pool of at least
    ``threads`` connections each), caches; breakers, limits and cache shared through
    ``redis`` when given. Opens no connection. Without ``policy``, the upstreams use
    ``UpstreamPolicy`` defaults with ``settings.upstream_rate``/``upstream_burst``."""
    if policy is None:
        policy = UpstreamPolicy(rate=settings.upstream_rate, burst=settings.upstream_burst)
    providers: list[Provider] = []
    if settings.market_data == "yahoo":
        providers.append(
            yahoo_provider(
                settings.yahoo_url,
                settings.nasdaq_url,
                clock=clock,
                pool_size=max(settings.threads, 10) + 4,  # + background cache refreshes
                deadline=settings.request_deadline,
                policy=policy,
                redis=redis,
                key_prefix=key_prefix,
                cookie_url=settings.yahoo_cookie_url,
            )
        )
    if settings.market_data == "demo" or settings.market_fallback == "demo":
        providers.append(demo_provider(lambda: market_day(clock)))
    backend = RedisCacheBackend(redis, key_prefix=key_prefix, clock=clock) if redis else None
    return MarketService(
        providers, clock=clock, deadline=settings.request_deadline, ttls=ttls, cache_backend=backend
    )
