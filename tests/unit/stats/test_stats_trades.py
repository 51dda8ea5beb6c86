"""Round-trip metrics: hand-computed values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from tradestats.journal.model import AssetClass, Instrument, RoundTrip
from tradestats.stats import trades as tm

PNLS = [D(100), D(-50), D("0.004"), D(200), D(-50), D(-25), D(30)]


def test_outcomes_and_win_rate() -> None:
    assert tm.outcome_counts(PNLS) == (3, 3, 1)
    assert tm.win_count(PNLS) == 3 and tm.loss_count(PNLS) == 3 and tm.breakeven_count(PNLS) == 1
    assert tm.win_rate(3, 3) == 0.5
    assert tm.win_rate(0, 0) is None
    assert tm.outcome_counts([D("0.005"), D("-0.005"), D("0.0051")]) == (1, 0, 2)


def test_money_metrics() -> None:
    profit, loss = tm.profit_and_loss(PNLS)
    assert profit == D("330.004") and loss == D(-125)
    assert tm.profit_factor(profit, loss) == pytest.approx(330.004 / 125)
    assert tm.profit_factor(profit, D(0)) is None
    assert tm.total_pnl(PNLS) == D("205.004")
    assert tm.expectancy(D(210), 7) == D(30)
    assert tm.expectancy(D(0), 0) is None
    assert tm.average_win(PNLS) == D(110)
    assert tm.average_loss(PNLS) == D(-125) / 3
    assert tm.payoff_ratio(D(110), D(-55)) == 2.0
    assert tm.payoff_ratio(D(110), None) is None
    assert tm.largest_win(PNLS) == D(200) and tm.largest_loss(PNLS) == D(-50)
    assert tm.largest_win([D(-1)]) is None


def test_streaks_breakeven_ends_run() -> None:
    assert tm.max_consecutive_wins(PNLS) == 1
    assert tm.max_consecutive_losses(PNLS) == 2
    seq = [D(1), D(1), D(0), D(1), D(-1), D(-1), D(-1)]
    assert tm.max_consecutive_wins(seq) == 2
    assert tm.max_consecutive_losses(seq) == 3


def test_fees_pct_of_gross() -> None:
    assert tm.fees_pct_of_gross(D(10), [D(300), D(-100), D(0)]) == 0.025
    assert tm.fees_pct_of_gross(D(10), [D(0)]) is None


def test_sqn_and_kelly() -> None:
    xs = [D(1), D(2), D(3), D(4)]  # mean 2.5, sample std sqrt(5/3)
    assert tm.system_quality_number(xs) == pytest.approx(2 * 2.5 / (5 / 3) ** 0.5)
    assert tm.system_quality_number([D(1)]) is None
    assert tm.system_quality_number([D(2), D(2)]) is None
    assert tm.kelly_fraction(0.6, 2.0) == pytest.approx(0.4)
    assert tm.kelly_fraction(None, 2.0) is None


def _rt(net: str, minutes: float, risk: str | None = None) -> RoundTrip:
    t = datetime(2024, 1, 2, 15, tzinfo=UTC)
    return RoundTrip(
        account="A",
        instrument=Instrument("X", AssetClass.STOCK, "X"),
        direction="long",
        entry_time=t,
        exit_time=t + timedelta(minutes=minutes),
        quantity=D(1),
        entry_price=D(1),
        exit_price=D(1),
        gross_pnl=D(net) + 1,
        fees=D(1),
        net_pnl=D(net),
        risk=D(risk) if risk else None,
    )


def test_holding_times_and_r_multiples() -> None:
    trips = [_rt("10", 1, "5"), _rt("-5", 3, "5"), _rt("0", 10)]
    secs = tm.holding_seconds(trips)
    assert secs == [60.0, 180.0, 600.0]
    assert tm.average_holding_seconds(secs) == pytest.approx(280.0)
    assert tm.median_holding_seconds(secs) == 180.0
    assert tm.median_holding_seconds([1.0, 2.0]) == 1.5
    rs = tm.r_multiples(trips)
    assert rs == [D(2), D(-1)]
    assert tm.mean_r(rs) == D("0.5")
    assert tm.trade_pnls(trips, "gross") == [D(11), D(-4), D(1)]
    with pytest.raises(ValueError):
        tm.trade_pnls(trips, "other")  # type: ignore[arg-type]
