"""The report's column path (exact fixed-point integers, cells) against the Decimal
definitions in `tradestats.stats.trades`, computed row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal as D
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tradestats.journal.model import AssetClass, Instrument, RoundTrip
from tradestats.stats import trades as tm
from tradestats.stats.breakdowns import (
    GROUPINGS,
    TradeTable,
    breakdown,
    calendar,
    group_indices,
    summarize,
)
from tradestats.stats.daily import DailyPnl
from tradestats.stats.fixed import fixed_columns
from tradestats.stats.report import money, trade_kpis

NY = ZoneInfo("America/New_York")
T0 = datetime(2024, 3, 8, 12, 0, tzinfo=UTC)  # two days before a DST change in New York
INSTRUMENTS = [
    Instrument("AAPL", AssetClass.STOCK, "AAPL"),
    Instrument("AAPL  240419C00180000", AssetClass.OPTION, "AAPL", multiplier=D(100)),
    Instrument("MESM4", AssetClass.FUTURE, "MES", multiplier=D(5)),
    Instrument("XYZ", AssetClass.STOCK, ""),  # no underlying: grouped by symbol
]


def _ratio(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def reference_kpis(trips: list[RoundTrip], basis: tm.Basis, tolerance: D) -> dict[str, Any]:
    """Every KPI straight from the Decimal definitions (the report before columns)."""
    closed = tm.closed_trips(trips)
    pnls = tm.trade_pnls(closed, basis)
    gross = tm.trade_pnls(closed, "gross")
    wins, losses, breakevens = tm.outcome_counts(pnls, tolerance)
    profit, loss = tm.profit_and_loss(pnls)
    total = tm.total_pnl(pnls)
    rate = tm.win_rate(wins, losses)
    avg_win = tm.average_win(pnls, tolerance)
    avg_loss = tm.average_loss(pnls, tolerance)
    payoff = tm.payoff_ratio(avg_win, avg_loss)
    fees = tm.total_fees(closed)
    seconds = tm.holding_seconds(closed)
    rs = tm.r_multiples(closed, basis)
    use_r = bool(closed) and len(rs) == len(closed)
    return {
        "count": len(pnls),
        "wins": wins,
        "losses": losses,
        "breakevens": breakevens,
        "win_rate": _ratio(rate),
        "net_pnl": money(tm.total_pnl(tm.trade_pnls(closed, "net"))),
        "gross_pnl": money(tm.total_pnl(gross)),
        "fees": money(fees),
        "fees_pct_of_gross": _ratio(tm.fees_pct_of_gross(fees, gross)),
        "gross_profit": money(profit),
        "gross_loss": money(loss),
        "profit_factor": _ratio(tm.profit_factor(profit, loss)),
        "expectancy": money(tm.expectancy(total, len(pnls))),
        "average_win": money(avg_win),
        "average_loss": money(avg_loss),
        "payoff_ratio": _ratio(payoff),
        "largest_win": money(tm.largest_win(pnls)),
        "largest_loss": money(tm.largest_loss(pnls)),
        "max_consecutive_wins": tm.max_consecutive_wins(pnls, tolerance),
        "max_consecutive_losses": tm.max_consecutive_losses(pnls, tolerance),
        "average_holding_seconds": _ratio(tm.average_holding_seconds(seconds), 3),
        "median_holding_seconds": _ratio(tm.median_holding_seconds(seconds), 3),
        "sqn": _ratio(tm.system_quality_number(rs if use_r else pnls)),
        "sqn_basis": "r" if use_r else "pnl",
        "kelly_fraction": _ratio(tm.kelly_fraction(rate, payoff)),
        "r_count": len(rs),
        "r_mean": _ratio(None if (m := tm.mean_r(rs)) is None else float(m)),
        "r_total": _ratio(float(sum(rs, D(0))) if rs else None),
    }


# Amounts with 0 to 16 decimals: beyond 12 the table must widen its scale, not round.
amounts = st.builds(
    lambda units, places: D(units).scaleb(-places),
    st.integers(-(10**9), 10**9),
    st.integers(0, 16),
)
trip_rows = st.lists(
    st.tuples(
        amounts,  # gross
        amounts,  # fees
        st.booleans(),  # net = gross - fees, or an unrelated stored net
        amounts,  # unrelated net
        st.integers(0, 4 * 24 * 60),  # entry minute
        st.integers(0, 10 * 24 * 60),  # holding minutes
        st.sampled_from(INSTRUMENTS),
        st.sampled_from(["long", "short"]),
        st.sampled_from(["A", "B"]),
        st.lists(st.sampled_from(["x", "y"]), max_size=2),
        st.one_of(st.none(), st.sampled_from([D(0), D(50), D("12.5")])),
        st.integers(0, 9),  # 0: still open
    ),
    max_size=40,
)


def _trips(rows: list[Any], sort_by_exit: bool) -> list[RoundTrip]:
    trips = []
    for gross, fees, derived, net, entry, hold, inst, side, acct, tags, risk, state in rows:
        entry_time = T0 + timedelta(minutes=entry)
        trips.append(
            RoundTrip(
                account=acct,
                instrument=inst,
                direction=side,
                entry_time=entry_time,
                exit_time=entry_time + timedelta(minutes=hold) if state else None,
                quantity=D(1),
                entry_price=D(1),
                exit_price=D(1),
                gross_pnl=gross,
                fees=fees,
                net_pnl=gross - fees if derived else net,
                risk=risk,
                tags=list(tags),
            )
        )
    if sort_by_exit:
        trips.sort(key=lambda rt: rt.exit_time or T0)
    return trips


@settings(max_examples=200, deadline=None)
@given(
    trip_rows,
    st.booleans(),
    st.sampled_from(["net", "gross"]),
    st.sampled_from([D("0.005"), D(0), D("1.23456789012345")]),
)
def test_trade_kpis_equal_decimal_definitions(
    rows: list[Any], sort_by_exit: bool, basis: tm.Basis, tolerance: D
) -> None:
    trips = _trips(rows, sort_by_exit)
    assert trade_kpis(trips, basis, tolerance) == reference_kpis(trips, basis, tolerance)


@settings(max_examples=150, deadline=None)
@given(
    trip_rows,
    st.booleans(),
    st.sampled_from(["net", "gross"]),
    st.sampled_from([UTC, NY]),
)
def test_breakdowns_equal_row_by_row_summaries(
    rows: list[Any], sort_by_exit: bool, basis: tm.Basis, tz: tzinfo
) -> None:
    trips = _trips(rows, sort_by_exit)
    table = TradeTable(trips, tz, basis)
    for grouping in GROUPINGS:
        expected = {
            label: summarize([table.trips[i] for i in rows_], basis)
            for label, rows_ in group_indices(table, grouping).items()
        }
        got = breakdown(trips, grouping, tz, basis)
        assert got == expected, grouping
        assert sorted(got) == sorted(expected)
    days = sorted({p for p in table.exit_day_counts()})
    series = [DailyPnl(day, D(1), 1) for day in days]
    assert calendar(series, trips, tz) == calendar(
        series, tz=tz, trades_per_day=table.exit_day_counts()
    )


def test_exit_days_far_from_time_order_use_one_sort() -> None:
    # Alternating exit days make one run per row: the table aggregates by sorting.
    day = 3 * 24 * 60
    stock = INSTRUMENTS[0]
    rows: list[Any] = [
        (D(i % 7 - 3), D("0.5"), True, D(0), i % 2 * day, 1, stock, "long", "A", [], None, 1)
        for i in range(200)
    ]
    trips = _trips(rows, sort_by_exit=False)
    for grouping in ("month", "iso_week", "weekday"):
        table = TradeTable(trips, UTC)
        expected = {
            label: summarize([table.trips[i] for i in rows_])
            for label, rows_ in group_indices(table, grouping).items()
        }
        assert breakdown(trips, grouping) == expected


def test_fixed_columns_are_exact_at_any_scale() -> None:
    values = [D("0.1"), D("-2.000000000001"), D("3")]
    assert fixed_columns([values]) == (12, [[10**11, -2_000_000_000_001, 3 * 10**12]])
    fine = [D("1E-15"), D("-0.5"), D("123456789012345678901234567890")]  # > 28 digits
    scale, (units,) = fixed_columns([fine])
    assert scale == 15
    assert units == [1, -5 * 10**14, 123456789012345678901234567890 * 10**15]
