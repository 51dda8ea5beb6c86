from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import ImportSettings, detect_file, parse_file
from tradestats.journal.importers.values import RowError
from tradestats.journal.importers.webull import parse_webull_time
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, OptionRight, Side

ORDERS = "webull/orders_records.csv"
HEADER = ("Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,"
          "Placed Time,Filled Time\n")


def test_orders_records_counts(fixtures: Path) -> None:
    parsed = parse_file(fixtures / ORDERS)
    assert parsed.broker == "webull"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (16, 11, [])
    # orders that never filled and multi-leg parents are counted by kind, not dropped
    assert parsed.skipped == {
        "cancelled_order": 1, "failed_order": 1, "open_order": 1, "multi_leg_order": 2,
    }
    assert sum(parsed.skipped.values()) + len(parsed.executions) == parsed.rows_read


def test_fill_fields_and_zone_abbreviations(fixtures: Path) -> None:
    by_row = {e.row: e for e in parse_file(fixtures / ORDERS).executions}
    buy = by_row[17]  # Apple Buy Filled 100 @187.50 limit, avg 187.40, 09:31:05 EST
    assert (buy.side, buy.quantity, buy.price, buy.fees) == (
        Side.BUY, Decimal(100), Decimal("187.40"), Decimal(0)
    )
    assert buy.timestamp == datetime(2026, 3, 4, 14, 31, 5, tzinfo=UTC)  # EST = UTC-5
    assert buy.instrument.asset_class is AssetClass.STOCK and buy.instrument.symbol == "AAPL"
    partial = by_row[14]  # Cancelled after filling 40 of 50: the 40 did trade
    assert (partial.side, partial.quantity, partial.price) == (
        Side.SELL, Decimal(40), Decimal("190.00")
    )
    assert partial.timestamp == datetime(2026, 3, 9, 14, 5, tzinfo=UTC)  # EDT = UTC-4
    short = by_row[13]  # "Short" side, market order: the price is Avg Price
    assert (short.side, short.price) == (Side.SELL, Decimal("250.00"))


def test_options_and_multi_leg_orders(fixtures: Path) -> None:
    executions = parse_file(fixtures / ORDERS).executions
    call = next(e for e in executions if e.row == 11)
    inst = call.instrument
    assert inst.asset_class is AssetClass.OPTION
    assert (inst.symbol, inst.underlying, inst.expiry, inst.strike, inst.right,
            inst.multiplier) == (
        "TSLA  260417C00300000", "TSLA", date(2026, 4, 17), Decimal(300), OptionRight.CALL,
        Decimal(100),
    )
    legs = [e for e in executions if e.instrument.underlying == "SPXW"]
    assert len(legs) == 4
    # the legs of one multi-leg order share the order id derived from their parent row
    by_order: dict[str | None, list[int | None]] = {}
    for leg in legs:
        by_order.setdefault(leg.order_id, []).append(leg.row)
    assert by_order == {
        "SPXW Vertical 03/27/2026 11:32:19 EDT": [5, 6],
        "SPXW Vertical 03/26/2026 15:01:46 EDT": [8, 9],
    }
    assert all(e.order_id is None for e in executions if e.instrument.underlying != "SPXW")


def test_fixture_pnl_by_hand(fixtures: Path) -> None:
    """AAPL: +100 @187.40, -60 @189.10 (+102.00), -40 @190.00 (+104.00) = 206.00;
    TSLA short 10 @250.00, cover @244.50 = 55.00; TSLA call 2 x (6.10 - 4.20) x 100 =
    380.00; SPXW vertical: short 6540C 12.97 -> 0.99 = 1198.00, long 6545C 11.72 -> 0.89
    = -1083.00 (net 115.00 = (1.25 - 0.10) x 100). Total 756.00, every position flat."""
    result = match_round_trips(parse_file(fixtures / ORDERS).executions)
    assert result.open_positions == []
    by_symbol = {rt.instrument.symbol: rt.gross_pnl for rt in result.round_trips}
    assert by_symbol["AAPL"] == Decimal("206.00")
    assert by_symbol["TSLA"] == Decimal("55.00")
    assert by_symbol["TSLA  260417C00300000"] == Decimal("380.00")
    assert sum(rt.gross_pnl for rt in result.round_trips) == Decimal("756.00")


def test_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "Webull_Orders_Records.csv"
    path.write_text(
        HEADER
        + "Apple Inc,AAPL,Buy,Filled,1,1,@1,1.00,DAY,03/04/2026 09:31 EST,03/04/2026 09:31 EST\n"
        + "Apple Inc,AAPL,Buy,Filled,1,1,@1,,DAY,03/04/2026 09:31 EST,03/04/2026 09:31 EST\n"
        + "Apple Inc,AAPL,Hold,Filled,1,1,@1,1.00,DAY,03/04/2026 09:31 EST,03/04/2026 09:31 EST\n"
        + "Apple Inc,AAPL,Buy,Filled,1,1,@1,1.00,DAY,03/04/2026 09:31 EST,03/04/2026 09:31 XYZ\n"
        + "Apple Inc,AAPL,Buy,Filled,1,1,@1,1.00,DAY,03/04/2026 09:31 EST,\n"
        + "Apple Inc,AAPL,Buy,Mystery,1,1,@1,1.00,DAY,03/04/2026 09:31 EST,03/04/2026 09:31 EST\n"
        + "Apple Inc,AAPL,Buy,Filled,0,1,@1,1.00,DAY,03/04/2026 09:31 EST,03/04/2026 09:31 EST\n"
        + "Apple Inc,AAPL,Buy,Filled,x,1,@1,1.00,DAY,03/04/2026 09:31 EST,03/04/2026 09:31 EST\n"
    )
    parsed = parse_file(path)
    assert len(parsed.executions) == 1
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (3, "Avg Price"), (4, "Side"), (5, "Filled Time"), (6, "Filled Time"), (7, "Status"),
        (8, "Filled"), (9, "Filled"),
    ]
    assert "unknown time zone 'XYZ'" in parsed.rejections[2].reason
    assert parsed.rejections[3].reason == "Filled Time: date/time is empty"


def test_naive_times_use_the_import_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER + "Apple Inc,AAPL,Buy,Filled,1,1,@1,1.00,DAY,07/01/2026 09:30:00,"
        "07/01/2026 09:30:00\n"
    )
    default = parse_file(path).executions[0]
    assert default.timestamp == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)  # New York, EDT
    berlin = parse_file(path, settings=ImportSettings(timezone="Europe/Berlin"))
    assert berlin.executions[0].timestamp == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)


def test_parse_webull_time() -> None:
    assert parse_webull_time("12/23/2021 09:53:38 PST", "t", UTC) == datetime(
        2021, 12, 23, 17, 53, 38, tzinfo=UTC)
    assert parse_webull_time("12/23/2021 09:53:38 AM EST", "t", UTC) == datetime(
        2021, 12, 23, 14, 53, 38, tzinfo=UTC)
    with pytest.raises(RowError, match="not a date"):
        parse_webull_time("yesterday EST", "t", UTC)


def test_lighter_variant_without_avg_price(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "Name,Symbol,Side,Status,Filled,Price,Time-in-Force,Placed Time,Filled Time\n"
        "Apple Inc,AAPL,Buy,Filled,100,@150.00,Day,01/02/2025 09:30,01/02/2025 09:30 EST\n"
    )
    assert detect_file(path).name == "webull"
    (only,) = parse_file(path).executions
    assert (only.price, only.quantity) == (Decimal("150.00"), Decimal(100))
