"""``MarketData`` from Yahoo Finance's JSON API and Nasdaq's earnings calendar.

Endpoints (paths relative to each upstream's base URL):

- Yahoo ``/v7/finance/quote?symbols=T``: quotes and the ``earningsTimestamp*`` fields;
- Yahoo ``/v8/finance/chart/T?period1=&period2=&interval=1d``: daily bars;
- Yahoo ``/v7/finance/options/T[?date=<epoch>]``: expiries and one chain per request;
- Nasdaq ``/api/calendar/earnings?date=YYYY-MM-DD``: every announcement of one day.

Why a small client of Yahoo's JSON rather than wrapping ``yfinance``:

- testability: the provider talks to an injected ``JsonGetter`` bound to a base URL, so
  tests replay recorded responses from a fake upstream over real sockets, with injected
  faults, instead of monkeypatching a scraper library;
- one resilience story: pooled sessions, timeouts, retries, circuit breakers, rate limits
  and caching live in ``tradestats.resilience`` and apply to every upstream alike;
  ``yfinance`` brings its own session, retry and cache behaviour we could not govern;
- precise errors: ``yfinance`` answers many failures with an empty DataFrame; here an
  unknown symbol is ``UnknownTicker``, a symbol without listed options ``NoOptions``,
  a malformed answer ``DataError`` and an outage ``UpstreamUnavailable``. Semantically
  empty answers ("200 OK, no results") become errors, never empty results, except where
  empty is the true answer (a calendar day without announcements, a short window
  without sessions).

Yahoo's v7 endpoints (quote, options) want a cookie + ``crumb`` query parameter in
production. Cookies belong to the HTTP session (the ``JsonGetter``); the optional
``crumb`` hook supplies the parameter (``tradestats.market.yahoo_auth.YahooSession`` in
the application). A v7 answer of 401/403 with a crumb reports the rejected crumb to
``crumb_rejected`` and is retried once with a fresh one; rejected again, it is an
``UpstreamUnavailable``. The v8 chart endpoint is called without a crumb.

Per-ticker earnings dates: no recorded ``quoteSummary`` (``calendarEvents`` /
``earningsHistory``) shape was available to test against, so ``earnings_dates`` reads
the v7 quote fields ``earningsTimestamp`` and ``earningsTimestampStart``/``End``. Those
carry only the most recent and the next announcement; earlier announcements are not
available from this provider, and nothing is inferred beyond what Yahoo states.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradestats.market.errors import (
    DataError,
    MarketDataError,
    NoOptions,
    UnknownTicker,
    UpstreamUnavailable,
)
from tradestats.market.http_types import JsonGetter
from tradestats.market.types import (
    Bar,
    Chain,
    EarningsEvent,
    OptionContract,
    Quote,
    Right,
    Timing,
)

SOURCE = "yahoo"
CALENDAR_SOURCE = "nasdaq"

_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")
_SHARE_CLASS = re.compile(r"^([A-Z]+)\.([A-Z])$")  # BRK.B -> Yahoo's BRK-B
_NO_IV = 1e-4  # Yahoo reports 1e-05 / 0 as a placeholder for "no implied volatility"
_MARKET_OPEN = dt.time(9, 30)
_MARKET_CLOSE = dt.time(16, 0)
_NASDAQ_TIMING: dict[str, Timing] = {
    "time-pre-market": "BMO",
    "time-after-hours": "AMC",
    "time-not-supplied": "unknown",
}


# -- small typed readers of untyped JSON ------------------------------------------------


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"malformed upstream answer: {what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise DataError(f"malformed upstream answer: {what} is not a list")
    return value


def _opt_float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"malformed upstream answer: {what} is not a number")
    return float(value)


def _float(value: Any, what: str) -> float:
    out = _opt_float(value, what)
    if out is None:
        raise DataError(f"malformed upstream answer: {what} is missing")
    return out


def _int(value: Any, what: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    return int(_float(value, what))


def _utc(epoch: Any, what: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(_int(epoch, what), dt.UTC)


def _epoch_date(value: Any, what: str) -> dt.date:
    """Yahoo encodes option expiries as 00:00 UTC of the expiry date."""
    return _utc(value, what).date()


def _date_epoch(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def _timing(local: dt.datetime) -> Timing:
    t = local.time()
    if t < _MARKET_OPEN:
        return "BMO"
    if t >= _MARKET_CLOSE:
        return "AMC"
    return "unknown"


def _exchange_tz(meta: Mapping[str, Any], offset_key: str, offset_scale: int) -> dt.tzinfo:
    """The exchange's zone: IANA name if known, else its fixed GMT offset."""
    name = meta.get("exchangeTimezoneName")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    offset = meta.get(offset_key)
    if isinstance(offset, int | float) and not isinstance(offset, bool):
        return dt.timezone(dt.timedelta(seconds=offset / offset_scale))
    raise DataError("malformed upstream answer: no exchange timezone")


def _protocol_error(exc: MarketDataError, ticker: str | None) -> MarketDataError:
    """One of the protocol's errors for whatever the client raised.

    A 404/410 (``UnknownTicker`` from a simple client, or any error carrying
    ``status`` such as resilience's ``UpstreamNotFound``) names an unknown symbol on a
    per-ticker path; other client errors are ``DataError``. Outages pass through.
    """
    if isinstance(exc, UpstreamUnavailable | DataError | NoOptions):
        return exc
    if isinstance(exc, UnknownTicker) or getattr(exc, "status", None) in (404, 410):
        return UnknownTicker(ticker) if ticker is not None else DataError(str(exc))
    return DataError(str(exc))


def _with_crumb(params: dict[str, str], crumb: str | None) -> dict[str, str]:
    return {**params, "crumb": crumb} if crumb else params


def _auth_rejected(exc: MarketDataError) -> bool:
    """A 401/403: Yahoo's "Invalid Crumb" / "Invalid Cookie"."""
    return getattr(exc, "status", None) in (401, 403)


def _weekdays(start: dt.date, end: dt.date) -> int:
    days = (end - start).days + 1
    return sum(1 for i in range(min(days, 7)) if (start + dt.timedelta(days=i)).weekday() < 5)


@dataclass(frozen=True, slots=True)
class _Listing:
    expiries: tuple[dt.date, ...]
    first_chain: Chain | None
    fetched: float


class YahooMarket:
    """``MarketData`` over Yahoo (quotes, bars, options) and Nasdaq (earnings calendar).

    ``yahoo`` and ``nasdaq`` are JSON getters bound to each upstream's base URL.
    ``crumb`` returns Yahoo's crumb (or ``None``) and is called per v7 request (it may
    raise ``UpstreamUnavailable``); ``crumb_rejected`` is told a crumb Yahoo answered
    401/403 to, before the one retry with a fresh crumb.
    Expiry lists (and the nearest chain that comes with them) are reused for
    ``listing_ttl`` seconds of ``clock`` within this instance.
    """

    source: str = SOURCE

    def __init__(
        self,
        yahoo: JsonGetter,
        nasdaq: JsonGetter,
        *,
        crumb: Callable[[], str | None] | None = None,
        crumb_rejected: Callable[[str], object] | None = None,
        listing_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._yahoo = yahoo
        self._nasdaq = nasdaq
        self._crumb = crumb
        self._crumb_rejected = crumb_rejected
        self._listing_ttl = listing_ttl
        self._clock = clock
        self._listings: dict[str, _Listing] = {}
        self._lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------

    @staticmethod
    def _symbol(ticker: str) -> str:
        """Yahoo's spelling of ``ticker``; ``UnknownTicker`` for impossible symbols."""
        key = ticker.strip().upper()
        if not _TICKER.match(key):
            raise UnknownTicker(ticker)
        m = _SHARE_CLASS.match(key)
        return f"{m.group(1)}-{m.group(2)}" if m else key

    def _get_yahoo(self, ticker: str, path: str, params: dict[str, str]) -> Any:
        crumb = self._crumb() if self._crumb is not None and path.startswith("/v7/") else None
        try:
            return self._yahoo.get_json(path, _with_crumb(params, crumb))
        except MarketDataError as exc:
            if not crumb or not _auth_rejected(exc):
                raise _protocol_error(exc, ticker) from exc
            first = exc
        # Yahoo rejected the crumb (or its cookie): renew both once, then try again.
        assert self._crumb is not None
        if self._crumb_rejected is not None:
            self._crumb_rejected(crumb)
            crumb = self._crumb()
            try:
                return self._yahoo.get_json(path, _with_crumb(params, crumb))
            except MarketDataError as exc:
                if not crumb or not _auth_rejected(exc):
                    raise _protocol_error(exc, ticker) from exc
                first = exc
        raise UpstreamUnavailable(f"{ticker}: Yahoo rejected the crumb: {first}") from first

    def _quote_row(self, ticker: str) -> dict[str, Any]:
        sym = self._symbol(ticker)
        body = self._get_yahoo(ticker, "/v7/finance/quote", {"symbols": sym})
        resp = _obj(_obj(body, "body").get("quoteResponse"), "quoteResponse")
        if resp.get("error"):
            raise DataError(f"{ticker}: Yahoo quote error: {resp['error']!r}")
        rows = [r for r in _list(resp.get("result"), "quoteResponse.result") if isinstance(r, dict)]
        match = [r for r in rows if str(r.get("symbol", "")).upper() == sym]
        if match:
            return match[0]
        if len(rows) == 1 and not rows[0].get("symbol"):
            return rows[0]
        raise UnknownTicker(ticker)

    # -- MarketData ----------------------------------------------------------------------

    def quote(self, ticker: str) -> Quote:
        row = self._quote_row(ticker)
        price = _opt_float(row.get("regularMarketPrice"), "regularMarketPrice")
        if price is None or price <= 0.0:
            raise DataError(f"{ticker}: Yahoo has no regular-market price")
        asof = _utc(row.get("regularMarketTime"), "regularMarketTime")
        return Quote(ticker.strip().upper(), price, asof, SOURCE)

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        """Daily bars dated in the exchange's timezone; null (halted) bars are skipped.

        Prices are Yahoo's split-adjusted OHLC (not dividend-adjusted). An empty window
        is returned as ``[]`` only when it spans fewer than five weekdays (a long
        weekend); a longer window without bars is a ``DataError``.
        """
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        sym = self._symbol(ticker)
        # One day of slack each side: sessions east/west of UTC straddle UTC midnight.
        params = {
            "period1": str(_date_epoch(start) - 86_400),
            "period2": str(_date_epoch(end) + 2 * 86_400),
            "interval": "1d",
            "events": "div,splits",
        }
        body = self._get_yahoo(ticker, f"/v8/finance/chart/{sym}", params)
        chart = _obj(_obj(body, "body").get("chart"), "chart")
        error = chart.get("error")
        if error:
            text = repr(error)
            if "no data found" in text.lower() or "not found" in text.lower():
                raise UnknownTicker(ticker)
            raise DataError(f"{ticker}: Yahoo chart error: {text}")
        results = chart.get("result")
        if results is None or results == []:
            raise UnknownTicker(ticker)
        result = _obj(_list(results, "chart.result")[0], "chart.result[0]")
        bars = _parse_bars(result, ticker)
        bars = [b for b in bars if start <= b.date <= end]
        if not bars and _weekdays(start, end) >= 5:
            raise DataError(f"{ticker}: no daily bars between {start} and {end}")
        return bars

    def expirations(self, ticker: str) -> list[dt.date]:
        return list(self._listing(ticker).expiries)

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        """One expiry's chain; ``NoOptions`` when Yahoo lists no contracts for it."""
        sym = self._symbol(ticker)
        cached = self._cached_listing(sym)
        if cached is not None and cached.first_chain is not None:
            if cached.first_chain.expiry == expiry:
                return cached.first_chain
        params = {"date": str(_date_epoch(expiry))}
        body = self._get_yahoo(ticker, f"/v7/finance/options/{sym}", params)
        result = _option_result(body, ticker)
        if cached is None:
            expiries = _expiries(result)
            if expiries:
                self._store_listing(sym, _Listing(expiries, None, self._clock()))
        chain = _parse_chain(result, ticker)
        if chain is None:
            raise NoOptions(ticker, f"no contracts for {expiry} (expired or not listed)")
        if chain.expiry != expiry:
            raise DataError(f"{ticker}: asked for the {expiry} chain, Yahoo sent {chain.expiry}")
        return chain

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        """Nasdaq's announcements of ``day``; ``[]`` when Nasdaq says there are none."""
        try:
            body = self._nasdaq.get_json("/api/calendar/earnings", {"date": day.isoformat()})
        except MarketDataError as exc:
            raise _protocol_error(exc, None) from exc
        return parse_nasdaq_calendar(body, day)

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        """The most recent and the next announcement, as far as Yahoo's quote states them.

        ``earningsTimestamp`` is a reported (or confirmed) announcement: timing from its
        exchange-local time of day. ``earningsTimestampStart``/``End`` is the next one:
        a single day when confirmed, else a window whose first day is returned with
        ``inferred=True`` and ``timing="unknown"``. Older announcements: not available.
        """
        row = self._quote_row(ticker)
        tz = _exchange_tz(row, "gmtOffSetMilliseconds", 1000)
        name = ticker.strip().upper()
        estimate = row.get("isEarningsDateEstimate") is True
        events: dict[dt.date, EarningsEvent] = {}

        def add(event: EarningsEvent) -> None:
            old = events.get(event.date)
            if old is None or (old.inferred and not event.inferred):
                events[event.date] = event

        if row.get("earningsTimestamp") is not None:
            local = _utc(row["earningsTimestamp"], "earningsTimestamp").astimezone(tz)
            add(EarningsEvent(name, local.date(), _timing(local), False, SOURCE))
        if row.get("earningsTimestampStart") is not None:
            first = _utc(row["earningsTimestampStart"], "earningsTimestampStart").astimezone(tz)
            last_raw = row.get("earningsTimestampEnd", row["earningsTimestampStart"])
            last = _utc(last_raw, "earningsTimestampEnd").astimezone(tz)
            if first.date() == last.date():
                add(EarningsEvent(name, first.date(), _timing(first), estimate, SOURCE))
            else:
                add(EarningsEvent(name, first.date(), "unknown", True, SOURCE))
        return [events[d] for d in sorted(events)]

    # -- option listing cache ------------------------------------------------------------

    def _cached_listing(self, sym: str) -> _Listing | None:
        with self._lock:
            listing = self._listings.get(sym)
        if listing is None or self._clock() - listing.fetched > self._listing_ttl:
            return None
        return listing

    def _store_listing(self, sym: str, listing: _Listing) -> None:
        with self._lock:
            self._listings[sym] = listing

    def _listing(self, ticker: str) -> _Listing:
        sym = self._symbol(ticker)
        cached = self._cached_listing(sym)
        if cached is not None:
            return cached
        body = self._get_yahoo(ticker, f"/v7/finance/options/{sym}", {})
        result = _option_result(body, ticker)
        expiries = _expiries(result)
        if not expiries:
            raise NoOptions(ticker)
        listing = _Listing(expiries, _parse_chain(result, ticker), self._clock())
        self._store_listing(sym, listing)
        return listing


# -- parsers ----------------------------------------------------------------------------


def _parse_bars(result: Mapping[str, Any], ticker: str) -> list[Bar]:
    meta = _obj(result.get("meta"), "chart.meta")
    stamps = result.get("timestamp")
    if stamps is None:  # Yahoo omits timestamps (and quote arrays) for an empty window
        return []
    stamps = _list(stamps, "chart.timestamp")
    indicators = _obj(result.get("indicators"), "chart.indicators")
    quote = _obj(_list(indicators.get("quote"), "indicators.quote")[0], "indicators.quote[0]")
    cols = {k: _list(quote.get(k), f"indicators.quote.{k}") for k in _OHLCV}
    if any(len(v) != len(stamps) for v in cols.values()):
        raise DataError(f"{ticker}: chart arrays differ in length")
    tz = _exchange_tz(meta, "gmtoffset", 1)
    bars: dict[dt.date, Bar] = {}
    for i, stamp in enumerate(stamps):
        o, h, lo, c = (_opt_float(cols[k][i], f"{k}[{i}]") for k in _OHLCV[:4])
        if o is None or h is None or lo is None or c is None:
            continue  # a null bar: no trading recorded that session
        day = _utc(stamp, f"timestamp[{i}]").astimezone(tz).date()
        volume = _int(cols["volume"][i], f"volume[{i}]", default=0)
        bars[day] = Bar(day, o, h, lo, c, volume)  # a repeated day keeps the latest
    return [bars[d] for d in sorted(bars)]


_OHLCV = ("open", "high", "low", "close", "volume")


def _option_result(body: Any, ticker: str) -> dict[str, Any]:
    chain = _obj(_obj(body, "body").get("optionChain"), "optionChain")
    if chain.get("error"):
        raise DataError(f"{ticker}: Yahoo options error: {chain['error']!r}")
    results = _list(chain.get("result"), "optionChain.result")
    if not results:
        raise UnknownTicker(ticker)
    return _obj(results[0], "optionChain.result[0]")


def _expiries(result: Mapping[str, Any]) -> tuple[dt.date, ...]:
    raw = _list(result.get("expirationDates", []), "expirationDates")
    return tuple(sorted({_epoch_date(e, "expirationDates[]") for e in raw}))


def _parse_chain(result: Mapping[str, Any], ticker: str) -> Chain | None:
    """The first (only) chain in an options answer; ``None`` when it has no contracts."""
    options = _list(result.get("options", []), "options")
    if not options:
        return None
    opt = _obj(options[0], "options[0]")
    expiry = _epoch_date(opt.get("expirationDate"), "expirationDate")
    calls = _contracts(opt.get("calls", []), expiry, "call")
    puts = _contracts(opt.get("puts", []), expiry, "put")
    if not calls and not puts:
        return None
    quote = result.get("quote")
    stamp = quote.get("regularMarketTime") if isinstance(quote, dict) else None
    asof = _utc(stamp, "regularMarketTime") if stamp is not None else dt.datetime.now(dt.UTC)
    return Chain(ticker.strip().upper(), expiry, calls, puts, SOURCE, asof)


def _contracts(raw: Any, expiry: dt.date, right: Right) -> list[OptionContract]:
    out = []
    for i, item in enumerate(_list(raw, f"{right}s")):
        c = _obj(item, f"{right}s[{i}]")
        last = _opt_float(c.get("lastPrice"), "lastPrice")
        iv = _opt_float(c.get("impliedVolatility"), "impliedVolatility")
        out.append(
            OptionContract(
                expiry=expiry,
                strike=_float(c.get("strike"), f"{right}s[{i}].strike"),
                right=right,
                bid=_opt_float(c.get("bid"), "bid") or 0.0,
                ask=_opt_float(c.get("ask"), "ask") or 0.0,
                last=last if last is not None and last > 0.0 else None,
                volume=_int(c.get("volume"), "volume", default=0),
                open_interest=_int(c.get("openInterest"), "openInterest", default=0),
                iv=iv if iv is not None and iv >= _NO_IV else None,
            )
        )
    out.sort(key=lambda k: k.strike)
    return out


def parse_nasdaq_calendar(body: Any, day: dt.date) -> list[EarningsEvent]:
    """Events of one Nasdaq ``/api/calendar/earnings`` answer.

    ``data.rows == null`` is Nasdaq's "no announcements that day" (``[]``); a missing
    ``data`` object, a non-200 ``status.rCode`` or rows without a symbol are
    ``DataError``. Rows keep Nasdaq's order; a repeated symbol is listed once.
    """
    top = _obj(body, "body")
    status = top.get("status")
    if isinstance(status, dict) and status.get("rCode") not in (None, 200):
        detail = status.get("bCodeMessage") or status.get("developerMessage")
        raise DataError(f"Nasdaq calendar {day}: rCode {status.get('rCode')}: {detail!r}")
    data = _obj(top.get("data"), "data")
    rows = data.get("rows")
    if rows is None:
        return []
    as_of = data.get("asOf")
    if isinstance(as_of, str):
        try:
            stated = dt.datetime.strptime(as_of.strip(), "%a, %b %d, %Y").date()
        except ValueError:
            stated = None
        if stated is not None and stated != day:
            raise DataError(f"Nasdaq calendar for {day} is dated {stated}")
    events: list[EarningsEvent] = []
    seen: set[str] = set()
    for i, item in enumerate(_list(rows, "data.rows")):
        row = _obj(item, f"data.rows[{i}]")
        symbol = row.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            raise DataError(f"Nasdaq calendar {day}: row {i} has no symbol")
        ticker = symbol.strip().upper()
        if ticker in seen:
            continue
        seen.add(ticker)
        timing = _NASDAQ_TIMING.get(str(row.get("time") or ""), "unknown")
        events.append(EarningsEvent(ticker, day, timing, False, CALENDAR_SOURCE))
    return events
