from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from tradestats.journal.importers import parse_file
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, OptionRight, Side

ACTIVITY = "robinhood/activity.csv"
HEADER = ('"Activity Date","Process Date","Settle Date","Instrument","Description",'
          '"Trans Code","Quantity","Price","Amount"\n')


def test_activity_counts(fixtures: Path) -> None:
    parsed = parse_file(fixtures / ACTIVITY)
    assert parsed.broker == "robinhood"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (16, 11, [])
    assert parsed.skipped == {
        "dividend": 1, "interest": 1, "transfer": 1, "fee": 1, "footer": 1,
    }


def test_oldest_first_with_same_day_order_kept(fixtures: Path) -> None:
    executions = parse_file(fixtures / ACTIVITY).executions
    rows = [e.row for e in executions]
    # the file is newest first; executions come out oldest first, and the same-day rows
    # keep Robinhood's sequence reversed (OASGN row 8 before its stock leg, row 7); the
    # TSLA rows of 2/3/2026 keep Robinhood's sequence: STO (row 3) before BTC (row 2)
    assert rows == [15, 14, 13, 12, 10, 9, 8, 7, 4, 3, 2]
    assert [e.timestamp for e in executions] == sorted(e.timestamp for e in executions)
    tsla = [e for e in executions if e.instrument.underlying == "TSLA"]
    assert [e.side for e in tsla] == [Side.SELL, Side.BUY]


def test_fill_fields(fixtures: Path) -> None:
    by_row = {e.row: e for e in parse_file(fixtures / ACTIVITY).executions}
    buy = by_row[15]  # 1/5/2026 Buy 10 AAPL $180.00 ($1,800.00)
    assert (buy.side, buy.quantity, buy.price, buy.fees) == (
        Side.BUY, Decimal(10), Decimal("180.00"), Decimal(0)
    )
    assert buy.timestamp == datetime(2026, 1, 5, 5, 0, tzinfo=UTC)  # midnight New York
    assert buy.instrument.asset_class is AssetClass.STOCK and buy.instrument.symbol == "AAPL"
    stc = by_row[13]  # STC 1 @ $5.00 credited $499.97: 0.03 regulatory fees
    assert (stc.side, stc.price, stc.fees) == (Side.SELL, Decimal("5.00"), Decimal("0.03"))
    inst = stc.instrument
    assert (inst.asset_class, inst.symbol, inst.underlying, inst.expiry, inst.strike,
            inst.right, inst.multiplier) == (
        AssetClass.OPTION, "AAPL  260116C00190000", "AAPL", date(2026, 1, 16), Decimal(190),
        OptionRight.CALL, Decimal(100),
    )
    btc = by_row[2]  # BTC 1 @ $8.00 debited ($800.02)
    assert (btc.side, btc.fees) == (Side.BUY, Decimal("0.02"))
    sell = by_row[4]  # multi-line Description, "$58,499.90"
    assert (sell.side, sell.quantity, sell.fees) == (Side.SELL, Decimal(100), Decimal("0.10"))


def test_expiration_and_assignment(fixtures: Path) -> None:
    by_row = {e.row: e for e in parse_file(fixtures / ACTIVITY).executions}
    expired = by_row[10]  # OEXP "1S" of the AAPL call the file is long 1 of
    assert (expired.side, expired.quantity, expired.price, expired.fees) == (
        Side.SELL, Decimal(1), Decimal(0), Decimal(0)
    )
    assert expired.instrument.symbol == "AAPL  260116C00190000"
    assigned = by_row[8]  # OASGN of the short SPY put: bought back at 0
    assert (assigned.side, assigned.price) == (Side.BUY, Decimal(0))
    assert assigned.instrument.symbol == "SPY   260130P00580000"
    stock_leg = by_row[7]  # the assignment's stock leg, reported as a Buy at the strike
    assert (stock_leg.instrument.symbol, stock_leg.side, stock_leg.price) == (
        "SPY", Side.BUY, Decimal("580.00")
    )


def test_fixture_pnl_by_hand(fixtures: Path) -> None:
    """AAPL stock 10 x (185.50 - 180.00) = 55.00; AAPL call: bought 2 @3.50, sold 1 @5.00
    (+150.00), 1 expired (-350.00) = -200.00; SPY put sold @4.00, assigned (+400.00);
    SPY stock 100 x (585 - 580) = 500.00; TSLA call sold @10, bought @8 = 200.00.
    Gross 955.00; fees 0.03 + 0.04 + 0.10 + 0.03 + 0.05 + 0.02 = 0.27; net 954.73, which
    is exactly the sum of the fills' Amount cells (the cash the trades moved)."""
    result = match_round_trips(parse_file(fixtures / ACTIVITY).executions)
    assert result.open_positions == []
    gross = sum(rt.gross_pnl for rt in result.round_trips)
    fees = sum(rt.fees for rt in result.round_trips)
    assert (gross, fees) == (Decimal("955.00"), Decimal("0.27"))
    assert gross - fees == Decimal("954.73")


def test_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    path.write_text(
        HEADER
        + '"1/9/2026","1/9/2026","1/12/2026","SPY","SPY 1/30/2026 Put $580.00","STO","1",'
          '"$4.00","$399.96"\n'
        + '"1/9/2026","1/9/2026","1/12/2026","AAPL","Apple","Buy","1","$180.00","$180.00"\n'
        + '"13/9/2026","1/9/2026","1/12/2026","AAPL","Apple","Buy","1","$180.00","($180.00)"\n'
        + '"1/9/2026","1/9/2026","1/12/2026","AAPL","AAPL weekly call","BTO","1","$1.00",'
          '"($100.00)"\n'
        + '"1/9/2026","1/9/2026","1/12/2026","AAPL","Apple","Buy","abc","$180.00","($1.00)"\n'
        + '"1/9/2026","1/9/2026","1/12/2026","AAPL","Apple","","1","$180.00","($180.00)"\n'
        + '"1/16/2026","1/16/2026","1/16/2026","MSFT","Option Expiration for MSFT 1/16/2026 '
          'Call $500.00","OEXP","1S","",""\n'
        + '"1/9/2026","1/9/2026","1/12/2026","AAPL","Apple","Buy","1","","($180.00)"\n'
    )
    parsed = parse_file(path)
    assert len(parsed.executions) == 1
    by_row = {r.row: r for r in parsed.rejections}
    assert {row: r.column for row, r in by_row.items()} == {
        3: "Amount", 4: "Activity Date", 5: "Description", 6: "Quantity", 7: "Trans Code",
        8: "Trans Code", 9: "Price",
    }
    assert "for a buy should be a debit" in by_row[3].reason
    assert "no position" in by_row[8].reason
    assert by_row[7].reason == "Trans Code: empty"


def test_oldest_first_export_is_kept_in_order(tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    path.write_text(
        HEADER
        + '"1/5/2026","1/5/2026","1/6/2026","AAPL","Apple","Buy","1","$10.00","($10.00)"\n'
        + '"1/5/2026","1/5/2026","1/6/2026","AAPL","Apple","Sell","1","$11.00","$11.00"\n'
        + '"1/6/2026","1/6/2026","1/7/2026","AAPL","Apple","Buy","1","$12.00","($12.00)"\n'
    )
    assert [e.row for e in parse_file(path).executions] == [2, 3, 4]
