"""Statistics of strategy positions (multi-leg trades), per strategy type and underlying.

A position (see `tradestats.journal.strategies`) counts as one trade: its P&L is the sum
of its legs'. Each group reports the same metrics as every other breakdown
(`TradeSummary`), evaluated with the one definition of each metric in
`tradestats.stats.trades` on the positions' P&L: a win is ``pnl > tolerance``, win rate
is wins / (wins + losses), profit factor is gross profit / |gross loss|, expectancy is
total / count. Only closed positions (every leg closed) count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from tradestats.journal.strategies import StrategyKind, StrategyPosition
from tradestats.stats import trades as tm
from tradestats.stats.table import TradeSummary

__all__ = [
    "closed_positions",
    "strategy_breakdown",
    "summarize_positions",
    "underlying_breakdown",
]

_KIND_ORDER = {kind.value: n for n, kind in enumerate(StrategyKind)}


def closed_positions(positions: Iterable[StrategyPosition]) -> list[StrategyPosition]:
    """The positions whose legs are all closed, in input order."""
    return [p for p in positions if p.exit_time is not None]


def summarize_positions(
    positions: Iterable[StrategyPosition],
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> TradeSummary:
    """Trade metrics of the closed positions; wins/losses/PF/expectancy on `basis`."""
    if basis not in ("net", "gross"):
        raise ValueError(f"basis must be 'net' or 'gross', got {basis!r}")
    closed = closed_positions(positions)
    nets = [p.net_pnl for p in closed]
    grosses = [p.gross_pnl for p in closed]
    pnls = nets if basis == "net" else grosses
    wins, losses, breakevens = tm.outcome_counts(pnls, tolerance)
    profit, loss = tm.profit_and_loss(pnls)
    return TradeSummary(
        count=tm.trade_count(pnls),
        wins=wins,
        losses=losses,
        breakevens=breakevens,
        win_rate=tm.win_rate(wins, losses),
        net_pnl=tm.total_pnl(nets),
        gross_pnl=tm.total_pnl(grosses),
        fees=tm.total_pnl(p.fees for p in closed),
        profit_factor=tm.profit_factor(profit, loss),
        expectancy=tm.expectancy(tm.total_pnl(pnls), len(pnls)),
    )


def _grouped(
    positions: Iterable[StrategyPosition],
    key: Callable[[StrategyPosition], str],
    order: Callable[[str], Any],
    basis: tm.Basis,
    tolerance: Decimal,
) -> list[tuple[str, TradeSummary]]:
    groups: dict[str, list[StrategyPosition]] = {}
    for position in closed_positions(positions):
        groups.setdefault(key(position), []).append(position)
    return [
        (name, summarize_positions(groups[name], basis, tolerance))
        for name in sorted(groups, key=order)
    ]


def strategy_breakdown(
    positions: Iterable[StrategyPosition],
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> list[tuple[str, TradeSummary]]:
    """(strategy kind, metrics) per kind present among the closed positions, in the
    order of `StrategyKind` (single legs first, custom last)."""
    return _grouped(
        positions, lambda p: p.strategy.value, _KIND_ORDER.__getitem__, basis, tolerance
    )


def underlying_breakdown(
    positions: Iterable[StrategyPosition],
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> list[tuple[str, TradeSummary]]:
    """(underlying, metrics) per underlying of the closed positions, alphabetical."""
    return _grouped(positions, lambda p: p.underlying, str, basis, tolerance)
