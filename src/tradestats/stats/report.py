"""The full statistics report as a plain, JSON-serializable dict.

Every number comes from the metric functions in `trades`, `daily` and `breakdowns`;
this module only filters, assembles and serializes. Money is kept as `Decimal` until the
end and emitted as a float rounded to cents; ratios as floats; dates as ISO strings;
undefined values as None.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from datetime import UTC, date, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tradestats.journal.matching import Realization
from tradestats.journal.model import RoundTrip
from tradestats.stats import daily as dm
from tradestats.stats import trades as tm
from tradestats.stats.breakdowns import (
    GROUPINGS,
    TradeFilter,
    TradeSummary,
    TradeTable,
    breakdown_table,
    calendar,
)

_CENT = Decimal("0.01")


def money(value: Decimal | None) -> float | None:
    """Decimal money -> float rounded half-even to cents (None stays None)."""
    if value is None:
        return None
    return float(value.quantize(_CENT, rounding=ROUND_HALF_EVEN))


def _ratio(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _summary_dict(s: TradeSummary) -> dict[str, Any]:
    return {
        "count": s.count,
        "wins": s.wins,
        "losses": s.losses,
        "breakevens": s.breakevens,
        "win_rate": _ratio(s.win_rate),
        "net_pnl": money(s.net_pnl),
        "gross_pnl": money(s.gross_pnl),
        "fees": money(s.fees),
        "profit_factor": _ratio(s.profit_factor),
        "expectancy": money(s.expectancy),
    }


def trade_kpis(
    round_trips: list[RoundTrip],
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """All round-trip KPIs of closed round trips (see `tradestats.stats.trades`)."""
    return _trade_kpis(TradeTable(round_trips, UTC, basis, tolerance), basis, tolerance)


def _trade_kpis(table: TradeTable, basis: tm.Basis, tolerance: Decimal) -> dict[str, Any]:
    """`trade_kpis` from the per-trade columns of `table` (shared with the breakdowns).

    Each figure is the `tradestats.stats.trades` definition, evaluated on the table's
    exact fixed-point columns (sums, counts, extremes and means of exact integers equal
    those of the Decimals they came from).
    """
    n = len(table.trips)
    summary = table.summary()
    money_of = table.money
    wins, losses = summary.wins, summary.losses
    total = summary.net_pnl if basis == "net" else summary.gross_pnl
    win_units = table.win_units()
    loss_units = table.loss_units()
    avg_win = money_of(sum(win_units)) / len(win_units) if win_units else None
    avg_loss = money_of(sum(loss_units)) / len(loss_units) if loss_units else None
    payoff = tm.payoff_ratio(avg_win, avg_loss)
    rate = summary.win_rate
    fees = summary.fees
    win_flags, loss_flags, profit, loss = table.columns[:4]
    seconds = table.holding_seconds()
    rs = tm.r_multiples(table.trips, basis) if any(table.risks) else []
    use_r = bool(n) and len(rs) == n
    return {
        "count": n,
        "wins": wins,
        "losses": losses,
        "breakevens": summary.breakevens,
        "win_rate": _ratio(rate),
        "net_pnl": money(summary.net_pnl),
        "gross_pnl": money(summary.gross_pnl),
        "fees": money(fees),
        "fees_pct_of_gross": _ratio(tm.fees_share(fees, table.gross_turnover())),
        "gross_profit": money(money_of(sum(profit))),
        "gross_loss": money(money_of(sum(loss))),
        "profit_factor": _ratio(summary.profit_factor),
        "expectancy": money(tm.expectancy(total, n)),
        "average_win": money(avg_win),
        "average_loss": money(avg_loss),
        "payoff_ratio": _ratio(payoff),
        "largest_win": money(table.largest_win()),
        "largest_loss": money(table.largest_loss()),
        "max_consecutive_wins": tm.longest_run(win_flags),
        "max_consecutive_losses": tm.longest_run(loss_flags),
        "average_holding_seconds": _ratio(tm.average_holding_seconds(seconds), 3),
        "median_holding_seconds": _ratio(tm.median_holding_seconds(seconds), 3),
        "sqn": _ratio(tm.system_quality_number(rs if use_r else table.floats())),
        "sqn_basis": "r" if use_r else "pnl",
        "kelly_fraction": _ratio(tm.kelly_fraction(rate, payoff)),
        "r_count": len(rs),
        "r_mean": _ratio(None if (m := tm.mean_r(rs)) is None else float(m)),
        "r_total": _ratio(float(sum(rs, Decimal(0))) if rs else None),
    }


def daily_kpis(
    series: list[dm.DailyPnl],
    starting_capital: Decimal,
    net_pnl: Decimal,
    annualization: int = dm.TRADING_DAYS_PER_YEAR,
) -> dict[str, Any]:
    """Equity/drawdown/risk-adjusted KPIs of a daily P&L series (see `daily`)."""
    days = [p.day for p in series]
    pnls = [p.pnl for p in series]
    dd = dm.max_drawdown_episode(days, pnls, starting_capital)
    try:
        returns: list[float] | None = dm.daily_returns(pnls, starting_capital)
    except ValueError:
        returns = None  # equity went to zero or below: return ratios are undefined
    best = dm.best_day(series)
    worst = dm.worst_day(series)
    return {
        "starting_capital": money(starting_capital),
        "ending_equity": money(starting_capital + sum(pnls, Decimal(0))),
        "days": len(series),
        "max_drawdown": money(dd.amount) if dd else 0.0,
        "max_drawdown_pct": _ratio(dd.pct) if dd else 0.0,
        "max_drawdown_peak": _iso(dd.peak_day) if dd else None,
        "max_drawdown_trough": _iso(dd.trough_day) if dd else None,
        "max_drawdown_recovery": _iso(dd.recovery_day) if dd else None,
        "max_drawdown_duration_days": dd.duration_days if dd else 0,
        "max_drawdown_return": _ratio(dm.max_drawdown(returns) if returns else None),
        "recovery_factor": _ratio(dm.recovery_factor(net_pnl, dd.amount if dd else None)),
        "annual_return": _ratio(dm.annual_return(returns, annualization) if returns else None),
        "sharpe": _ratio(dm.sharpe_ratio(returns, 0.0, annualization) if returns else None),
        "sortino": _ratio(dm.sortino_ratio(returns, 0.0, annualization) if returns else None),
        "calmar": _ratio(dm.calmar_ratio(returns, annualization) if returns else None),
        "annualization": annualization,
        "best_day": {"date": best.day.isoformat(), "pnl": money(best.pnl)} if best else None,
        "worst_day": {"date": worst.day.isoformat(), "pnl": money(worst.pnl)} if worst else None,
    }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def full_report(
    round_trips: Iterable[RoundTrip],
    realizations: Iterable[Realization],
    filter: TradeFilter | None = None,  # the name the brief uses; shadows a builtin
    tz: tzinfo = UTC,
    starting_capital: Decimal = Decimal(10000),
    basis: tm.Basis = "net",
    annualization: int = dm.TRADING_DAYS_PER_YEAR,
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """KPIs, breakdowns, equity curve and calendar of the filtered trades, as plain data.

    Trade KPIs cover closed round trips passing `filter`; daily P&L is realized P&L of
    the realizations whose round trip passes it, bucketed by day in `tz`. Sharpe,
    Sortino and Calmar use one return per weekday between the first and last trading
    day (flat weekdays count as 0), annualized by `annualization`.
    """
    # Millions of small, acyclic objects are allocated below; generational GC passes over
    # them (and over the caller's round trips) would cost more than the report itself.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _full_report(
            round_trips,
            realizations,
            filter,
            tz,
            starting_capital,
            basis,
            annualization,
            tolerance,
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _full_report(
    round_trips: Iterable[RoundTrip],
    realizations: Iterable[Realization],
    filter: TradeFilter | None,
    tz: tzinfo,
    starting_capital: Decimal,
    basis: tm.Basis,
    annualization: int,
    tolerance: Decimal,
) -> dict[str, Any]:
    flt = filter if filter is not None else TradeFilter(tz=tz)
    trips = flt.apply(round_trips)
    real = flt.apply_realizations(realizations)
    series = dm.daily_pnl(real, tz, basis)
    filled = dm.fill_weekdays(series)
    table = TradeTable(trips, tz, basis, tolerance)
    kpis = _trade_kpis(table, basis, tolerance)
    overall = table.summary()
    total = overall.net_pnl if basis == "net" else overall.gross_pnl
    equity = dm.equity_curve((p.pnl for p in series), starting_capital)
    return {
        "basis": basis,
        "timezone": str(tz),
        "kpis": kpis,
        "daily": daily_kpis(filled, starting_capital, total, annualization),
        "equity": [
            {"date": p.day.isoformat(), "pnl": money(p.pnl), "equity": money(e)}
            for p, e in zip(series, equity, strict=True)
        ],
        "calendar": [
            {"date": c["date"].isoformat(), "pnl": money(c["pnl"]), "trades": c["trades"]}
            for c in calendar(series, tz=tz, trades_per_day=table.exit_day_counts())
        ],
        "breakdowns": {
            name: [
                {"key": label, **_summary_dict(s)}
                for label, s in breakdown_table(table, name).items()
            ]
            for name in GROUPINGS
        },
    }
