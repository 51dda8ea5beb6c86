"""Metrics over closed round trips: one small pure function per metric.

Inputs are sequences of per-trade P&L in money (`Decimal`, net of fees unless the caller
passes gross P&L), in exit-time order where order matters. A trade is a *win* when
``pnl > tolerance``, a *loss* when ``pnl < -tolerance`` and a *breakeven* otherwise
(``|pnl| <= tolerance``, default 0.005 money units, i.e. half a cent). Ratios are plain
floats; money stays `Decimal`. Undefined values (no trades, division by zero) are None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Literal

from tradestats.journal.model import RoundTrip

Basis = Literal["net", "gross"]

DEFAULT_TOLERANCE = Decimal("0.005")
_ZERO = Decimal(0)


def trade_pnls(round_trips: Iterable[RoundTrip], basis: Basis = "net") -> list[Decimal]:
    """Per-trade P&L of closed round trips: `net_pnl` (default) or `gross_pnl`, money."""
    if basis == "net":
        return [rt.net_pnl for rt in round_trips if rt.exit_time is not None]
    if basis == "gross":
        return [rt.gross_pnl for rt in round_trips if rt.exit_time is not None]
    raise ValueError(f"basis must be 'net' or 'gross', got {basis!r}")


def trade_count(pnls: Sequence[Decimal]) -> int:
    """N = number of closed trades."""
    return len(pnls)


def outcomes(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> list[int]:
    """Per-trade outcome: 1 win (pnl > tol), -1 loss (pnl < -tol), 0 breakeven."""
    neg = -tolerance
    return [1 if p > tolerance else (-1 if p < neg else 0) for p in pnls]


def outcome_counts(
    pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE
) -> tuple[int, int, int]:
    """(wins, losses, breakevens) as classified by `outcomes`."""
    codes = outcomes(pnls, tolerance)
    wins = codes.count(1)
    losses = codes.count(-1)
    return wins, losses, len(codes) - wins - losses


def win_count(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> int:
    """Number of trades with pnl > tolerance."""
    return outcome_counts(pnls, tolerance)[0]


def loss_count(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> int:
    """Number of trades with pnl < -tolerance."""
    return outcome_counts(pnls, tolerance)[1]


def breakeven_count(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> int:
    """Number of trades with |pnl| <= tolerance (neither win nor loss)."""
    return outcome_counts(pnls, tolerance)[2]


def win_rate(wins: int, losses: int) -> float | None:
    """win_rate = wins / (wins + losses), a fraction in [0, 1]; breakevens excluded.

    None when there is no decisive trade. This is the one definition of win rate.
    """
    decisive = wins + losses
    return wins / decisive if decisive else None


def total_pnl(pnls: Iterable[Decimal]) -> Decimal:
    """Sum of P&L, money."""
    return sum(pnls, _ZERO)


def total_fees(round_trips: Iterable[RoundTrip]) -> Decimal:
    """Sum of round-trip fees (commissions and fees as a positive cost), money."""
    return sum((rt.fees for rt in round_trips), _ZERO)


def fees_pct_of_gross(fees: Decimal, gross_pnls: Iterable[Decimal]) -> float | None:
    """Fees as a percentage of gross turnover of P&L: 100 * fees / sum(|gross_pnl|).

    Percent (2.5 means 2.5%). How much of the money moved by trading went to costs;
    None when every gross P&L is zero.
    """
    turnover = sum((abs(p) for p in gross_pnls), _ZERO)
    return float(100 * fees / turnover) if turnover else None


def profit_and_loss(pnls: Iterable[Decimal]) -> tuple[Decimal, Decimal]:
    """(gross profit, gross loss) = (sum of pnl > 0, sum of pnl < 0), money."""
    values = pnls if isinstance(pnls, Sequence) else list(pnls)
    return (
        sum([p for p in values if p > 0], _ZERO),
        sum([p for p in values if p < 0], _ZERO),
    )


def gross_profit(pnls: Iterable[Decimal]) -> Decimal:
    """Sum of positive P&L, money (>= 0)."""
    return profit_and_loss(pnls)[0]


def gross_loss(pnls: Iterable[Decimal]) -> Decimal:
    """Sum of negative P&L, money (<= 0)."""
    return profit_and_loss(pnls)[1]


def profit_factor(profit: Decimal, loss: Decimal) -> float | None:
    """profit_factor = gross_profit / |gross_loss|; None when there is no loss.

    Inputs from `profit_and_loss`. Dimensionless; > 1 means profits exceed losses.
    """
    return float(profit / abs(loss)) if loss else None


def expectancy(total: Decimal, count: int) -> Decimal | None:
    """Mean P&L per trade = total P&L / N, money per trade; None when N = 0."""
    return total / count if count else None


def average_win(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> Decimal | None:
    """Mean P&L of wins (pnl > tolerance), money; None without wins."""
    wins = [p for p in pnls if p > tolerance]
    return sum(wins, _ZERO) / len(wins) if wins else None


def average_loss(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> Decimal | None:
    """Mean P&L of losses (pnl < -tolerance), money (negative); None without losses."""
    losses = [p for p in pnls if p < -tolerance]
    return sum(losses, _ZERO) / len(losses) if losses else None


def payoff_ratio(avg_win: Decimal | None, avg_loss: Decimal | None) -> float | None:
    """payoff = average_win / |average_loss|; None if either is undefined or zero."""
    if avg_win is None or not avg_loss:
        return None
    return float(avg_win / abs(avg_loss))


def largest_win(pnls: Iterable[Decimal]) -> Decimal | None:
    """max(pnl) over trades with pnl > 0, money; None without a positive trade."""
    return max((p for p in pnls if p > 0), default=None)


def largest_loss(pnls: Iterable[Decimal]) -> Decimal | None:
    """min(pnl) over trades with pnl < 0, money (negative); None without a negative trade."""
    return min((p for p in pnls if p < 0), default=None)


def max_consecutive_wins(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> int:
    """Longest run of consecutive wins in the given (exit-time) order.

    Any non-win (loss or breakeven) ends a run.
    """
    best = run = 0
    for p in pnls:
        run = run + 1 if p > tolerance else 0
        best = max(best, run)
    return best


def max_consecutive_losses(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> int:
    """Longest run of consecutive losses in the given order; any non-loss ends a run."""
    best = run = 0
    for p in pnls:
        run = run + 1 if p < -tolerance else 0
        best = max(best, run)
    return best


def holding_seconds(round_trips: Iterable[RoundTrip]) -> list[float]:
    """Holding time of each closed round trip, exit_time - entry_time, in seconds."""
    return [
        (rt.exit_time - rt.entry_time).total_seconds()
        for rt in round_trips
        if rt.exit_time is not None
    ]


def average_holding_seconds(seconds: Sequence[float]) -> float | None:
    """Mean holding time, seconds; None when empty."""
    return math.fsum(seconds) / len(seconds) if seconds else None


def median_holding_seconds(seconds: Sequence[float]) -> float | None:
    """Median holding time (mean of the two middle values for even N), seconds."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def sample_std(values: Sequence[float]) -> float | None:
    """Sample standard deviation, sqrt(sum((x - mean)^2) / (N - 1)); None when N < 2."""
    n = len(values)
    if n < 2:
        return None
    mean = math.fsum(values) / n
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def system_quality_number(values: Sequence[Decimal]) -> float | None:
    """SQN = sqrt(N) * mean(x) / std(x), sample std (N - 1); x = R-multiples or P&L.

    Dimensionless (Van Tharp), computed in floats. None when N < 2 or std = 0.
    """
    xs = [float(v) for v in values]
    std = sample_std(xs)
    if not std:
        return None
    return math.sqrt(len(xs)) * (math.fsum(xs) / len(xs)) / std


def kelly_fraction(rate: float | None, payoff: float | None) -> float | None:
    """Kelly f* = W - (1 - W) / payoff, W = win rate (fraction); None if undefined.

    Fraction of capital per trade; negative means the edge is negative.
    """
    if rate is None or not payoff:
        return None
    return rate - (1 - rate) / payoff


def r_multiples(round_trips: Iterable[RoundTrip], basis: Basis = "net") -> list[Decimal]:
    """R = pnl / risk for closed round trips with a known, non-zero risk (money at risk)."""
    out: list[Decimal] = []
    for rt in round_trips:
        if rt.exit_time is None or not rt.risk:
            continue
        out.append((rt.net_pnl if basis == "net" else rt.gross_pnl) / rt.risk)
    return out


def mean_r(rs: Sequence[Decimal]) -> Decimal | None:
    """Mean R-multiple = sum(R) / count; None without trades with risk."""
    return sum(rs, _ZERO) / len(rs) if rs else None
