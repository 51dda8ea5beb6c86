"""Daily-series metrics: hand-computed values and agreement with empyrical."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Execution, Instrument, Side
from tradestats.stats import daily as dm

DAYS = [date(2024, 1, d) for d in (2, 3, 4, 5, 8)]
PNLS = [D(100), D(-300), D(50), D(400), D(-20)]


def test_equity_and_returns() -> None:
    assert dm.equity_curve(PNLS, D(1000)) == [D(1100), D(800), D(850), D(1250), D(1230)]
    rets = dm.daily_returns(PNLS, D(1000))
    assert rets == pytest.approx([0.1, -300 / 1100, 50 / 800, 400 / 850, -20 / 1250])
    with pytest.raises(ValueError):
        dm.daily_returns([D(-1000), D(5)], D(1000))


def test_drawdown_episode() -> None:
    dd = dm.max_drawdown_episode(DAYS, PNLS, D(1000))
    assert dd is not None
    assert dd.amount == D(300)
    assert dd.pct == pytest.approx(300 / 1100)
    assert dd.peak_day == date(2024, 1, 2)
    assert dd.trough_day == date(2024, 1, 3)
    assert dd.recovery_day == date(2024, 1, 5)
    assert dd.duration_days == 3
    assert dm.recovery_factor(sum(PNLS, D(0)), dd.amount) == pytest.approx(230 / 300)
    assert dm.max_drawdown_episode(DAYS[:1], PNLS[:1], D(1000)) is None
    # loss on day one: peak is the starting capital, never recovered
    dd2 = dm.max_drawdown_episode(DAYS[:2], [D(-10), D(-5)], D(100))
    assert dd2 is not None and dd2.peak_day is None and dd2.recovery_day is None
    assert dd2.amount == D(15) and dd2.duration_days == 1


def test_best_worst_and_fill() -> None:
    series = [dm.DailyPnl(d, p, 1) for d, p in zip(DAYS, PNLS, strict=True)]
    assert dm.best_day(series) == series[3]
    assert dm.worst_day(series) == series[1]
    sparse = [series[0], series[4]]  # Tue 2nd .. Mon 8th
    filled = dm.fill_weekdays(sparse)
    assert [p.day.day for p in filled] == [2, 3, 4, 5, 8]
    assert [p.pnl for p in filled] == [D(100), 0, 0, 0, D(-20)]


def test_ratios_hand_computed() -> None:
    r = [0.01, -0.02, 0.03, 0.0]
    mean = 0.005
    std = (sum((x - mean) ** 2 for x in r) / 3) ** 0.5
    assert dm.sharpe_ratio(r, annualization=252) == pytest.approx(mean / std * 252**0.5)
    dr = ((0.02**2) / 4) ** 0.5 * 252**0.5
    assert dm.downside_risk(r) == pytest.approx(dr)
    assert dm.sortino_ratio(r) == pytest.approx(mean * 252 / dr)
    assert dm.sharpe_ratio([0.01]) is None
    assert dm.sharpe_ratio([0.01, 0.01]) is None
    assert dm.sortino_ratio([0.01, 0.02]) is None
    assert dm.max_drawdown([0.1, -0.5, 0.2]) == pytest.approx(-0.5)
    assert dm.calmar_ratio([0.1, 0.2]) is None


def _returns(seed: int, n: int) -> list[float]:
    rnd = random.Random(seed)
    return [rnd.gauss(0.0005, 0.012) for _ in range(n)]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ann", [252, 365])
def test_agrees_with_empyrical(seed: int, ann: int) -> None:
    empyrical = pytest.importorskip("empyrical")
    np = pytest.importorskip("numpy")
    # build returns from a Decimal P&L series, as the report does
    pnls = [D(str(round(x * 10000, 2))) for x in _returns(seed, 300)]
    r = dm.daily_returns(pnls, D(10000))
    arr = np.asarray(r)
    assert dm.sharpe_ratio(r, annualization=ann) == pytest.approx(
        empyrical.sharpe_ratio(arr, annualization=ann), rel=1e-9
    )
    assert dm.sortino_ratio(r, annualization=ann) == pytest.approx(
        empyrical.sortino_ratio(arr, annualization=ann), rel=1e-9
    )
    assert dm.max_drawdown(r) == pytest.approx(empyrical.max_drawdown(arr), rel=1e-9)
    assert dm.annual_return(r, ann) == pytest.approx(
        empyrical.annual_return(arr, annualization=ann), rel=1e-9
    )
    assert dm.calmar_ratio(r, ann) == pytest.approx(
        empyrical.calmar_ratio(arr, annualization=ann), rel=1e-9
    )
    # the money drawdown of the equity curve is the same episode in percent
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(len(pnls))]
    dd = dm.max_drawdown_episode(days, pnls, D(10000))
    assert dd is not None and dd.pct is not None
    assert dd.pct <= -empyrical.max_drawdown(arr) + 1e-12


def test_daily_pnl_buckets_by_local_date() -> None:
    inst = Instrument("X", AssetClass.STOCK, "X")

    def ex(ts: datetime, side: Side, price: str, fee: str = "1") -> Execution:
        return Execution("A", inst, ts, side, D(1), D(price), D(fee))

    # 2024-03-01 23:30 UTC is 18:30 in New York (still the 1st), 00:30 on the 2nd in Paris
    t = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    fills = [ex(t - timedelta(hours=1), Side.BUY, "10"), ex(t, Side.SELL, "15")]
    reals = match_round_trips(fills).realizations
    ny = dm.daily_pnl(reals, ZoneInfo("America/New_York"))
    paris = dm.daily_pnl(reals, ZoneInfo("Europe/Paris"))
    assert ny == [dm.DailyPnl(date(2024, 3, 1), D(3), 1)]
    assert paris == [dm.DailyPnl(date(2024, 3, 2), D(3), 1)]
    assert dm.daily_pnl(reals, UTC, "gross")[0].pnl == D(5)
