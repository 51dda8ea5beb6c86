"""Options screener and market-data endpoints: analysis, calendar-spread ticket, option
chain, daily history, earnings calendar and earnings reactions.

Every body carries ``source`` (``yahoo``, ``nasdaq`` or ``demo``: synthetic data),
``asOf`` (when the data was fetched) and ``stale`` (served from cache because the
upstream is failing or being refreshed). Errors: invalid ticker/query → 400, unknown
ticker or no options → 404, no spread possible → 422, malformed upstream data → 502,
upstream unavailable with nothing cached → 503 with ``Retry-After``.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Any

from flask import Blueprint, Response, current_app, g
from pydantic import BaseModel

from tradestats.api.openapi import ApiSpec, ResponseSpec
from tradestats.api.options_models import (
    AnalysisOut,
    AnalysisQuery,
    CalendarOut,
    CalendarQuery,
    CalendarSpreadOut,
    ChainOut,
    ChainQuery,
    EarningsHistoryOut,
    HistoryOut,
    HistoryQuery,
    SpreadQuery,
)
from tradestats.api.problems import ApiProblem, problem_response
from tradestats.api.settings import saved_thresholds
from tradestats.market.errors import (
    DataError,
    MarketDataError,
    NoOptions,
    UnknownTicker,
    UpstreamUnavailable,
)
from tradestats.market.service import (
    TICKER_PATTERN,
    MarketService,
    NoCalendarSpread,
    Sourced,
    UnlistedExpiry,
)
from tradestats.market.types import Bar, EarningsEvent, OptionContract
from tradestats.options.calendar_spread import LegLiquidity
from tradestats.options.verdict import Thresholds
from tradestats.services import services_of

DEFAULT_HISTORY_DAYS = 365
MAX_HISTORY_DAYS = 366 * 10
DEFAULT_RETRY_AFTER = 5


# -- helpers ------------------------------------------------------------------------------


def _market() -> MarketService:
    return services_of(current_app).market


def _ticker(raw: str) -> str:
    ticker = raw.strip().upper()
    if not TICKER_PATTERN.match(ticker):
        raise ApiProblem(
            400,
            "Invalid request",
            f"Invalid ticker {raw[:20]!r}",
            errors=[
                {
                    "name": "ticker",
                    "in": "path",
                    "reason": "1-10 characters: a letter, then letters, digits, '.' or '-'",
                }
            ],
        )
    return ticker


def _reply(model: type[BaseModel], body: dict[str, Any]) -> Response:
    return Response(model.model_validate(body).model_dump_json(), mimetype="application/json")


def _date(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _contract(c: OptionContract) -> dict[str, Any]:
    return {
        "expiry": c.expiry.isoformat(),
        "strike": c.strike,
        "right": c.right,
        "bid": c.bid,
        "ask": c.ask,
        "mid": c.mid,
        "last": c.last,
        "volume": c.volume,
        "openInterest": c.open_interest,
        "iv": c.iv,
    }


def _leg(c: OptionContract, liquidity: LegLiquidity) -> dict[str, Any]:
    return {
        **_contract(c),
        "spreadPct": liquidity.spread_pct,
        "zeroBid": liquidity.zero_bid,
        "liquidityScore": liquidity.score,
    }


def _event(e: EarningsEvent) -> dict[str, Any]:
    return {
        "ticker": e.ticker,
        "date": e.date.isoformat(),
        "timing": e.timing,
        "inferred": e.inferred,
    }


def _bar(b: Bar) -> dict[str, Any]:
    return {
        "date": b.date.isoformat(),
        "open": b.open,
        "high": b.high,
        "low": b.low,
        "close": b.close,
        "volume": b.volume,
    }


def _query_problem(name: str, detail: str) -> ApiProblem:
    return ApiProblem(
        400, "Invalid request", detail, errors=[{"name": name, "in": "query", "reason": detail}]
    )


def market_problem(exc: Exception) -> Response:
    """The problem response for a market-data or spread failure."""
    if isinstance(exc, UnlistedExpiry):
        return problem_response(
            400,
            "Invalid request",
            str(exc),
            errors=[{"name": "expiry", "in": "query", "reason": "not a listed expiry"}],
        )
    if isinstance(exc, UnknownTicker):
        return problem_response(
            404, "Unknown ticker", f"The market data source does not know {exc.ticker!r}."
        )
    if isinstance(exc, NoOptions):
        return problem_response(404, "No options", str(exc))
    if isinstance(exc, NoCalendarSpread):
        return problem_response(422, "No calendar spread", str(exc))
    if isinstance(exc, UpstreamUnavailable):
        wait = exc.retry_after if exc.retry_after else DEFAULT_RETRY_AFTER
        return problem_response(
            503,
            "Market data unavailable",
            f"The market data source is unavailable and nothing usable is cached: {exc}",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    if isinstance(exc, DataError):
        detail = f"The market data source sent unusable data: {exc}"
    else:
        detail = f"The market data source refused the request: {exc}"
    return problem_response(502, "Bad upstream data", detail)


#: The ticker as the URL may carry it (case and surrounding blanks are normalized by
#: `_ticker`, which then checks TICKER_PATTERN).
TICKER_PATH: dict[str, Any] = {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9.\\-]{0,9}$"}

_ERRORS = {
    200: None,
    400: "invalid ticker or query",
    404: "unknown ticker, or no listed options",
    502: "malformed upstream data",
    503: "upstream unavailable and nothing cached (see Retry-After)",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}


def _responses(description: str, model: type[BaseModel], *extra: int) -> dict[int, ResponseSpec]:
    out = {200: ResponseSpec(description, model=model)}
    for status in (400, 404, 502, 503, *extra):
        text = _ERRORS.get(status) or "no calendar spread for these inputs"
        headers = _RETRY_AFTER if status == 503 else {}
        out[status] = ResponseSpec(
            text,
            schema={"$ref": "#/components/schemas/Problem"},
            media_type="application/problem+json",
            headers=headers,
        )
    return out


# -- routes -------------------------------------------------------------------------------


def register(spec: ApiSpec, threads: int = 4) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered).

    Market-data requests may each wait up to the request deadline on a slow upstream.
    A bulkhead lets at most ``threads - 1`` of them run at once per process, so one
    worker thread always stays free for liveness, the journal and the page itself; the
    excess is answered at once with 503 + Retry-After (the browser client retries).
    """
    bp = Blueprint("options", __name__, url_prefix="/api")
    bp.register_error_handler(MarketDataError, market_problem)
    bp.register_error_handler(NoCalendarSpread, market_problem)
    bulkhead = threading.BoundedSemaphore(max(1, threads - 1))

    @bp.before_request
    def _enter_bulkhead() -> Response | None:
        if not bulkhead.acquire(timeout=0.05):
            return problem_response(
                503,
                "Busy",
                "Every market-data slot of this server process is waiting on the upstream; "
                "retry shortly.",
                headers={"Retry-After": "1"},
            )
        g.tradestats_bulkhead = True
        return None

    @bp.teardown_request
    def _leave_bulkhead(_exc: BaseException | None) -> None:
        if g.pop("tradestats_bulkhead", False):
            bulkhead.release()

    @spec.route(
        bp,
        "/options/<ticker>/analysis",
        "GET",
        path_params={"ticker": TICKER_PATH},
        summary="Earnings volatility screen: IV30/RV30, term-structure slope, verdict",
        tags=["options"],
        query=AnalysisQuery,
        responses=_responses("Analysis", AnalysisOut),
    )
    def analysis(ticker: str, query: AnalysisQuery) -> Response:
        saved = saved_thresholds(current_app)
        limits = Thresholds(
            saved.min_avg_volume if query.min_avg_volume is None else query.min_avg_volume,
            saved.min_iv30_rv30 if query.min_iv30_rv30 is None else query.min_iv30_rv30,
            saved.max_slope if query.max_slope is None else query.max_slope,
        )
        return _reply(AnalysisOut, _market().analysis(_ticker(ticker), limits, query.rv_variant))

    @spec.route(
        bp,
        "/options/<ticker>/calendar-spread",
        "GET",
        path_params={"ticker": TICKER_PATH},
        summary="Earnings calendar-spread ticket (sell the event expiry, buy ~30 days later)",
        tags=["options"],
        query=SpreadQuery,
        responses=_responses("Calendar spread ticket", CalendarSpreadOut, 422),
    )
    def calendar_spread(ticker: str, query: SpreadQuery) -> Response:
        result = _market().calendar_spread(
            _ticker(ticker), query.earnings_date, query.timing, query.right
        )
        t = result.value
        s = t.spread
        body = {
            **result.meta(),
            "ticker": t.ticker,
            "earningsDate": t.earnings_date.isoformat(),
            "timing": t.timing,
            "earningsDateInferred": t.inferred,
            "spot": t.spot,
            "right": s.right,
            "strike": s.strike,
            "front": _leg(s.front, s.front_liquidity),
            "back": _leg(s.back, s.back_liquidity),
            "debitMid": s.debit_mid,
            "debitFill": s.debit_fill,
            "liquidityScore": s.liquidity_score,
            "warnings": list(s.warnings),
        }
        return _reply(CalendarSpreadOut, body)

    @spec.route(
        bp,
        "/options/<ticker>/chain",
        "GET",
        path_params={"ticker": TICKER_PATH},
        summary="Option chain of one expiry, and the listed expiries",
        tags=["options"],
        query=ChainQuery,
        responses=_responses("Option chain", ChainOut),
    )
    def chain(ticker: str, query: ChainQuery) -> Response:
        symbol = _ticker(ticker)
        market = _market()
        result = market.chain(symbol, query.expiry)
        listed = market.expirations(symbol).value
        c = result.value
        body = {
            **result.meta(),
            "ticker": symbol,
            "expiry": c.expiry.isoformat(),
            "expirations": [d.isoformat() for d in listed],
            "calls": [_contract(x) for x in c.calls],
            "puts": [_contract(x) for x in c.puts],
        }
        return _reply(ChainOut, body)

    @spec.route(
        bp,
        "/market/<ticker>/history",
        "GET",
        path_params={"ticker": TICKER_PATH},
        summary="Daily bars (OHLCV) between two days, inclusive",
        tags=["market"],
        query=HistoryQuery,
        responses=_responses("Daily bars", HistoryOut),
    )
    def history(ticker: str, query: HistoryQuery) -> Response:
        symbol = _ticker(ticker)
        market = _market()
        end = query.end or market.today()
        start = query.start or end - dt.timedelta(days=DEFAULT_HISTORY_DAYS)
        if start > end:
            raise _query_problem("start", "start is after end")
        if (end - start).days > MAX_HISTORY_DAYS:
            raise _query_problem("start", f"at most {MAX_HISTORY_DAYS} days per request")
        result: Sourced[list[Bar]] = market.history(symbol, start, end)
        body = {
            **result.meta(),
            "ticker": symbol,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "bars": [_bar(b) for b in result.value],
        }
        return _reply(HistoryOut, body)

    @spec.route(
        bp,
        "/earnings/calendar",
        "GET",
        summary="Earnings announcements scheduled on one day",
        tags=["earnings"],
        query=CalendarQuery,
        responses=_responses("Earnings calendar", CalendarOut),
    )
    def earnings_calendar(query: CalendarQuery) -> Response:
        market = _market()
        day = query.date or market.today()
        result = market.earnings_calendar(day)
        events = [_event(e) for e in result.value]
        body = {**result.meta(), "date": day.isoformat(), "count": len(events), "events": events}
        return _reply(CalendarOut, body)

    @spec.route(
        bp,
        "/earnings/<ticker>/history",
        "GET",
        path_params={"ticker": TICKER_PATH},
        summary="Past earnings reactions (next-session moves), their summary, upcoming dates",
        tags=["earnings"],
        responses=_responses("Earnings history", EarningsHistoryOut),
    )
    def earnings_history(ticker: str) -> Response:
        result = _market().earnings_history(_ticker(ticker))
        h = result.value
        s = h.summary
        body = {
            **result.meta(),
            "ticker": h.ticker,
            "moves": [
                {
                    "date": m.event.date.isoformat(),
                    "timing": m.event.timing,
                    "inferred": m.inferred,
                    "beforeDate": _date(m.before_date),
                    "afterDate": _date(m.after_date),
                    "beforeClose": m.before_close,
                    "afterClose": m.after_close,
                    "move": m.move,
                    "reason": m.reason,
                }
                for m in h.moves
            ],
            "summary": {
                "count": s.count,
                "skipped": s.skipped,
                "mean": s.mean,
                "median": s.median,
                "min": s.min,
                "max": s.max,
                "meanAbsMove": s.mean_abs_move,
                "upShare": s.up_share,
                "priceBasis": s.price_basis,
            },
            "upcoming": [_event(e) for e in h.upcoming],
        }
        return _reply(EarningsHistoryOut, body)

    return bp
