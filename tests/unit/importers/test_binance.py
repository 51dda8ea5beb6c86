from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import ImportSettings, parse_file
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Side

OLDER = "binance/futures_trade_history.csv"
NEWER = "binance/futures_trade_history_v2.csv"
HEADER = "Date(UTC),Symbol,Side,Price,Quantity,Amount,Fee,Fee Coin,Realized Profit,Quote Asset\n"


def test_older_layout(fixtures: Path) -> None:
    parsed = parse_file(fixtures / OLDER)
    assert parsed.broker == "binance_futures"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (9, 9, [])
    last = parsed.executions[-1]  # the oldest fill is the file's last row
    assert (last.row, last.side, last.quantity, last.price, last.fees) == (
        10, Side.BUY, Decimal("0.010"), Decimal(60000), Decimal("0.24")
    )
    assert last.timestamp == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    inst = last.instrument
    assert (inst.symbol, inst.asset_class, inst.underlying, inst.multiplier, inst.currency) == (
        "BTCUSDT", AssetClass.CRYPTO_PERP, "BTC", Decimal(1), "USDT"
    )
    assert last.broker_execution_id is None and last.order_id is None


def test_newer_layout(fixtures: Path) -> None:
    parsed = parse_file(fixtures / NEWER)
    assert parsed.broker == "binance_futures"
    assert (len(parsed.executions), parsed.rejections) == (3, [])
    sell = parsed.executions[0]
    # "26-03-05 14:00:00" is YY-MM-DD; the fee cell carries its coin
    assert sell.timestamp == datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    assert (sell.side, sell.quantity, sell.fees) == (Side.SELL, Decimal(15), Decimal("0.912"))
    assert (sell.broker_execution_id, sell.order_id) == ("9003", "5002")
    assert sell.instrument.currency == "USDT"
    # a bare "Time" column is in the zone chosen on Binance: the import's time zone
    tokyo = parse_file(fixtures / NEWER, settings=ImportSettings(timezone="Asia/Tokyo"))
    assert tokyo.executions[0].timestamp == datetime(2026, 3, 5, 5, 0, tzinfo=UTC)


def test_date_utc_column_ignores_the_time_zone_setting(fixtures: Path) -> None:
    parsed = parse_file(fixtures / OLDER, settings=ImportSettings(timezone="Asia/Tokyo"))
    assert parsed.executions[-1].timestamp == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_fifo_realized_pnl_equals_binance_realized_profit(fixtures: Path) -> None:
    """Binance's Realized Profit is gross of fees. By hand:
    BTCUSDT long 0.010 @60000 + 0.010 @61000, sold 0.020 @62000: 20 + 10 = 30.00;
    ETHUSDT short 0.50 @3000, bought 0.20 @2950: +10.00; bought 0.80 @2900 closes 0.30
    (+30.00) and flips long 0.50 @2900, sold @2980: +40.00;
    BTCUSDT short 0.005 @63000, bought @63500: -2.50. Total 107.50 — per closing fill and
    in sum, FIFO equals the broker's figures (every entry is closed whole or by one fill,
    so Binance's average-cost figure and FIFO agree fill by fill)."""
    parsed = parse_file(fixtures / OLDER)
    result = match_round_trips(parsed.executions)
    assert result.open_positions == []
    ours = [r.gross_pnl for r in result.realizations]
    closing = sorted(
        (e for e in parsed.executions if e.raw and Decimal(e.raw["Realized Profit"]) != 0),
        key=lambda e: e.timestamp,
    )
    broker = [Decimal(e.raw["Realized Profit"]) for e in closing if e.raw]
    assert ours == broker == [Decimal(30), Decimal(10), Decimal(30), Decimal(40),
                              Decimal("-2.5")]
    assert sum(ours) == sum(broker) == Decimal("107.50")
    fees = sum(rt.fees for rt in result.round_trips)
    assert fees == sum(e.fees for e in parsed.executions) == Decimal("3.593")


def test_newer_layout_realized_profit(fixtures: Path) -> None:
    """Two fills of one buy order, 10 @150.00 and 5 @150.10, sold 15 @152.00:
    10 x 2.00 + 5 x 1.90 = 29.50, the export's Realized Profit."""
    parsed = parse_file(fixtures / NEWER)
    result = match_round_trips(parsed.executions)
    assert [rt.gross_pnl for rt in result.round_trips] == [Decimal("29.50")]
    assert sum(Decimal(e.raw["Realized Profit"]) for e in parsed.executions if e.raw) == Decimal(
        "29.50")


def test_fee_in_another_coin_is_rejected_not_summed(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        HEADER
        + "2026-03-02 08:00:00,BTCUSDT,BUY,60000,0.01,600,0.24,USDT,0,USDT\n"
        + "2026-03-02 09:00:00,BTCUSDT,SELL,61000,0.01,610,0.0004,BNB,10,USDT\n"
        + "2026-03-02 09:30:00,BTCUSDT,SELL,61000,0.01,610,0,BNB,0,USDT\n"
    )
    parsed = parse_file(path)
    assert [e.row for e in parsed.executions] == [2, 4]  # a zero BNB fee adds nothing
    (bnb,) = parsed.rejections
    assert (bnb.row, bnb.column) == (3, "Fee Coin")
    assert "0.0004 BNB is not in USDT" in bnb.reason
    newer = tmp_path / "newer.csv"
    newer.write_text(
        "Uid,Time,Symbol,Side,Price,Quantity,Amount,Fee,Realized Profit,Buyer,Maker,"
        "Trade ID,Order ID\n"
        "1,26-03-05 10:00:00,SOLUSDT,BUY,150,1,150,0.00010000 BNB,0,true,false,1,1\n"
    )
    (coin,) = parse_file(newer).rejections
    assert (coin.column, coin.reason.split(":")[0]) == ("Fee", "Fee")


def test_contract_kinds(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        HEADER
        + "2026-03-02 08:00:00,BTCUSDT_260327,BUY,60000,0.01,600,0.24,USDT,0,USDT\n"
        + "2026-03-02 08:00:00,ETHUSDC,BUY,3000,1,3000,1.2,USDC,0,USDC\n"
        + "2026-03-02 08:00:00,BTCUSD_PERP,BUY,60000,1,100,0.00001,BTC,0,BTC\n"
        + "2026-03-02 08:00:00,NOTACONTRACT,BUY,1,1,1,0,USDT,0,USDT\n"
    )
    parsed = parse_file(path)
    dated, usdc = (e.instrument for e in parsed.executions)
    assert (dated.asset_class, dated.expiry, dated.underlying, dated.multiplier) == (
        AssetClass.FUTURE, date(2026, 3, 27), "BTC", Decimal(1)
    )
    assert (usdc.asset_class, usdc.currency) == (AssetClass.CRYPTO_PERP, "USDC")
    assert [(r.row, r.column) for r in parsed.rejections] == [(4, "Symbol"), (5, "Symbol")]
    assert "coin-margined" in parsed.rejections[0].reason


def test_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        HEADER
        + "2026-02-30 08:00:00,BTCUSDT,BUY,60000,0.01,600,0.24,USDT,0,USDT\n"
        + "2026-03-02 08:00:00,BTCUSDT,HOLD,60000,0.01,600,0.24,USDT,0,USDT\n"
        + "2026-03-02 08:00:00,BTCUSDT,BUY,-1,0.01,600,0.24,USDT,0,USDT\n"
        + "2026-03-02 08:00:00,BTCUSDT,BUY,60000,0,600,0.24,USDT,0,USDT\n"
        + "2026-03-02 08:00:00,BTCUSDT,BUY,60000,0.01,600,,USDT,0,USDT\n"
    )
    parsed = parse_file(path)
    assert parsed.executions == []
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (2, "Date(UTC)"), (3, "Side"), (4, "Price"), (5, "Quantity"), (6, "Fee"),
    ]


def test_hedge_mode_positions_stay_apart(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        "Time(UTC),Symbol,Side,Position Side,Price,Quantity,Amount,Fee,Realized Profit\n"
        "2026-03-02 08:00:00,BTCUSDT,BUY,LONG,60000,0.01,600,0.24 USDT,0\n"
        "2026-03-02 08:01:00,BTCUSDT,SELL,SHORT,60000,0.01,600,0.24 USDT,0\n"
        "2026-03-02 09:00:00,BTCUSDT,SELL,LONG,61000,0.01,610,0.244 USDT,10\n"
        "2026-03-02 09:01:00,BTCUSDT,BUY,SHORT,61000,0.01,610,0.244 USDT,-10\n"
    )
    result = match_round_trips(parse_file(path).executions)
    assert sorted((rt.instrument.symbol, rt.direction, rt.gross_pnl)
                  for rt in result.round_trips) == [
        ("BTCUSDT LONG", "long", Decimal("10.00")),
        ("BTCUSDT SHORT", "short", Decimal("-10.00")),
    ]


def test_xlsx_export(tmp_path: Path) -> None:
    """Binance also offers the export as an Excel workbook: same columns, typed cells."""
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append([datetime(2026, 3, 2, 8, 0), "BTCUSDT", "BUY", 60000, 0.01, 600, 0.24, "USDT",
                  0, "USDT"])
    sheet.append([datetime(2026, 3, 2, 9, 0), "BTCUSDT", "SELL", 61000.5, 0.01, 610.005,
                  0.244002, "USDT", 10.005, "USDT"])
    path = tmp_path / "Export Trade History.xlsx"
    workbook.save(path)
    parsed = parse_file(path)
    assert (parsed.broker, parsed.rejections) == ("binance_futures", [])
    buy, sell = parsed.executions
    assert buy.timestamp == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert (sell.price, sell.quantity, sell.fees) == (
        Decimal("61000.5"), Decimal("0.01"), Decimal("0.244002")
    )
    (rt,) = match_round_trips(parsed.executions).round_trips
    assert rt.gross_pnl == Decimal("10.005")
