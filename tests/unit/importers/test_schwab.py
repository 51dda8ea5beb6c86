from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from tradestats.journal.importers import (
    ImportFormatError,
    ImportSettings,
    MissingColumnError,
    ParsedFile,
    parse_file,
)
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Execution, OptionRight, Side

GHOSTFOLIO = "schwab/export-to-ghostfolio_schwab-export.csv"
CGC = "schwab/capital-gains-calculator_schwab_transactions.csv"
OPTIONS = "schwab/options_written_for_tradestats.csv"
BEANCOUNT = "schwab/beancount_reds_schwab_csv_brokerage_XX876_Transactions_20220731.csv"


def _timed(path: Path, **kwargs: object) -> ParsedFile:
    started = time.perf_counter()
    parsed = parse_file(path, **kwargs)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 2
    assert parsed.broker == "schwab"
    # every row is accounted for: imported, rejected or skipped by kind
    assert parsed.rows_read == (
        len(parsed.executions) + len(parsed.rejections) + sum(parsed.skipped.values())
    )
    return parsed


def _in_time_order(executions: list[Execution]) -> bool:
    return all(a.timestamp <= b.timestamp for a, b in pairwise(executions))


def test_current_export_counts(fixtures: Path) -> None:
    parsed = _timed(fixtures / GHOSTFOLIO)
    assert parsed.rows_read == 120
    assert len(parsed.executions) == 43  # 41 Reinvest Shares, Sell FIHBX, Sell SNAXX... Buy
    assert parsed.rejections == []
    assert parsed.skipped == {
        "dividend": 43, "interest": 5, "fee": 11, "transfer": 4, "tax": 1, "split": 3,
        "stock_dividend": 1, "spin_off": 1, "merger": 2, "name_change": 2,
        "conversion": 2, "cash_in_lieu": 1, "total": 1,
    }
    assert _in_time_order(parsed.executions)
    by_row = {e.row: e for e in parsed.executions}
    # "09/08/2023","Sell","SNAXX",...,"500,135","$1.00","","$500135.00"
    snaxx = by_row[100]
    assert (snaxx.side, snaxx.quantity, snaxx.price, snaxx.fees) == (
        Side.SELL, Decimal(500135), Decimal("1.00"), Decimal(0)
    )
    # 11/01/2023,Reinvest Shares,SPY,SPDR S&P 500 ETF,1.6531,$420.10,,-$694.48
    reinvest = by_row[2]
    assert (reinvest.side, reinvest.quantity, reinvest.price) == (
        Side.BUY, Decimal("1.6531"), Decimal("420.10")
    )
    assert reinvest.instrument.asset_class is AssetClass.STOCK
    assert reinvest.instrument.symbol == "SPY"
    assert reinvest.timestamp == datetime(2023, 11, 1, 4, tzinfo=UTC)  # NY midnight (EDT)
    # 08/22/2023,Sell,FIHBX,...,592.199,$8.46,$10.00,"$5,000.00"
    assert by_row[34].fees == Decimal("10.00")
    # Journaled Shares (-877 DGLRX) moves shares out: a transfer, not a sale
    assert all(e.instrument.symbol != "DGLRX" or e.side is Side.BUY
               for e in parsed.executions)


def test_same_day_rows_are_replayed_oldest_first(fixtures: Path) -> None:
    """The export lists newest first, also within a day: reading it top-down would sell
    before buying. In time order every round trip is long and the P&L is the one a
    trader computes by hand."""
    parsed = _timed(fixtures / CGC)
    assert parsed.rows_read == 13
    assert len(parsed.executions) == 10
    assert parsed.skipped == {"interest": 2, "transfer": 1}
    assert [e.row for e in parsed.executions] == [13, 12, 11, 10, 9, 8, 7, 6, 5, 4]
    result = match_round_trips(parsed.executions)
    assert [rt.direction for rt in result.round_trips] == ["long"] * 4
    # (26-25)*100 + (28-27)*50 + (31*104 - 29*100 - 30*4) + (33-32)*90
    assert [rt.gross_pnl for rt in result.round_trips] == [100, 50, 204, 90]
    assert sum(rt.fees for rt in result.round_trips) == 6 + 5 + 5 + 5 + 5 + 0 + 5 + 5 + 5
    (still_open,) = result.open_positions
    assert still_open.quantity == Decimal("30.5")


def test_options_assignment_exercise_and_expiration(fixtures: Path) -> None:
    parsed = _timed(fixtures / OPTIONS)
    assert parsed.rows_read == 27
    assert len(parsed.executions) == 19
    assert parsed.skipped == {"title": 1, "interest": 1, "transfer": 1, "total": 1}
    rejected = {r.row: (r.column, r.reason) for r in parsed.rejections}
    assert rejected[25] == (
        "Action", "Action: unknown action 'Options Frob' with a quantity; not imported"
    )
    assert rejected[26] == ("Price", "Price: '$abc' is not a number")
    assert rejected[7][0] == "Action" and "holds no position" in rejected[7][1]
    assert rejected[6][0] == "Action" and "holds only 1" in rejected[6][1]
    assert len(rejected) == 4
    assert _in_time_order(parsed.executions)

    by_row = {e.row: e for e in parsed.executions}
    sto = by_row[17]  # Sell to Open AAPL 01/19/2024 200.00 C @ 0.40, fees 0.66
    inst = sto.instrument
    assert (inst.asset_class, inst.symbol, inst.underlying) == (
        AssetClass.OPTION, "AAPL  240119C00200000", "AAPL"
    )
    assert (inst.expiry, inst.strike, inst.right, inst.multiplier) == (
        date(2024, 1, 19), Decimal(200), OptionRight.CALL, Decimal(100)
    )
    assert (sto.side, sto.quantity, sto.price, sto.fees) == (
        Side.SELL, 1, Decimal("0.40"), Decimal("0.66")
    )
    expired_short = by_row[8]  # Expired, no side in the file: closes the short call
    assert (expired_short.side, expired_short.quantity, expired_short.price) == (
        Side.BUY, 1, 0
    )
    assert expired_short.instrument == inst
    assert expired_short.timestamp == datetime(2024, 1, 19, 5, tzinfo=UTC)  # "as of" day
    expired_long = by_row[5]  # 3 long TSLA calls expire: a sale at 0
    assert (expired_long.side, expired_long.quantity, expired_long.price) == (
        Side.SELL, 3, 0
    )
    partly_closed = by_row[9]  # QQQ put: 2 sold, 1 bought back, 1 expires
    assert (partly_closed.side, partly_closed.quantity) == (Side.BUY, 1)
    assigned = by_row[10]  # a short put assigned: bought back at 0 ...
    assert (assigned.side, assigned.price, assigned.instrument.symbol) == (
        Side.BUY, 0, "XYZ   240119P00025000"
    )
    delivery = by_row[11]  # ... and the shares bought at the strike, on their own row
    assert (delivery.instrument.asset_class, delivery.side, delivery.quantity,
            delivery.price) == (AssetClass.STOCK, Side.BUY, 100, Decimal("25.00"))
    exercised = by_row[12]  # a long call exercised: sold at 0 (quantity "-1")
    assert (exercised.side, exercised.quantity, exercised.price) == (Side.SELL, 1, 0)
    short_sale = by_row[15]
    assert (short_sale.side, short_sale.instrument.symbol) == (Side.SELL, "XYZ")

    result = match_round_trips(parsed.executions)
    options = {rt.instrument.symbol: rt for rt in result.round_trips
               if rt.instrument.asset_class is AssetClass.OPTION}
    assert options["AAPL  240119C00200000"].gross_pnl == 40  # 0.40 x 100 kept
    assert options["TSLA  240119C00250000"].gross_pnl == -150  # 0.50 x 3 x 100 lost
    assert options["QQQ   240119P00300000"].gross_pnl == 155  # 180 - 25 - 0
    assert options["AAPL  240119C00190000"].gross_pnl == 125  # (3.10 - 1.85) x 100
    assert options["SPY   240119C00470000"].gross_pnl == -450
    assert options["XYZ   240119P00025000"].gross_pnl == 120
    # XYZ stock: short 50 @ 20, +100 @ 25 (flips long 50), sell 100 @ 24 (flips short
    # 50), cover 50 @ 18: three round trips, the last flat.
    xyz = [rt for rt in result.round_trips if rt.instrument.symbol == "XYZ"]
    assert [rt.direction for rt in xyz] == ["short", "long", "short"]
    assert [rt.gross_pnl for rt in xyz] == [-250, -50, 300]
    open_symbols = {p.instrument.symbol for p in result.open_positions}
    assert open_symbols == {"SPY", "NVDA  240119P00600000"}  # exercise shares; bad expiry


def test_older_quoted_variant_with_title_and_total(
    shared_sample: Callable[[str], Path],
) -> None:
    parsed = _timed(shared_sample(BEANCOUNT))
    assert parsed.rows_read == 13
    assert parsed.skipped == {"title": 1, "transfer": 4, "interest": 1, "dividend": 3,
                              "total": 1}
    assert parsed.rejections == []
    assert [(e.row, e.side, e.quantity, e.price, e.fees) for e in parsed.executions] == [
        (8, Side.BUY, Decimal("0.0249"), Decimal("73.8993"), 0),  # Reinvest Shares
        (6, Side.SELL, Decimal("10.065"), Decimal("73.4049"), Decimal("0.01")),
        (3, Side.BUY, Decimal(45), Decimal("73.7789"), 0),
    ]


def test_timezone_setting_applies_to_dates(fixtures: Path) -> None:
    parsed = _timed(fixtures / CGC, settings=ImportSettings(timezone="UTC"))
    assert parsed.executions[0].timestamp == datetime(2020, 6, 2, tzinfo=UTC)


def test_bad_rows_are_rejected_with_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "schwab.csv"
    path.write_text(
        '"Date","Action","Symbol","Description","Quantity","Price","Fees & Comm","Amount"\n'
        '"13/45/2024","Buy","AAPL","APPLE INC","1","$1.00","","-$1.00"\n'
        '"01/02/2024","Buy","AAPL","APPLE INC","-1","$1.00","","-$1.00"\n'
        '"01/02/2024","Sell","AAPL","APPLE INC","1","","","$1.00"\n'
        '"01/02/2024","Buy","AAPL 13/19/2024 1.00 C","CALL","1","$1.00","","-$1.00"\n'
        '"01/02/2024","Expired","AAPL","APPLE INC","1","","",""\n'
        '"01/02/2024","Buy","","","1","$1.00","","-$1.00"\n'
        '"01/02/2024","Mystery Entry","","","","","","$1.00"\n'
        '"01/02/2024","Buy","912797GL5","US TREASURY BILL","10,000","$99.12","","-$9,912.00"\n'
    )
    parsed = parse_file(path)
    assert parsed.broker == "schwab"
    assert parsed.executions == []
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (2, "Date"), (3, "Quantity"), (4, "Price"), (5, "Symbol"), (6, "Symbol"),
        (7, "Symbol"), (9, "Symbol"),
    ]
    assert "912797GL5 is a bond/CD (CUSIP)" in parsed.rejections[-1].reason
    assert parsed.rejections[0].reason == "Date: '13/45/2024' is not a date"
    assert parsed.rejections[0].raw is not None
    assert parsed.skipped == {"mystery_entry": 1}  # unknown, but no quantity: counted


def test_forced_on_another_layout_names_the_missing_column(fixtures: Path) -> None:
    with pytest.raises(MissingColumnError, match="schwab: required column 'Date'"):
        parse_file(fixtures / "hyperliquid/trade_history.csv", broker="schwab")
    with pytest.raises(ImportFormatError):
        parse_file(fixtures / "ibkr/ib2tw_trades_flex.xml", broker="schwab")


def test_a_file_sorted_oldest_first_gives_the_same_fills(fixtures: Path, tmp_path: Path) -> None:
    lines = (fixtures / CGC).read_text().splitlines()
    path = tmp_path / "oldest_first.csv"
    path.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    expected = _timed(fixtures / CGC).executions
    again = _timed(path).executions
    assert [(e.timestamp, e.side, e.quantity, e.price) for e in again] == [
        (e.timestamp, e.side, e.quantity, e.price) for e in expected
    ]
