"""thinkorswim Account Statement and TD Ameritrade transactions.csv (real samples are
GPL-3.0: read from ../shared; the spread/futures/options files are our own)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from tradestats.journal.importers import parse_file
from tradestats.journal.matching import group_multi_leg, match_round_trips
from tradestats.journal.model import AssetClass, OptionRight, Side

STATEMENT = "thinkorswim/tradenote_TD_Ameritrade_account_statement.csv"
TRANSACTIONS = "thinkorswim/beancount_reds_tdameritrade_transactions.csv"
OWN_STATEMENT = "thinkorswim/account_statement_spreads_written_for_tradestats.csv"
OWN_TRANSACTIONS = "thinkorswim/transactions_options_written_for_tradestats.csv"
TITLE = "Account Statement for 1 (x) since 1/2/25 through 1/2/25\n"
TRADE_HEADER = (
    "Account Trade History\n"
    ",Exec Time,Spread,Side,Qty,Pos Effect,Symbol,Exp,Strike,Type,Price,Net Price,"
    "Order Type\n"
)


def test_statement_sample(shared_sample: Callable[[str], Path]) -> None:
    started = time.perf_counter()
    parsed = parse_file(shared_sample(STATEMENT))
    assert time.perf_counter() - started < 2
    assert parsed.broker == "thinkorswim"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (47, 11, [])
    assert parsed.skipped == {
        "cash_trade": 11, "cash_total": 1, "account_order_history": 18,
        "account_summary": 6,
    }
    assert parsed.rows_read == len(parsed.executions) + sum(parsed.skipped.values())
    by_row = {e.row: e for e in parsed.executions}
    # Trade History row 53 "SELL -280 PYPL @13.33" at 11:27 is booked in Cash Balance as
    # "SOLD -280 PYPL @13.33" at 11:27:19, REF # 5886618869, Misc Fees -0.13
    fill = by_row[53]
    assert (fill.side, fill.quantity, fill.price, fill.fees) == (
        Side.SELL, Decimal(280), Decimal("13.33"), Decimal("0.13")
    )
    assert fill.timestamp == datetime(2022, 11, 12, 16, 27, 19, tzinfo=UTC)  # EST
    assert fill.order_id == "5886618869" and fill.raw and fill.raw["cash_line"] == "13"
    assert by_row[55].order_id == "5886618869"  # -8 of the same order
    assert by_row[54].order_id == "5886617769"
    assert {e.instrument.asset_class for e in parsed.executions} == {AssetClass.STOCK}


def test_statement_sample_net_equals_cash_balance_change(
    shared_sample: Callable[[str], Path],
) -> None:
    """Both positions (AMZN short, PYPL long) end flat, so the net P&L must be the Cash
    Balance's change: 25,701.59 at the end, 25,684.07 before the first line
    (26,649.04 - 965.00 + 0.03); fees are the section's TOTAL of Misc Fees ($0.51)."""
    parsed = parse_file(shared_sample(STATEMENT))
    result = match_round_trips(parsed.executions)
    assert result.open_positions == []
    net = sum((rt.net_pnl for rt in result.round_trips), Decimal(0))
    fees = sum((rt.fees for rt in result.round_trips), Decimal(0))
    assert net == Decimal("25701.59") - Decimal("25684.07")
    assert fees == Decimal("0.51")


def test_transactions_sample(shared_sample: Callable[[str], Path]) -> None:
    parsed = parse_file(shared_sample(TRANSACTIONS))
    assert parsed.broker == "thinkorswim"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (16, 7, [])
    assert parsed.skipped == {"transfer": 1, "dividend": 6, "fee": 1, "end_of_file": 1}
    sold = next(e for e in parsed.executions if e.row == 10)  # Sold 5 COST @ 490.045
    assert (sold.side, sold.quantity, sold.price, sold.fees) == (
        Side.SELL, Decimal(5), Decimal("490.045"), Decimal("0.01")
    )
    assert sold.timestamp == datetime(2021, 10, 25, 4, 0, tzinfo=UTC)  # NY midnight
    assert sold.broker_execution_id is None  # masked ids (38XXXXXXXXX) identify nothing
    trips = {rt.instrument.symbol: rt for rt in match_round_trips(parsed.executions).round_trips}
    assert trips["COST"].net_pnl == Decimal("530.915")  # 5 x (490.045 - 383.86) - 0.01
    assert trips["ON"].net_pnl == Decimal("58.10")


def test_own_statement_spreads_futures_expirations(fixtures: Path) -> None:
    parsed = parse_file(fixtures / OWN_STATEMENT)
    assert parsed.broker == "thinkorswim"
    assert parsed.rejections == []
    assert len(parsed.executions) == 16
    assert parsed.skipped == {
        "cash_bal": 1, "cash_trade": 6, "dividend": 1, "cash_total": 1,
        "account_order_history": 2, "profits_and_losses": 1, "account_summary": 1,
    }
    assert parsed.rows_read == len(parsed.executions) + sum(parsed.skipped.values()) == 29
    vertical = [e for e in parsed.executions if e.order_id == "1000001"]
    assert [(e.side, e.instrument.strike, e.price) for e in vertical] == [
        (Side.BUY, Decimal(590), Decimal("6.00")), (Side.SELL, Decimal(595), Decimal("3.90"))
    ]
    assert sum((e.fees for e in vertical), Decimal(0)) == Decimal("1.32")  # split by qty
    assert {e.timestamp for e in vertical} == {datetime(2025, 1, 2, 14, 31, 12, tzinfo=UTC)}
    call = vertical[0].instrument
    assert (call.symbol, call.underlying, call.expiry, call.right, call.multiplier) == (
        "SPY   250117C00590000", "SPY", date(2025, 1, 17), OptionRight.CALL, Decimal(100)
    )
    # the iron condor has no Cash Balance line: one derived order id for its 4 legs
    (first,) = [e for e in parsed.executions if e.raw and e.raw.get("Spread") == "IRON CONDOR"]
    condor = [e for e in parsed.executions if e.order_id == first.order_id]
    assert [e.row for e in condor] == [33, 34, 35, 36]
    assert first.order_id is not None and first.order_id.startswith("tos:")
    assert {e.fees for e in condor} == {Decimal(0)}
    assert {(e.raw or {}).get("cash_line") for e in condor} == {"none"}
    # futures booked in "Futures Statements": fees and seconds from there
    mes = [e for e in parsed.executions if e.instrument.asset_class is AssetClass.FUTURE]
    assert {(e.instrument.symbol, e.instrument.multiplier) for e in mes} == {
        ("MESH25", Decimal(5))
    }
    assert {e.fees for e in mes} == {Decimal("2.20")}

    result = match_round_trips(parsed.executions)
    assert result.open_positions == []  # the RAD expirations closed the condor
    pnl = {rt.instrument.symbol: (rt.gross_pnl, rt.net_pnl) for rt in result.round_trips}
    assert pnl["MESH25"] == (Decimal("42.50"), Decimal("38.10"))
    assert pnl["AAPL"] == (Decimal("50.00"), Decimal("49.95"))
    spy = [v for k, v in pnl.items() if k.startswith("SPY")]
    assert sum((g for g, _ in spy), Decimal(0)) == Decimal("130.00")  # (3.40 - 2.10) x 100
    qqq = [v for k, v in pnl.items() if k.startswith("QQQ")]
    assert sum((g for g, _ in qqq), Decimal(0)) == Decimal("120.00")  # credit 1.20 kept


def test_own_statement_spreads_group_by_order_id(fixtures: Path) -> None:
    parsed = parse_file(fixtures / OWN_STATEMENT)
    trips = match_round_trips(parsed.executions).round_trips
    groups = group_multi_leg(trips)
    sizes = sorted(len(g) for g in groups.values())
    assert sizes == [1, 1, 2, 4]  # AAPL, MES, SPY vertical, QQQ iron condor


def test_expiration_sides(fixtures: Path) -> None:
    parsed = parse_file(fixtures / OWN_STATEMENT)
    removals = {e.row: e for e in parsed.executions if e.price == 0}
    # no quantity: closes what the file holds; "-1": a long removed
    assert {row: (e.side, e.quantity) for row, e in removals.items()} == {
        11: (Side.BUY, Decimal(1)), 12: (Side.SELL, Decimal(1)),
        13: (Side.BUY, Decimal(1)), 14: (Side.SELL, Decimal(1)),
    }


def test_bad_leg_rejects_the_whole_order(tmp_path: Path) -> None:
    path = tmp_path / "stmt.csv"
    path.write_text(
        TITLE + "\n" + TRADE_HEADER
        + ",1/2/25 10:00:00,VERTICAL,BUY,+1,TO OPEN,SPY,17 JAN 25,590,CALL,6.00,2.10,LMT\n"
        + ",,,SELL,-1,TO OPEN,SPY,17 XYZ 25,595,CALL,3.90,DEBIT,\n"
        + ",,,SELL,-1,TO OPEN,SPY,17 JAN 25,600,CALL,1.00,,\n"
        + ",1/2/25 11:00:00,STOCK,SHORTISH,-5,TO OPEN,AAPL,,,STOCK,10,10,LMT\n"
        + ",1/2/25 12:00:00,STOCK,BUY,+5,TO OPEN,AAPL,,,STOCK,10,10,LMT\n"
        + ",1/2/25 12:01:00,FUTURE,BUY,+1,TO OPEN,/QQQQ,,,FUTURE,10,10,LMT\n"
        + ",1/2/25 12:02:00,STOCK,BUY,+1,TO OPEN,AAPL,,,BOND,10,10,LMT\n"
    )
    parsed = parse_file(path)
    assert parsed.broker == "thinkorswim"
    (ok,) = parsed.executions
    assert ok.row == 9 and ok.timestamp == datetime(2025, 1, 2, 17, 0, tzinfo=UTC)
    rejected = sorted((r.row, r.column) for r in parsed.rejections)
    assert rejected == [
        (5, None), (6, "Exp"), (7, None), (8, "Side"), (10, "Symbol"), (11, "Type")
    ]
    reasons = {r.row: r.reason for r in parsed.rejections}
    assert reasons[5] == reasons[7] == "another leg of this order (row 6) was rejected"


def test_leg_without_order_row(tmp_path: Path) -> None:
    path = tmp_path / "stmt.csv"
    path.write_text(
        TITLE + TRADE_HEADER + ",,,SELL,-1,TO OPEN,SPY,17 JAN 25,595,CALL,3.90,DEBIT,\n"
    )
    parsed = parse_file(path)
    assert [(r.row, r.column) for r in parsed.rejections] == [(4, "Exec Time")]


def test_future_option_symbol(tmp_path: Path) -> None:
    path = tmp_path / "stmt.csv"
    path.write_text(
        TITLE + TRADE_HEADER
        + ",10/1/25 10:00:00,SINGLE,SELL,-1,TO OPEN,./MESZ5EXV5,31 OCT 25,5400,PUT,12.5,"
        "12.5,LMT\n"
    )
    parsed = parse_file(path)
    (fop,) = parsed.executions
    inst = fop.instrument
    assert inst.asset_class is AssetClass.FUTURE_OPTION
    assert (inst.underlying, inst.expiry, inst.strike, inst.right, inst.multiplier) == (
        "MESZ5", date(2025, 10, 31), Decimal(5400), OptionRight.PUT, Decimal(5)
    )


def test_removal_rows_that_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "stmt.csv"
    path.write_text(
        TITLE
        + "Cash Balance\nDATE,TIME,TYPE,REF #,DESCRIPTION,Misc Fees,Commissions & Fees,"
        "AMOUNT,BALANCE\n"
        + "1/17/25,17:00:00,RAD,,REMOVAL OF OPTION DUE TO EXPIRATION,,,0,0\n"
        + "1/17/25,17:00:00,RAD,,REMOVAL OF OPTION DUE TO ASSIGNMENT SPY 100 17 JAN 25 "
        "590 PUT,,,0,0\n"
        + "1/17/25,17:00:00,RAD,,REMOVAL OF OPTION DUE TO EXPIRATION SPY 100 17 JAN 25 "
        "590 PUT,,,0,0\n"
        + "1/17/25,17:00:00,RAD,,REMOVAL OF OPTION DUE TO EXERCISE +2 SPY 100 17 JAN 25 "
        "600 CALL,,,0,0\n"
    )
    parsed = parse_file(path)
    assert sorted((r.row, r.column) for r in parsed.rejections) == [
        (4, "DESCRIPTION"), (5, "DESCRIPTION"), (6, "DESCRIPTION")
    ]
    (buy,) = parsed.executions  # "+2": a short removed, whatever the reason says
    assert (buy.side, buy.quantity, buy.price) == (Side.BUY, Decimal(2), Decimal(0))


def test_own_transactions_options(fixtures: Path) -> None:
    parsed = parse_file(fixtures / OWN_TRANSACTIONS)
    assert parsed.broker == "thinkorswim"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (11, 8, [])
    assert parsed.skipped == {"interest": 1, "transfer": 1, "end_of_file": 1}
    by_row = {e.row: e for e in parsed.executions}
    assert (by_row[4].side, by_row[4].price) == (Side.BUY, Decimal(0))  # short put expires
    assert (by_row[5].side, by_row[5].price) == (Side.SELL, Decimal(0))  # long call expires
    assert (by_row[8].side, by_row[8].price) == (Side.BUY, Decimal(0))  # put assigned
    assert by_row[2].fees == Decimal("0.67")  # commission 0.65 + reg fee 0.02
    assert by_row[2].broker_execution_id == "30000000001"
    put = by_row[2].instrument
    assert (put.symbol, put.expiry, put.strike) == (
        "SPY   210115P00370000", date(2021, 1, 15), Decimal(370)
    )
    result = match_round_trips(parsed.executions)
    assert result.open_positions == []
    net = {rt.instrument.symbol: rt.net_pnl for rt in result.round_trips}
    assert net == {
        "SPY   210115P00370000": Decimal("249.33"), "QQQ   210115C00320000": Decimal("-120.65"),
        "IWM   210219P00210000": Decimal("309.33"), "IWM": Decimal("549.87"),
    }


def test_transactions_expiration_without_position_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text(
        "DATE,TRANSACTION ID,DESCRIPTION,QUANTITY,SYMBOL,PRICE,COMMISSION,AMOUNT,REG FEE\n"
        "01/15/2021,1,REMOVAL OF OPTION DUE TO EXPIRATION (0SPY),1,SPY Jan 15 2021 370.0 Put"
        ",,,0.00,\n"
        "01/15/2021,2,Bought 1 SPY Jan 45 2021 370.0 Put @ 2,1,SPY Jan 45 2021 370.0 Put,2,"
        "0,-200,\n"
        "13/15/2021,3,Bought 1 SPY @ 2,1,SPY,2,0,-2,\n"
        "01/15/2021,4,Bought 1 SPY @ 2,,SPY,2,0,-2,\n"
    )
    parsed = parse_file(path)
    assert parsed.executions == []
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (3, "SYMBOL"), (4, "DATE"), (5, "QUANTITY"), (2, "DESCRIPTION")
    ]


def test_transactions_newest_first(tmp_path: Path) -> None:
    """The expiration row comes before the opening sale: it still closes the short."""
    path = tmp_path / "transactions.csv"
    path.write_text(
        "DATE,TRANSACTION ID,DESCRIPTION,QUANTITY,SYMBOL,PRICE,COMMISSION,AMOUNT,REG FEE\n"
        "01/15/2021,2,REMOVAL OF OPTION DUE TO EXPIRATION (0SPY),1,SPY Jan 15 2021 370.0 Put"
        ",,,0.00,\n"
        "01/04/2021,1,Sold 1 SPY Jan 15 2021 370.0 Put @ 2.5,1,SPY Jan 15 2021 370.0 Put,"
        "2.50,0.65,249.35,\n"
    )
    parsed = parse_file(path)
    assert parsed.rejections == []
    expiry = next(e for e in parsed.executions if e.row == 2)
    assert (expiry.side, expiry.price) == (Side.BUY, Decimal(0))
    (trip,) = match_round_trips(parsed.executions).round_trips
    assert trip.net_pnl == Decimal("249.35")
