from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import ImportFormatError, detect_file, parse_file
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Side

TRADES = "bybit/trade_history.csv"
CLOSED = "bybit/closed_pnl.csv"
HEADER = ("Contracts,Trade Type,Direction,Filled Qty,Filled Price,Filled Value,Fee Paid,"
          "Order Type,Order ID,Transaction ID,Trade Time(UTC)\n")


def test_trade_history(fixtures: Path) -> None:
    parsed = parse_file(fixtures / TRADES)
    assert parsed.broker == "bybit"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (9, 8, [])
    assert parsed.skipped == {"funding": 1}
    first = parsed.executions[-1]  # Open Long 0.02 BTCUSDT @80000, the file's last row
    assert (first.row, first.side, first.quantity, first.price, first.fees) == (
        10, Side.BUY, Decimal("0.02"), Decimal(80000), Decimal("0.88")
    )
    assert first.timestamp == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    assert (first.order_id, first.broker_execution_id) == ("a1", "t1")
    inst = first.instrument
    assert (inst.symbol, inst.asset_class, inst.underlying, inst.currency) == (
        "BTCUSDT", AssetClass.CRYPTO_PERP, "BTC", "USDT"
    )
    liquidation = parsed.executions[0]  # BustTrade: a fill that closed the SOL long
    assert (liquidation.side, liquidation.price) == (Side.SELL, Decimal(95))


def _closed_pnl(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return sorted(csv.DictReader(fh), key=lambda r: r["Trade Time(UTC)"])


def test_net_pnl_equals_bybit_closed_pnl(fixtures: Path) -> None:
    """Bybit's Closed P&L is net: position P&L minus opening fee, closing fee and the
    funding paid while the position was open. Our net P&L leaves funding out (funding
    rows are counted apart, as ``funding``), so ours minus the row's Funding Fee must be
    Bybit's figure, per closing order and in total. By hand:
    BTCUSDT long 0.02 @80000 (fee 0.88), funding 0.40 paid; closed 0.01 @81000 (fee
    0.44): 10.00 - 0.44 - 0.44 - 0.20 = 8.92; closed 0.01 @79500 (fee 0.44): -5.00 -
    0.44 - 0.44 - 0.20 = -6.08. ETHUSDT short 1 @1800 + 0.5 @1803 (fees 0.99 + 0.50),
    closed 1.5 @1780 (fee 1.47): 20.00 + 11.50 - 2.96 = 28.54. SOLUSDT long 10 @100
    (fee 0.55), liquidated @95 (fee 0.52): -50.00 - 1.07 = -51.07. Total -19.69 = our net
    -19.29 (gross -13.50, fees 5.79) minus funding 0.40."""
    result = match_round_trips(parse_file(fixtures / TRADES).executions)
    assert result.open_positions == []
    broker = _closed_pnl(fixtures / CLOSED)
    assert len(result.realizations) == len(broker) == 4
    for ours, theirs in zip(result.realizations, broker, strict=True):
        assert ours.instrument.symbol == theirs["Contracts"]
        assert ours.quantity == Decimal(theirs["Qty"])
        assert ours.net_pnl - Decimal(theirs["Funding Fee"]) == Decimal(theirs["Closed P&L"])
    gross = sum(rt.gross_pnl for rt in result.round_trips)
    fees = sum(rt.fees for rt in result.round_trips)
    assert (gross, fees) == (Decimal("-13.50"), Decimal("5.79"))
    funding = sum(Decimal(r["Funding Fee"]) for r in broker)
    assert gross - fees - funding == sum(Decimal(r["Closed P&L"]) for r in broker) == Decimal(
        "-19.69")


def test_closed_pnl_export_is_recognised_and_refused(fixtures: Path) -> None:
    assert detect_file(fixtures / CLOSED).name == "bybit"
    with pytest.raises(ImportFormatError, match=r"Closed P&L export.*Trade History"):
        parse_file(fixtures / CLOSED)


def test_buy_sell_directions_and_fee_coin(tmp_path: Path) -> None:
    path = tmp_path / "Bybit-TradeHistory.csv"
    path.write_text(
        HEADER
        + "ETHPERP,Trade,Buy,1,1800,1800,0.36 USDC,Limit,o1,x1,2026-04-02 10:00:00\n"
        + "ETHPERP,Trade,Sell,1,1810,1810,-0.18 USDC,Limit,o2,x2,2026-04-02 11:00:00\n"
        + "ETHUSDT,Trade,Buy,1,1800,1800,0.0001 BTC,Limit,o3,x3,2026-04-02 12:00:00\n"
    )
    parsed = parse_file(path)
    buy, sell = parsed.executions
    assert (buy.side, sell.side) == (Side.BUY, Side.SELL)
    assert buy.instrument.currency == "USDC" and buy.instrument.underlying == "ETH"
    assert sell.fees == Decimal("-0.18")  # a maker rebate
    (coin,) = parsed.rejections
    assert (coin.row, coin.column) == (4, "Fee Paid")
    assert "0.0001 BTC is not in USDT" in coin.reason


def test_contract_kinds_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        HEADER
        + "BTCUSDT-27DEC26,Trade,Buy,1,90000,90000,1,Limit,o1,x1,2026-04-02 10:00:00\n"
        + "BTC-27DEC26,Trade,Buy,1,90000,90000,1,Limit,o2,x2,2026-04-02 10:00:00\n"
        + "BTCUSD,Trade,Buy,100,90000,100,0.000001,Limit,o3,x3,2026-04-02 10:00:00\n"
        + "BTCUSDT,Trade,Hold,1,90000,90000,1,Limit,o4,x4,2026-04-02 10:00:00\n"
        + "BTCUSDT,Trade,Buy,0,90000,90000,1,Limit,o5,x5,2026-04-02 10:00:00\n"
        + "BTCUSDT,Trade,Buy,1,abc,90000,1,Limit,o6,x6,2026-04-02 10:00:00\n"
        + "BTCUSDT,Trade,Buy,1,90000,90000,,Limit,o7,x7,2026-04-02 10:00:00\n"
        + "BTCUSDT,Trade,Buy,1,90000,90000,1,Limit,o8,x8,not a time\n"
        + "BTCUSDT,Rebate,Buy,1,90000,90000,1,Limit,o9,x9,2026-04-02 10:00:00\n"
    )
    parsed = parse_file(path)
    usdt, usdc = (e.instrument for e in parsed.executions)
    assert (usdt.asset_class, usdt.expiry, usdt.currency, usdt.multiplier) == (
        AssetClass.FUTURE, date(2026, 12, 27), "USDT", Decimal(1)
    )
    assert (usdc.asset_class, usdc.underlying, usdc.currency) == (
        AssetClass.FUTURE, "BTC", "USDC"
    )
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (4, "Contracts"), (5, "Direction"), (6, "Filled Qty"), (7, "Filled Price"),
        (8, "Fee Paid"), (9, "Trade Time(UTC)"), (10, "Trade Type"),
    ]
    assert "inverse contract" in parsed.rejections[0].reason


def test_older_contract_account_layout(tmp_path: Path) -> None:
    """The contract account's transaction log: trade, funding and transfer rows, signed
    quantities, lower-case types, ``Time`` without a zone (UTC by default)."""
    path = tmp_path / "bybit_usdt_perpetual.csv"
    path.write_text(
        "Time,Currency,Contract,Type,Direction,Quantity,Position,Filled Price,Funding,"
        "Fee Paid,Cash Flow,Change,Wallet Balance,Fee Rate,Trade ID,Order ID\n"
        "2026-04-01 08:00:00,USDT,,transferIn,,0,0,0,0,0,1000,1000,1000,0,,\n"
        "2026-04-01 09:00:00,USDT,XRPUSDT,trade,Open Long,100,100,0.5,0,0.03,0,-0.03,"
        "999.97,0.0006,e1,o1\n"
        "2026-04-01 16:00:00,USDT,XRPUSDT,funding,,0,100,0.51,0.01,0,0,-0.01,999.96,0,,\n"
        "2026-04-01 17:00:00,USDT,XRPUSDT,trade,Close Long,-100,0,0.52,0,0.0312,2,1.9688,"
        "1001.9288,0.0006,e2,o2\n"
    )
    assert detect_file(path).name == "bybit"
    parsed = parse_file(path)
    assert parsed.skipped == {"transfer": 1, "funding": 1}
    assert [(e.side, e.quantity) for e in parsed.executions] == [
        (Side.BUY, Decimal(100)), (Side.SELL, Decimal(100))
    ]
    (rt,) = match_round_trips(parsed.executions).round_trips
    assert rt.gross_pnl == Decimal("2.00")  # the Cash Flow of the closing trade
