"""Metrics over a daily P&L series: one small pure function per metric.

Money is `Decimal`; returns and ratios are floats. Daily return r_t = pnl_t / E_{t-1},
where E_0 = starting capital and E_t = E_{t-1} + pnl_t, so the compounded returns
reproduce the equity curve: prod(1 + r_t) = E_T / E_0. The return-based functions match
empyrical's definitions (`sharpe_ratio`, `sortino_ratio`, `max_drawdown`,
`calmar_ratio`, `annual_return`) for the same returns; `annualization` is the number of
periods per year (252 trading days by default). Undefined values are None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from decimal import Decimal
from operator import attrgetter, sub

from tradestats.journal.matching import Realization
from tradestats.stats.localtime import day_runs
from tradestats.stats.trades import Basis

TRADING_DAYS_PER_YEAR = 252
_ZERO = Decimal(0)
_TIME = attrgetter("time")
_GROSS = attrgetter("gross_pnl")
_FEES = attrgetter("fees")


@dataclass(frozen=True, slots=True)
class DailyPnl:
    """Realized P&L of one calendar day (money) and how many closes realized it."""

    day: date
    pnl: Decimal
    closes: int


def daily_pnl(
    realizations: Iterable[Realization], tz: tzinfo, basis: Basis = "net"
) -> list[DailyPnl]:
    """Sum realized P&L per calendar day of the realization time in `tz`, sorted by day.

    pnl_day = sum(net_pnl) (or gross_pnl) of realizations whose time falls on that day in
    the user's timezone. Days without realizations are absent.
    """
    if basis not in ("net", "gross"):
        raise ValueError(f"basis must be 'net' or 'gross', got {basis!r}")
    rows = realizations if isinstance(realizations, list) else list(realizations)
    grosses = list(map(_GROSS, rows))
    pnls = list(map(sub, grosses, map(_FEES, rows))) if basis == "net" else grosses
    totals: dict[date, Decimal] = {}
    counts: dict[date, int] = {}
    # Runs of one day are summed left to right onto the day's running total: the same
    # Decimal additions in the same order as a row-by-row loop, without the loop.
    for start, stop, day in day_runs(list(map(_TIME, rows)), tz):
        totals[day] = sum(pnls[start:stop], totals.get(day, _ZERO))
        counts[day] = counts.get(day, 0) + stop - start
    return [DailyPnl(day, totals[day], counts[day]) for day in sorted(totals)]


def fill_weekdays(series: Sequence[DailyPnl]) -> list[DailyPnl]:
    """Insert zero-P&L days for Monday-Friday dates missing between first and last day.

    Return statistics annualized by trading days need one observation per trading day,
    flat days included. Weekend days already present are kept.
    """
    if not series:
        return []
    present = {p.day: p for p in series}
    out: list[DailyPnl] = []
    day = series[0].day
    last = series[-1].day
    while day <= last:
        point = present.get(day)
        if point is not None:
            out.append(point)
        elif day.weekday() < 5:
            out.append(DailyPnl(day, _ZERO, 0))
        day += timedelta(days=1)
    return out


def equity_curve(pnls: Iterable[Decimal], starting_capital: Decimal) -> list[Decimal]:
    """End-of-day equity E_t = starting_capital + sum(pnl_1..pnl_t), money."""
    equity = starting_capital
    out: list[Decimal] = []
    for p in pnls:
        equity += p
        out.append(equity)
    return out


def daily_returns(pnls: Iterable[Decimal], starting_capital: Decimal) -> list[float]:
    """r_t = pnl_t / E_{t-1} (fraction per day), E_0 = starting_capital.

    Raises ValueError when equity at the start of a day is not positive (returns are
    then undefined).
    """
    equity = starting_capital
    out: list[float] = []
    for p in pnls:
        if equity <= 0:
            raise ValueError(f"equity is {equity} at the start of a day; returns undefined")
        out.append(float(p / equity))
        equity += p
    return out


def best_day(series: Sequence[DailyPnl]) -> DailyPnl | None:
    """The day with the highest P&L (earliest on ties); None for an empty series."""
    return max(series, key=lambda p: p.pnl, default=None)


def worst_day(series: Sequence[DailyPnl]) -> DailyPnl | None:
    """The day with the lowest P&L (earliest on ties); None for an empty series."""
    return min(series, key=lambda p: p.pnl, default=None)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest peak-to-trough fall of equity in money.

    `amount` = peak - trough (money, >= 0); `pct` = amount / peak (fraction, None if
    peak <= 0); `peak_day` is the last day at the peak (None when the peak is the
    starting capital);
    `recovery_day` is the first day equity is back at or above the peak (None if not
    yet); `duration_days` counts calendar days from the peak (or the first day) to the
    recovery (or the last day).
    """

    amount: Decimal
    pct: float | None
    peak_day: date | None
    trough_day: date
    recovery_day: date | None
    duration_days: int


def max_drawdown_episode(
    days: Sequence[date], pnls: Sequence[Decimal], starting_capital: Decimal
) -> Drawdown | None:
    """Largest money drawdown of E_t = starting_capital + cumsum(pnl); None if none.

    max over t of (max_{s<=t} E_s - E_t), with E_0 = starting_capital before day 1.
    """
    if len(days) != len(pnls):
        raise ValueError("days and pnls must have the same length")
    equity = starting_capital
    peak = starting_capital
    peak_i: int | None = None
    best: tuple[Decimal, Decimal, int | None, int] | None = None  # amount, peak, peak_i, i
    for i, p in enumerate(pnls):
        equity += p
        if equity >= peak:
            peak, peak_i = equity, i
        elif best is None or peak - equity > best[0]:
            best = (peak - equity, peak, peak_i, i)
    if best is None:
        return None
    amount, at_peak, at_peak_i, trough_i = best
    equity = starting_capital + sum(pnls[: trough_i + 1], _ZERO)
    recovery_i: int | None = None
    for j in range(trough_i + 1, len(pnls)):
        equity += pnls[j]
        if equity >= at_peak:
            recovery_i = j
            break
    start = days[at_peak_i] if at_peak_i is not None else days[0]
    end = days[recovery_i] if recovery_i is not None else days[-1]
    return Drawdown(
        amount=amount,
        pct=float(amount / at_peak) if at_peak > 0 else None,
        peak_day=days[at_peak_i] if at_peak_i is not None else None,
        trough_day=days[trough_i],
        recovery_day=days[recovery_i] if recovery_i is not None else None,
        duration_days=(end - start).days,
    )


def max_drawdown(returns: Sequence[float]) -> float | None:
    """Largest relative fall of compounded value, min_t (V_t - max_{s<=t} V_s) / max V_s.

    V_0 = 1, V_t = prod(1 + r_1..r_t); a negative fraction (or 0). empyrical's
    `max_drawdown`. None for an empty series.
    """
    if not returns:
        return None
    value = peak = 1.0
    worst = 0.0
    for r in returns:
        value *= 1.0 + r
        peak = max(peak, value)
        worst = min(worst, (value - peak) / peak)
    return worst


def recovery_factor(net_pnl: Decimal, max_drawdown_amount: Decimal | None) -> float | None:
    """recovery_factor = net P&L / |max drawdown amount| (money / money); None if no dd."""
    if not max_drawdown_amount:
        return None
    return float(net_pnl / abs(max_drawdown_amount))


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def annual_return(
    returns: Sequence[float], annualization: int = TRADING_DAYS_PER_YEAR
) -> float | None:
    """CAGR = (prod(1 + r))^(annualization / N) - 1, fraction per year (empyrical)."""
    if not returns:
        return None
    ending = math.prod(1.0 + r for r in returns)
    if ending <= 0:
        return None
    return float(ending ** (annualization / len(returns)) - 1.0)


def sharpe_ratio(
    returns: Sequence[float],
    risk_free: float = 0.0,
    annualization: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """Sharpe = mean(r - rf) / std(r - rf) * sqrt(annualization), sample std (N - 1).

    `risk_free` is per period. Annualized, dimensionless. None when N < 2 or std = 0.
    """
    n = len(returns)
    if n < 2:
        return None
    excess = [r - risk_free for r in returns]
    mean = _mean(excess)
    if max(excess) == min(excess):
        return None
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in excess) / (n - 1))
    return mean / std * math.sqrt(annualization)


def downside_risk(
    returns: Sequence[float],
    required_return: float = 0.0,
    annualization: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """Downside deviation = sqrt(mean(min(r - required, 0)^2)) * sqrt(annualization).

    Mean over all N periods (not only the losing ones), annualized. None when empty.
    """
    if not returns:
        return None
    squares = [min(r - required_return, 0.0) ** 2 for r in returns]
    return math.sqrt(_mean(squares)) * math.sqrt(annualization)


def sortino_ratio(
    returns: Sequence[float],
    required_return: float = 0.0,
    annualization: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """Sortino = mean(r - required) * annualization / downside_risk (annualized).

    None when N < 2 or there is no downside (downside risk 0).
    """
    if len(returns) < 2:
        return None
    risk = downside_risk(returns, required_return, annualization)
    if not risk:
        return None
    return _mean([r - required_return for r in returns]) * annualization / risk


def calmar_ratio(
    returns: Sequence[float], annualization: int = TRADING_DAYS_PER_YEAR
) -> float | None:
    """Calmar = annual_return / |max_drawdown|; None without a drawdown."""
    mdd = max_drawdown(returns)
    cagr = annual_return(returns, annualization)
    if mdd is None or mdd >= 0 or cagr is None:
        return None
    return cagr / abs(mdd)
