"""Statistics per strategy type and per underlying, hand-computed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from tradestats.journal.strategies import StrategyKind, StrategyPosition
from tradestats.stats.strategies import (
    closed_positions,
    strategy_breakdown,
    summarize_positions,
    underlying_breakdown,
)

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)


def position(
    kind: StrategyKind, underlying: str, gross: str, fees: str, *, closed: bool = True
) -> StrategyPosition:
    return StrategyPosition(
        id=None,
        account="A",
        underlying=underlying,
        strategy=kind,
        direction="long",
        entry_time=T0,
        exit_time=T0 + timedelta(days=1) if closed else None,
        gross_pnl=D(gross),
        fees=D(fees),
        net_pnl=D(gross) - D(fees),
    )


POSITIONS = [
    position(StrategyKind.CALL_DEBIT_VERTICAL, "SPY", "102.60", "2.60"),  # net +100.00
    position(StrategyKind.IRON_CONDOR, "QQQ", "65.20", "5.20"),  # net +60.00
    position(StrategyKind.CALL_DEBIT_VERTICAL, "QQQ", "-37.40", "2.60"),  # net -40.00
    position(StrategyKind.SHORT_PUT, "SPY", "1.304", "1.30"),  # net +0.004: breakeven
    position(StrategyKind.IRON_CONDOR, "SPY", "500", "5", closed=False),  # open: ignored
]


def test_only_closed_positions_count() -> None:
    assert len(closed_positions(POSITIONS)) == 4
    assert summarize_positions(POSITIONS[4:]).count == 0


def test_summary_of_all_closed_positions() -> None:
    s = summarize_positions(POSITIONS)
    assert (s.count, s.wins, s.losses, s.breakevens) == (4, 2, 1, 1)
    assert s.win_rate == pytest.approx(2 / 3)
    # net 100 + 60 - 40 + 0.004 = 120.004; gross 102.60 + 65.20 - 37.40 + 1.304
    assert s.net_pnl == D("120.004")
    assert s.gross_pnl == D("131.704")
    assert s.fees == D("11.70")
    assert s.profit_factor == pytest.approx(160.004 / 40)
    assert s.expectancy == D("120.004") / 4


def test_breakdown_by_strategy_in_kind_order() -> None:
    rows = dict(strategy_breakdown(POSITIONS))
    assert list(rows) == ["short_put", "call_debit_vertical", "iron_condor"]
    vertical = rows["call_debit_vertical"]
    assert (vertical.count, vertical.wins, vertical.losses) == (2, 1, 1)
    assert vertical.win_rate == 0.5
    assert vertical.net_pnl == D("60.00")
    assert vertical.profit_factor == 2.5  # 100 / |-40|
    assert vertical.expectancy == D("30.00")
    condor = rows["iron_condor"]
    assert (condor.count, condor.net_pnl, condor.profit_factor) == (1, D("60.00"), None)
    assert rows["short_put"].win_rate is None  # a breakeven only: no decisive trade


def test_breakdown_by_underlying_alphabetical() -> None:
    rows = dict(underlying_breakdown(POSITIONS))
    assert list(rows) == ["QQQ", "SPY"]
    qqq = rows["QQQ"]
    assert (qqq.count, qqq.net_pnl, qqq.profit_factor) == (2, D("20.00"), 1.5)  # 60 / 40
    spy = rows["SPY"]
    assert (spy.count, spy.wins, spy.breakevens, spy.net_pnl) == (2, 1, 1, D("100.004"))


def test_gross_basis_decides_wins_on_gross_pnl() -> None:
    # Gross: +102.60, +65.20, -37.40, +1.304 -> three wins; the breakeven becomes a win.
    s = summarize_positions(POSITIONS, "gross")
    assert (s.wins, s.losses, s.breakevens) == (3, 1, 0)
    assert s.expectancy == D("131.704") / 4
    assert s.net_pnl == D("120.004")  # totals are reported on both bases


def test_unknown_basis_is_rejected() -> None:
    with pytest.raises(ValueError, match="basis"):
        summarize_positions(POSITIONS, "cash")  # type: ignore[arg-type]
