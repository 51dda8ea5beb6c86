"""Metrics over closed round trips: one small pure function per metric.

Inputs are sequences of per-trade P&L in money (`Decimal`, net of fees unless the caller
passes gross P&L), in exit-time order where order matters. A trade is a *win* when
``pnl > tolerance``, a *loss* when ``pnl < -tolerance`` and a *breakeven* otherwise
(``|pnl| <= tolerance``, default 0.005 money units, i.e. half a cent). Ratios are plain
floats; money stays `Decimal`. Undefined values (no trades, division by zero) are None.

Implementation note: the passes over a million trades use `map`/`filter` with bound
comparison methods (``tolerance.__lt__(p)`` is ``p > tolerance``) so they run at C speed;
they perform the same Decimal operations, in the same order, as the plain loops would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from itertools import repeat
from operator import attrgetter, sub
from typing import Literal

from tradestats.journal.model import RoundTrip

Basis = Literal["net", "gross"]

DEFAULT_TOLERANCE = Decimal("0.005")
_ZERO = Decimal(0)
_EXIT = attrgetter("exit_time")
_ENTRY = attrgetter("entry_time")
_NET = attrgetter("net_pnl")
_GROSS = attrgetter("gross_pnl")
_FEES = attrgetter("fees")
_RISK = attrgetter("risk")


def closed_trips(round_trips: Iterable[RoundTrip]) -> list[RoundTrip]:
    """The closed round trips (``exit_time is not None``), in input order."""
    rows = round_trips if isinstance(round_trips, list) else list(round_trips)
    if None in map(_EXIT, rows):
        return [rt for rt in rows if rt.exit_time is not None]
    return rows


def _values(pnls: Iterable[Decimal]) -> Sequence[Decimal]:
    return pnls if isinstance(pnls, list | tuple) else list(pnls)


def trade_pnls(round_trips: Iterable[RoundTrip], basis: Basis = "net") -> list[Decimal]:
    """Per-trade P&L of closed round trips: `net_pnl` (default) or `gross_pnl`, money."""
    if basis == "net":
        return list(map(_NET, closed_trips(round_trips)))
    if basis == "gross":
        return list(map(_GROSS, closed_trips(round_trips)))
    raise ValueError(f"basis must be 'net' or 'gross', got {basis!r}")


def trade_count(pnls: Sequence[Decimal]) -> int:
    """N = number of closed trades."""
    return len(pnls)


def outcomes(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> list[int]:
    """Per-trade outcome: 1 win (pnl > tol), -1 loss (pnl < -tol), 0 breakeven."""
    values = _values(pnls)
    # True - False == 1, False - True == -1, False - False == 0
    return list(map(sub, map(tolerance.__lt__, values), map((-tolerance).__gt__, values)))


def outcome_counts(
    pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE
) -> tuple[int, int, int]:
    """(wins, losses, breakevens) as classified by `outcomes`."""
    values = _values(pnls)
    wins = list(map(tolerance.__lt__, values)).count(True)
    losses = list(map((-tolerance).__gt__, values)).count(True)
    return wins, losses, len(values) - wins - losses


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
    return sum(map(_FEES, round_trips), _ZERO)


def fees_pct_of_gross(fees: Decimal, gross_pnls: Iterable[Decimal]) -> float | None:
    """Fees as a share of gross P&L turnover: fees / sum(|gross_pnl|).

    A fraction (0.025 means 2.5%), like every other ``*_pct`` value in the report: how
    much of the money moved by trading went to costs. None when every gross P&L is zero.
    """
    return fees_share(fees, sum(map(abs, gross_pnls), _ZERO))


def fees_share(fees: Decimal, turnover: Decimal) -> float | None:
    """fees / turnover, turnover = sum(|gross_pnl|) (see `fees_pct_of_gross`)."""
    return float(fees / turnover) if turnover else None


def profit_and_loss(pnls: Iterable[Decimal]) -> tuple[Decimal, Decimal]:
    """(gross profit, gross loss) = (sum of pnl > 0, sum of pnl < 0), money."""
    values = _values(pnls)
    return sum(filter(_ZERO.__lt__, values), _ZERO), sum(filter(_ZERO.__gt__, values), _ZERO)


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
    wins = list(filter(tolerance.__lt__, pnls))
    return sum(wins, _ZERO) / len(wins) if wins else None


def average_loss(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> Decimal | None:
    """Mean P&L of losses (pnl < -tolerance), money (negative); None without losses."""
    losses = list(filter((-tolerance).__gt__, pnls))
    return sum(losses, _ZERO) / len(losses) if losses else None


def payoff_ratio(avg_win: Decimal | None, avg_loss: Decimal | None) -> float | None:
    """payoff = average_win / |average_loss|; None if either is undefined or zero."""
    if avg_win is None or not avg_loss:
        return None
    return float(avg_win / abs(avg_loss))


def largest_win(pnls: Iterable[Decimal]) -> Decimal | None:
    """max(pnl) over trades with pnl > 0, money; None without a positive trade."""
    return max(filter(_ZERO.__lt__, pnls), default=None)


def largest_loss(pnls: Iterable[Decimal]) -> Decimal | None:
    """min(pnl) over trades with pnl < 0, money (negative); None without a negative trade."""
    return min(filter(_ZERO.__gt__, pnls), default=None)


def max_consecutive_wins(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> int:
    """Longest run of consecutive wins in the given (exit-time) order.

    Any non-win (loss or breakeven) ends a run.
    """
    return longest_run(map(tolerance.__lt__, pnls))


def max_consecutive_losses(pnls: Iterable[Decimal], tolerance: Decimal = DEFAULT_TOLERANCE) -> int:
    """Longest run of consecutive losses in the given order; any non-loss ends a run."""
    return longest_run(map((-tolerance).__gt__, pnls))


def longest_run(flags: Iterable[bool]) -> int:
    """Longest run of True: the flags as bytes 0/1, split at the zeros."""
    return max(map(len, bytes(flags).split(b"\x00")))


def holding_seconds(round_trips: Iterable[RoundTrip]) -> list[float]:
    """Holding time of each closed round trip, exit_time - entry_time, in seconds."""
    rows = closed_trips(round_trips)
    return list(map(timedelta.total_seconds, map(sub, map(_EXIT, rows), map(_ENTRY, rows))))


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
    return math.sqrt(math.fsum(map(pow, map(sub, values, repeat(mean)), repeat(2))) / (n - 1))


def system_quality_number(values: Sequence[Decimal] | Sequence[float]) -> float | None:
    """SQN = sqrt(N) * mean(x) / std(x), sample std (N - 1); x = R-multiples or P&L.

    Dimensionless (Van Tharp), computed in floats (each x correctly rounded from its
    Decimal). None when N < 2 or std = 0.
    """
    xs = list(map(float, values))
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
    rows = closed_trips(round_trips)
    risks = list(map(_RISK, rows))
    if not any(risks):
        return []
    pnls = map(_NET if basis == "net" else _GROSS, rows)
    return [p / r for p, r in zip(pnls, risks, strict=True) if r]


def mean_r(rs: Sequence[Decimal]) -> Decimal | None:
    """Mean R-multiple = sum(R) / count; None without trades with risk."""
    return sum(rs, _ZERO) / len(rs) if rs else None
