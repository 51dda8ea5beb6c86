"""Breakdowns, filters, calendar and the full report."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Execution, Instrument, Side
from tradestats.stats.breakdowns import (
    TradeFilter,
    breakdown,
    calendar,
    holding_bucket,
    summarize,
)
from tradestats.stats.daily import daily_pnl
from tradestats.stats.localtime import LocalClock
from tradestats.stats.report import full_report

NY = ZoneInfo("America/New_York")
AAPL = Instrument("AAPL", AssetClass.STOCK, "AAPL")
MES = Instrument("MESM4", AssetClass.FUTURE, "MES", multiplier=D(5))


def ex(
    ts: datetime, side: str, qty: int, price: str, inst: Instrument = AAPL, acct: str = "A"
) -> Execution:
    s = Side.BUY if side == "buy" else Side.SELL
    return Execution(acct, inst, ts, s, D(qty), D(price), D("1"))


# Tue 2024-01-02 and Wed 2024-01-03, times in UTC (NY = UTC-5)
T1 = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
T2 = datetime(2024, 1, 3, 20, 0, tzinfo=UTC)
FILLS = [
    ex(T1, "buy", 10, "100"),
    ex(T1 + timedelta(seconds=30), "sell", 10, "103"),  # long +30 gross, 28 net, 30 s
    ex(T1 + timedelta(minutes=1), "sell", 2, "5000", MES),
    ex(T1 + timedelta(minutes=11), "buy", 2, "5010", MES),  # short -100 gross, -102 net
    ex(T2, "buy", 5, "50", acct="B"),
    ex(T2 + timedelta(hours=3), "sell", 5, "50", acct="B"),  # account B, breakeven gross, -2 net
]


@pytest.fixture
def trips() -> list:  # type: ignore[type-arg]
    res = match_round_trips(FILLS)
    res.round_trips[0].tags.append("breakout")
    return res.round_trips


def test_summarize(trips: list) -> None:  # type: ignore[type-arg]
    s = summarize(trips)
    assert (s.count, s.wins, s.losses, s.breakevens) == (3, 1, 2, 0)
    assert s.net_pnl == D(-76) and s.gross_pnl == D(-70) and s.fees == D(6)
    assert s.win_rate == pytest.approx(1 / 3)
    assert s.profit_factor == pytest.approx(28 / 104)
    assert s.expectancy == D(-76) / 3
    g = summarize(trips, basis="gross")
    assert (g.wins, g.losses, g.breakevens) == (1, 1, 1)
    assert g.win_rate == 0.5


def test_breakdowns(trips: list) -> None:  # type: ignore[type-arg]
    by_side = breakdown(trips, "side", NY)
    assert list(by_side) == ["long", "short"]
    assert by_side["long"].count == 2 and by_side["short"].net_pnl == D(-102)
    assert set(breakdown(trips, "asset_class")) == {"stock", "future"}
    assert breakdown(trips, "symbol")["MES"].gross_pnl == D(-100)
    assert breakdown(trips, "account")["B"].net_pnl == D(-2)
    tags = breakdown(trips, "tag")
    assert tags["breakout"].count == 1 and tags["(untagged)"].count == 2
    assert list(breakdown(trips, "weekday", NY)) == ["Tue", "Wed"]
    assert list(breakdown(trips, "hour", NY)) == ["10", "15"]
    assert list(breakdown(trips, "month", NY)) == ["2024-01"]
    assert list(breakdown(trips, "iso_week", NY)) == ["2024-W01"]
    hold = breakdown(trips, "holding_time")
    assert list(hold) == ["<1m", "5-30m", "2h-1d"]
    with pytest.raises(ValueError):
        breakdown(trips, "moon")


def test_holding_bucket_edges() -> None:
    assert holding_bucket(59.9) == "<1m"
    assert holding_bucket(60) == "1-5m"
    assert holding_bucket(7 * 86400) == ">7d"


def test_filter(trips: list) -> None:  # type: ignore[type-arg]
    assert len(TradeFilter(account="B").apply(trips)) == 1
    assert len(TradeFilter(symbol="MES").apply(trips)) == 1
    assert len(TradeFilter(side="long", account="A").apply(trips)) == 1
    assert len(TradeFilter(asset_class=AssetClass.FUTURE).apply(trips)) == 1
    assert len(TradeFilter(tag="breakout").apply(trips)) == 1
    assert len(TradeFilter(start=date(2024, 1, 3), tz=NY).apply(trips)) == 1
    assert len(TradeFilter(end=date(2024, 1, 2), tz=NY).apply(trips)) == 2


def test_calendar(trips: list) -> None:  # type: ignore[type-arg]
    reals = match_round_trips(FILLS).realizations
    cal = calendar(daily_pnl(reals, NY), trips, NY)
    assert cal == [
        {"date": date(2024, 1, 2), "pnl": D(-74), "trades": 2},
        {"date": date(2024, 1, 3), "pnl": D(-2), "trades": 1},
    ]


def test_local_clock_matches_astimezone_across_dst() -> None:
    clock = LocalClock(NY)
    t = datetime(2024, 3, 9, 0, 0, tzinfo=UTC)
    for i in range(0, 72 * 60, 7):
        when = t + timedelta(minutes=i)
        local = when.astimezone(NY)
        assert clock.date(when) == local.date()
        assert clock.hour(when) == local.hour


def test_full_report_is_json_and_obeys_filter() -> None:
    res = match_round_trips(FILLS)
    rep = full_report(res.round_trips, res.realizations, None, NY, D(10000))
    json.dumps(rep)
    assert rep["kpis"]["count"] == 3
    assert rep["kpis"]["net_pnl"] == -76.0
    assert rep["equity"][-1]["equity"] == 9924.0
    assert rep["daily"]["max_drawdown"] == 76.0
    assert [c["trades"] for c in rep["calendar"]] == [2, 1]
    assert {row["key"] for row in rep["breakdowns"]["side"]} == {"long", "short"}
    only_b = full_report(
        res.round_trips, res.realizations, TradeFilter(account="B", tz=NY), NY, D(10000)
    )
    assert only_b["kpis"]["count"] == 1
    assert only_b["equity"] == [{"date": "2024-01-03", "pnl": -2.0, "equity": 9998.0}]
    assert [r["key"] for r in only_b["breakdowns"]["account"]] == ["B"]
