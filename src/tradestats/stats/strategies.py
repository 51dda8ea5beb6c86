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
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

from tradestats.journal.strategies import StrategyKind, StrategyPosition
from tradestats.stats import trades as tm
from tradestats.stats.table import TradeSummary

__all__ = [
    "StrategyStatistics",
    "closed_positions",
    "strategy_breakdown",
    "strategy_statistics",
    "summarize_positions",
    "underlying_breakdown",
]

_KIND_ORDER = {kind.value: n for n, kind in enumerate(StrategyKind)}
_ZERO = Decimal(0)


_NET = attrgetter("net_pnl")
_GROSS = attrgetter("gross_pnl")
_FEES = attrgetter("fees")


def closed_positions(positions: Iterable[StrategyPosition]) -> list[StrategyPosition]:
    """The positions whose legs are all closed, in input order."""
    return [p for p in positions if p.exit_time is not None]


def summarize_positions(
    positions: Iterable[StrategyPosition],
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> TradeSummary:
    """Trade metrics of the closed positions; wins/losses/PF/expectancy on `basis`."""
    _check(basis)
    return _summary(closed_positions(positions), basis, tolerance)


def _check(basis: str) -> None:
    if basis not in ("net", "gross"):
        raise ValueError(f"basis must be 'net' or 'gross', got {basis!r}")


def _summary(closed: list[StrategyPosition], basis: tm.Basis, tolerance: Decimal) -> TradeSummary:
    nets = list(map(_NET, closed))
    grosses = list(map(_GROSS, closed))
    net_total = tm.total_pnl(nets)
    gross_total = tm.total_pnl(grosses)
    pnls, total = (nets, net_total) if basis == "net" else (grosses, gross_total)
    wins, losses, breakevens = tm.outcome_counts(pnls, tolerance)
    profit, loss = tm.profit_and_loss(pnls)
    return TradeSummary(
        count=tm.trade_count(pnls),
        wins=wins,
        losses=losses,
        breakevens=breakevens,
        win_rate=tm.win_rate(wins, losses),
        net_pnl=net_total,
        gross_pnl=gross_total,
        fees=tm.total_pnl(map(_FEES, closed)),
        profit_factor=tm.profit_factor(profit, loss),
        expectancy=tm.expectancy(total, len(pnls)),
    )


def _grouped(
    positions: Iterable[StrategyPosition],
    key: Callable[[StrategyPosition], str],
    order: Callable[[str], Any],
    basis: tm.Basis,
    tolerance: Decimal,
) -> list[tuple[str, TradeSummary]]:
    _check(basis)
    groups: dict[str, list[StrategyPosition]] = {}
    for position in closed_positions(positions):
        name = key(position)
        group = groups.get(name)
        if group is None:
            groups[name] = [position]
        else:
            group.append(position)
    return [(name, _summary(groups[name], basis, tolerance)) for name in sorted(groups, key=order)]


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


@dataclass(frozen=True)
class StrategyStatistics:
    """Metrics of closed positions: all of them, per strategy kind (in `StrategyKind`
    order) and per underlying (alphabetical)."""

    total: TradeSummary
    by_strategy: list[tuple[str, TradeSummary]]
    by_underlying: list[tuple[str, TradeSummary]]


@dataclass(slots=True)
class _Totals:
    """The additive parts of a `TradeSummary` (every other metric is a ratio of them)."""

    count: int
    wins: int
    losses: int
    breakevens: int
    net: Decimal
    gross: Decimal
    fees: Decimal
    profit: Decimal  # on the basis
    loss: Decimal  # on the basis

    def add(self, other: _Totals) -> None:
        self.count += other.count
        self.wins += other.wins
        self.losses += other.losses
        self.breakevens += other.breakevens
        self.net += other.net
        self.gross += other.gross
        self.fees += other.fees
        self.profit += other.profit
        self.loss += other.loss

    def summary(self, basis: tm.Basis) -> TradeSummary:
        return TradeSummary(
            count=self.count,
            wins=self.wins,
            losses=self.losses,
            breakevens=self.breakevens,
            win_rate=tm.win_rate(self.wins, self.losses),
            net_pnl=self.net,
            gross_pnl=self.gross,
            fees=self.fees,
            profit_factor=tm.profit_factor(self.profit, self.loss),
            expectancy=tm.expectancy(self.net if basis == "net" else self.gross, self.count),
        )


def _totals(closed: list[StrategyPosition], basis: tm.Basis, tolerance: Decimal) -> _Totals:
    nets = list(map(_NET, closed))
    grosses = list(map(_GROSS, closed))
    pnls = nets if basis == "net" else grosses
    wins, losses, breakevens = tm.outcome_counts(pnls, tolerance)
    profit, loss = tm.profit_and_loss(pnls)
    return _Totals(
        count=tm.trade_count(pnls),
        wins=wins,
        losses=losses,
        breakevens=breakevens,
        net=tm.total_pnl(nets),
        gross=tm.total_pnl(grosses),
        fees=tm.total_pnl(map(_FEES, closed)),
        profit=profit,
        loss=loss,
    )


def strategy_statistics(
    positions: Iterable[StrategyPosition],
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> StrategyStatistics:
    """`summarize_positions`, `strategy_breakdown` and `underlying_breakdown` of the
    same positions in one pass: the additive parts (counts, sums) are computed once per
    (strategy, underlying) and added up per group. Decimal sums of money are exact, so
    the figures are those of the three functions."""
    _check(basis)
    cells: dict[tuple[StrategyKind, str], list[StrategyPosition]] = {}
    for position in closed_positions(positions):
        key = (position.strategy, position.underlying)
        cell = cells.get(key)
        if cell is None:
            cells[key] = [position]
        else:
            cell.append(position)
    total = _Totals(0, 0, 0, 0, _ZERO, _ZERO, _ZERO, _ZERO, _ZERO)
    kinds: dict[str, _Totals] = {}
    underlyings: dict[str, _Totals] = {}
    for (kind, underlying), cell in cells.items():
        part = _totals(cell, basis, tolerance)
        total.add(part)
        for name, groups in ((kind.value, kinds), (underlying, underlyings)):
            group = groups.get(name)
            if group is None:
                groups[name] = _Totals(0, 0, 0, 0, _ZERO, _ZERO, _ZERO, _ZERO, _ZERO)
                group = groups[name]
            group.add(part)
    return StrategyStatistics(
        total=total.summary(basis),
        by_strategy=[
            (name, kinds[name].summary(basis))
            for name in sorted(kinds, key=_KIND_ORDER.__getitem__)
        ],
        by_underlying=[(name, underlyings[name].summary(basis)) for name in sorted(underlyings)],
    )
