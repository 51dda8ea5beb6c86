"""Tradovate: position history (paired fills) with the broker's P/L proof, orders and
fills exports."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import ImportSettings, parse_file
from tradestats.journal.importers.tradovate import TradovateImporter
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Side

PAIRS = "tradovate/tradetally_tradovate-paired-trades-sample.csv"
ORDERS = "tradovate/orders_written_for_tradestats.csv"
FILLS = "tradovate/fills_written_for_tradestats.csv"
HALF_CENT = Decimal("0.005")
PAIR_HEADER = (
    "Position ID,Timestamp,Trade Date,Net Pos,Net Price,Bought,Avg. Buy,Sold,Avg. Sell,"
    "Account,Contract,Product,Product Description,_priceFormat,_priceFormatType,_tickSize,"
    "Pair ID,Buy Fill ID,Sell Fill ID,Paired Qty,Buy Price,Sell Price,P/L,Currency,"
    "Bought Timestamp,Sold Timestamp\n"
)


def _pair_row(
    pair: str, buy: str, sell: str, qty: str, buy_px: str, sell_px: str, pnl: str,
    bought: str, sold: str, contract: str = "ESZ5",
) -> str:
    return (
        f"1,{sold},2025-11-03,0,,{qty},{buy_px},{qty},{sell_px},ACC,{contract},ES,E-mini,"
        f"-2,0,0.25,{pair},{buy},{sell},{qty},{buy_px},{sell_px},{pnl},USD,{bought},{sold}\n"
    )


def test_position_history_sample(fixtures: Path) -> None:
    started = time.perf_counter()
    parsed = parse_file(fixtures / PAIRS)
    assert time.perf_counter() - started < 2
    assert parsed.broker == "tradovate"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (5, 10, [])
    assert parsed.skipped == {}
    # row 3: pair 465747740193, buy 1 @ 25060.75 at 15:38:40, sell 1 @ 25048.50 at 15:40:03
    buy, sell = (e for e in parsed.executions if e.row == 3)
    assert (buy.side, buy.quantity, buy.price) == (Side.BUY, 1, Decimal("25060.75"))
    assert (sell.side, sell.quantity, sell.price) == (Side.SELL, 1, Decimal("25048.50"))
    assert buy.timestamp == datetime(2026, 4, 9, 15, 38, 40, tzinfo=UTC)
    assert buy.broker_execution_id == "465747740168/465747740193"
    assert sell.broker_execution_id == "465747740191/465747740193"
    inst = buy.instrument
    assert (inst.symbol, inst.asset_class, inst.underlying, inst.multiplier) == (
        "MNQM6", AssetClass.FUTURE, "MNQ", Decimal(2)
    )
    # row 5: a short pair, the sell (15:36:31) opens and comes first
    first, second = (e for e in parsed.executions if e.row == 5)
    assert (first.side, second.side) == (Side.SELL, Side.BUY)
    ids = [e.broker_execution_id for e in parsed.executions]
    assert len(set(ids)) == len(ids) == 10


def test_broker_pnl_per_closing_trade_and_total(fixtures: Path) -> None:
    """Proof: our FIFO realized P&L equals Tradovate's ``P/L`` for every pair (keyed by
    the closing fill's time: the later of the two) and in total, to the cent. The export
    has no commissions, so gross = net here."""
    parsed = parse_file(fixtures / PAIRS)
    broker: dict[datetime, Decimal] = defaultdict(Decimal)
    for e in parsed.executions:
        if e.side is Side.SELL:  # one per pair
            assert e.raw is not None
            pair = [x for x in parsed.executions if x.row == e.row]
            broker[max(x.timestamp for x in pair)] += Decimal(e.raw["P/L"])
    ours: dict[datetime, Decimal] = defaultdict(Decimal)
    result = match_round_trips(parsed.executions)
    for r in result.realizations:
        ours[r.time] += r.net_pnl
    assert set(ours) == set(broker) and len(ours) == 5
    for when, value in broker.items():
        assert abs(ours[when] - value) < HALF_CENT, (when, ours[when], value)
    assert sum(ours.values()) == sum(broker.values()) == Decimal("-218.00")
    assert result.open_positions == []


def test_fill_paired_twice_keeps_unique_ids(tmp_path: Path) -> None:
    """One buy fill of 3 closed by two sells: two executions of the fill, one per pair,
    each P/L still reproduced by FIFO."""
    path = tmp_path / "positions.csv"
    path.write_text(
        PAIR_HEADER
        + _pair_row("P1", "B1", "S1", "1", "6000.00", "6001.00", "50.00",
                    "11/03/2025 14:00:00", "11/03/2025 14:05:00")
        + _pair_row("P2", "B1", "S2", "2", "6000.00", "5999.50", "-50.00",
                    "11/03/2025 14:00:00", "11/03/2025 14:10:00")
    )
    parsed = parse_file(path)
    assert parsed.broker == "tradovate" and parsed.rejections == []
    assert [e.broker_execution_id for e in parsed.executions] == [
        "B1/P1", "S1/P1", "B1/P2", "S2/P2"
    ]
    realized = [r.net_pnl for r in match_round_trips(parsed.executions).realizations]
    assert realized == [Decimal("50.00"), Decimal("-50.00")]


def test_bad_pair_rows_are_rejected_with_column(tmp_path: Path) -> None:
    path = tmp_path / "positions.csv"
    path.write_text(
        PAIR_HEADER
        + _pair_row("P1", "B1", "S1", "1", "6000", "6001", "50",
                    "13/45/2025 14:00:00", "11/03/2025 14:05:00")
        + _pair_row("P2", "B2", "S2", "0", "6000", "6001", "0",
                    "11/03/2025 14:00:00", "11/03/2025 14:05:00")
        + _pair_row("P3", "B3", "S3", "1", "abc", "6001", "0",
                    "11/03/2025 14:00:00", "11/03/2025 14:05:00")
        + _pair_row("P4", "B4", "S4", "1", "1", "2", "0",
                    "11/03/2025 14:00:00", "11/03/2025 14:05:00", contract="XYZZ9")
        + _pair_row("P5", "", "S5", "1", "1", "2", "0",
                    "11/03/2025 14:00:00", "11/03/2025 14:05:00")
        + _pair_row("", "", "", "", "", "", "", "", "")
    )
    parsed = parse_file(path)
    assert parsed.executions == []
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (2, "Bought Timestamp"), (3, "Paired Qty"), (4, "Buy Price"), (5, "Contract"),
        (6, "Buy Fill ID"),
    ]
    assert "no multiplier known for futures root 'XYZ'" in parsed.rejections[3].reason
    assert parsed.skipped == {"position_without_pairs": 1}
    assert parsed.rows_read == 6


def test_unknown_root_with_multiplier_setting(tmp_path: Path) -> None:
    path = tmp_path / "positions.csv"
    path.write_text(PAIR_HEADER + _pair_row(
        "P1", "B1", "S1", "1", "10", "11", "7", "11/03/2025 14:00:00",
        "11/03/2025 14:05:00", contract="XYZZ9"))
    parsed = parse_file(path, settings=ImportSettings(multipliers={"XYZ": Decimal(7)}))
    assert parsed.rejections == []
    assert {e.instrument.multiplier for e in parsed.executions} == {Decimal(7)}


def test_timezone_setting(fixtures: Path) -> None:
    parsed = parse_file(fixtures / PAIRS, settings=ImportSettings(timezone="America/Chicago"))
    first = next(e for e in parsed.executions if e.row == 3)
    assert first.timestamp == datetime(2026, 4, 9, 20, 38, 40, tzinfo=UTC)  # CDT = UTC-5


def test_orders_export(fixtures: Path) -> None:
    parsed = parse_file(fixtures / ORDERS)
    assert parsed.broker == "tradovate"
    assert parsed.rows_read == 8 and parsed.rejections == []
    assert parsed.skipped == {"order_canceled": 1, "order_rejected": 1}
    # the partially filled order 1006 (1 of 2, then canceled) counts its filled 1
    partial = next(e for e in parsed.executions if e.order_id == "1006")
    assert (partial.side, partial.quantity, partial.price) == (
        Side.BUY, Decimal(1), Decimal("2000.1")
    )
    assert partial.broker_execution_id == "order:1006"
    assert partial.timestamp == datetime(2025, 11, 5, 16, 0, tzinfo=UTC)
    trips = {rt.instrument.symbol: rt for rt in match_round_trips(parsed.executions).round_trips}
    # ES: 4.25 points x 50 x 2; CL short: 0.10 x 1000; GC: 1.2 x 100
    assert {k: rt.gross_pnl for k, rt in trips.items()} == {
        "ESZ5": Decimal("425.00"), "CLZ5": Decimal("100.00"), "GCZ5": Decimal("120.0")
    }
    assert trips["CLZ5"].direction == "short"


def test_fills_export(fixtures: Path) -> None:
    parsed = parse_file(fixtures / FILLS)
    assert parsed.broker == "tradovate"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (5, 5, [])
    first = parsed.executions[0]
    assert (first.broker_execution_id, first.order_id, first.fees) == (
        "5001", "4001", Decimal("1.04")
    )
    trips = {rt.instrument.symbol: rt for rt in match_round_trips(parsed.executions).round_trips}
    mes = trips["MESZ5"]  # 2 @ 6800 + 1 @ 6800.25 -> 3 @ 6802.25, x5
    assert (mes.gross_pnl, mes.fees, mes.net_pnl) == (
        Decimal("32.50"), Decimal("3.12"), Decimal("29.38")
    )
    assert trips["MNQZ5"].gross_pnl == Decimal("21.00")  # short 10.5 points x 2


def test_fills_export_api_column_names(tmp_path: Path) -> None:
    path = tmp_path / "fills.csv"
    path.write_text(
        "_id,_orderId,_contractId,_timestamp,_tradeDate,_action,_qty,_price,_active,"
        "_finallyPaired,Contract\n"
        "7,70,3,2025-11-06T14:31:00Z,2025-11-06,Buy,1,100.5,true,1,CLZ5\n"
        "8,71,3,2025-11-06T14:35:00Z,2025-11-06,Sideways,1,100.7,true,1,CLZ5\n"
    )
    parsed = parse_file(path)
    assert parsed.broker == "tradovate"
    (fill,) = parsed.executions
    assert (fill.broker_execution_id, fill.order_id, fill.price) == ("7", "70", Decimal("100.5"))
    assert fill.timestamp == datetime(2025, 11, 6, 14, 31, tzinfo=UTC)
    assert [(r.row, r.column) for r in parsed.rejections] == [(3, "B/S")]


def test_missing_column_for_forced_preset(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Date,Symbol\n2025-01-01,ES\n")
    with pytest.raises(Exception, match="required column 'Position ID' is missing"):
        parse_file(path, broker="tradovate")


def test_detect_is_specific() -> None:
    from tradestats.journal.importers.base import TableSample

    importer = TradovateImporter()
    assert importer.detect(TableSample("x.csv", "csv", [["Contract", "B/S", "Price"]])) == 0
    assert importer.detect(TableSample("x.xml", "xml", [], "<x/>")) == 0
