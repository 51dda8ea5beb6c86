"""Multi-leg strategy endpoints: positions with their legs, and statistics per strategy
type and per underlying."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from flask import Blueprint, Response, current_app, json
from pydantic import BaseModel, Field

from tradestats.api.openapi import ApiSpec, ResponseSpec
from tradestats.api.trades import Filters, Paging, mixed_currencies_problem
from tradestats.journal.reports import MixedCurrencies
from tradestats.journal.strategies import DEFAULT_WINDOW_SECONDS, Leg, StrategyKind
from tradestats.journal.strategies import StrategyPosition as Position
from tradestats.journal.strategy_reports import (
    PositionFilter,
    select_positions,
    strategy_currency,
    strategy_statistics,
)
from tradestats.services import services_of
from tradestats.stats.table import TradeSummary

_CENT = Decimal("0.01")


class StrategyFilters(Filters):
    """The /api/trades filters, applied to whole positions (see `PositionFilter`), plus
    the strategy type and the window (seconds) linking legs without a shared order id."""

    strategy: StrategyKind | None = None
    window: float = Field(
        default=DEFAULT_WINDOW_SECONDS,
        ge=0,
        le=3600,
        description="seconds between opening fills that group legs without a shared order id",
    )

    def position_filter(self) -> PositionFilter:
        q = self.trade_query()  # 400 naming `start` for a reversed range
        return PositionFilter(
            symbol=q.symbol,
            side=q.side,
            asset_class=q.asset_class,
            tag=q.tag,
            start=q.start,
            end=q.end,
            strategy=self.strategy,
        )


class StrategiesQuery(Paging, StrategyFilters):
    sort: Literal["exit_time", "entry_time", "net_pnl", "holding_seconds", "underlying"] = (
        "exit_time"
    )


class StrategyStatsQuery(StrategyFilters):
    basis: Literal["net", "gross"] = "net"


class PositionLegOut(BaseModel):
    tradeId: str | None
    symbol: str
    assetClass: str
    direction: str
    quantity: str
    multiplier: str
    expiry: str | None
    strike: str | None
    right: str | None
    entryTime: str
    exitTime: str | None
    entryPrice: str
    exitPrice: str | None
    grossPnl: float
    fees: float
    netPnl: float
    orderId: str | None


class PositionOut(BaseModel):
    id: str | None
    account: str
    underlying: str
    strategy: str
    direction: str
    units: int | None
    entryTime: str
    exitTime: str | None
    holdingSeconds: float | None
    grossPnl: float
    fees: float
    netPnl: float
    orderIds: list[str]
    legs: list[PositionLegOut]


class PositionPage(BaseModel):
    total: int
    limit: int
    offset: int
    window: float
    items: list[PositionOut]


class SummaryOut(BaseModel):
    count: int
    wins: int
    losses: int
    breakevens: int
    win_rate: float | None
    net_pnl: float
    gross_pnl: float
    fees: float
    profit_factor: float | None
    expectancy: float | None


class GroupOut(SummaryOut):
    key: str


class StrategyStats(BaseModel):
    currency: str | None = Field(
        description="The base currency of the positions' account(s): every amount is in it "
        "(null when there is no position)"
    )
    basis: str
    window: float
    total: SummaryOut
    byStrategy: list[GroupOut]
    byUnderlying: list[GroupOut]


def _leg_dict(leg: Leg) -> dict[str, Any]:
    t = leg.trip
    inst = t.instrument
    return {
        "tradeId": leg.key,
        "symbol": inst.symbol,
        "assetClass": inst.asset_class.value,
        "direction": t.direction,
        "quantity": str(t.quantity),
        "multiplier": str(inst.multiplier),
        "expiry": inst.expiry.isoformat() if inst.expiry else None,
        "strike": str(inst.strike) if inst.strike is not None else None,
        "right": inst.right.value if inst.right else None,
        "entryTime": t.entry_time.isoformat(),
        "exitTime": t.exit_time.isoformat() if t.exit_time else None,
        "entryPrice": str(t.entry_price),
        "exitPrice": str(t.exit_price) if t.exit_price is not None else None,
        "grossPnl": float(t.gross_pnl),
        "fees": float(t.fees),
        "netPnl": float(t.net_pnl),
        "orderId": leg.order_id,
    }


def position_dict(p: Position) -> dict[str, Any]:
    """A position and its legs as JSON (money as floats, like /api/trades)."""
    return {
        "id": p.id,
        "account": p.account,
        "underlying": p.underlying,
        "strategy": p.strategy.value,
        "direction": p.direction,
        "units": p.units,
        "entryTime": p.entry_time.isoformat(),
        "exitTime": p.exit_time.isoformat() if p.exit_time else None,
        "holdingSeconds": p.holding_seconds,
        "grossPnl": float(p.gross_pnl),
        "fees": float(p.fees),
        "netPnl": float(p.net_pnl),
        "orderIds": p.order_ids,
        "legs": [_leg_dict(leg) for leg in p.legs],
    }


def _money(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(value.quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def summary_dict(s: TradeSummary) -> dict[str, Any]:
    """Metrics with money rounded half-even to cents, ratios to 6 digits (as /api/stats)."""
    return {
        "count": s.count,
        "wins": s.wins,
        "losses": s.losses,
        "breakevens": s.breakevens,
        "win_rate": _ratio(s.win_rate),
        "net_pnl": _money(s.net_pnl),
        "gross_pnl": _money(s.gross_pnl),
        "fees": _money(s.fees),
        "profit_factor": _ratio(s.profit_factor),
        "expectancy": _money(s.expectancy),
    }


def _json(body: Any) -> Response:
    return Response(json.dumps(body), mimetype="application/json")


def register(spec: ApiSpec) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered)."""
    bp = Blueprint("strategies", __name__, url_prefix="/api")

    @spec.route(
        bp,
        "/strategies",
        "GET",
        summary="Closed multi-leg positions (legs grouped by order id or time), paginated",
        tags=["journal"],
        query=StrategiesQuery,
        responses={200: ResponseSpec("A page of strategy positions", model=PositionPage)},
    )
    def list_strategies(query: StrategiesQuery) -> Response:
        chosen = select_positions(
            services_of(current_app).engine,
            query.account,
            query.window,
            query.position_filter(),
            query.sort,
            query.order == "desc",
        )
        page = chosen[query.offset : query.offset + query.limit]
        return _json(
            {
                "total": len(chosen),
                "limit": query.limit,
                "offset": query.offset,
                "window": query.window,
                "items": [position_dict(p) for p in page],
            }
        )

    @spec.route(
        bp,
        "/stats/strategies",
        "GET",
        summary="Statistics of closed strategy positions per strategy type and underlying",
        tags=["stats"],
        query=StrategyStatsQuery,
        responses={200: ResponseSpec("Breakdown", model=StrategyStats)},
    )
    def strategy_stats(query: StrategyStatsQuery) -> Response:
        basis = query.basis
        engine = services_of(current_app).engine
        try:
            currency = strategy_currency(engine, query.account, query.window)
        except MixedCurrencies as exc:
            raise mixed_currencies_problem(exc) from None
        stats = strategy_statistics(
            engine,
            query.account,
            query.window,
            query.position_filter(),
            basis,
        )
        return _json(
            {
                "currency": currency,
                "basis": basis,
                "window": query.window,
                "total": summary_dict(stats.total),
                "byStrategy": [{"key": key, **summary_dict(s)} for key, s in stats.by_strategy],
                "byUnderlying": [{"key": key, **summary_dict(s)} for key, s in stats.by_underlying],
            }
        )

    return bp
