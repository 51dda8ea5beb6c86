from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import (
    ImportFormatError,
    ImportSettings,
    MissingColumnError,
    parse_file,
)
from tradestats.journal.model import AssetClass, OptionRight, Side

GENERIC = """\
Date,Time,Symbol,Action,Qty,Fill Price,Commission,Exchange Fee,Account,Exec ID,Order ID
2024-03-01,09:30:00,AAPL,BOT,100,180.25,1.00,0.05,ACC1,E1,O1
2024-03-01,15:59:59,AAPL,SLD,100,182.75,1.00,0.05,ACC1,E2,O2
03/04/2024,10:00,MSFT,Sell Short,"1,000",410.5,,,,,
"""


def write(tmp_path: Path, text: str, name: str = "trades.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_aliases_fees_and_timezone(tmp_path: Path) -> None:
    parsed = parse_file(write(tmp_path, GENERIC))
    assert parsed.broker == "generic"
    assert parsed.rejections == []
    buy, sell, short = parsed.executions
    assert buy.timestamp == datetime(2024, 3, 1, 14, 30, tzinfo=UTC)  # EST -> UTC
    assert (buy.side, buy.quantity, buy.price, buy.fees) == (
        Side.BUY, Decimal(100), Decimal("180.25"), Decimal("1.05")
    )
    assert (buy.account, buy.broker_execution_id, buy.order_id, buy.row) == (
        "ACC1", "E1", "O1", 2
    )
    assert sell.side is Side.SELL
    assert (short.side, short.quantity, short.fees, short.account) == (
        Side.SELL, Decimal(1000), Decimal(0), "default"
    )
    assert short.instrument.asset_class is AssetClass.STOCK
    assert buy.raw == {
        "Date": "2024-03-01", "Time": "09:30:00", "Symbol": "AAPL", "Action": "BOT",
        "Qty": "100", "Fill Price": "180.25", "Commission": "1.00", "Exchange Fee": "0.05",
        "Account": "ACC1", "Exec ID": "E1", "Order ID": "O1",
    }


def test_signed_quantity_options_and_futures(tmp_path: Path) -> None:
    text = (
        "timestamp,ticker,quantity,price,type,expiry,strike,put_call,multiplier\n"
        "2024-01-02T10:00:00Z,SPY,-2,4.5,option,2024-01-19,470,P,\n"
        "2024-01-02T10:00:00Z,/MESH4,3,4800.25,future,,,,\n"
        "2024-01-02T10:00:00Z,XYZH4,1,10,future,,,,\n"
        "2024-01-02T10:00:00Z,BTC-PERP,0.5,42000,perp,,,,\n"
    )
    parsed = parse_file(write(tmp_path, text))
    put, mes, btc = parsed.executions
    assert put.side is Side.SELL and put.quantity == 2
    assert put.instrument.symbol == "SPY   240119P00470000"
    assert (put.instrument.expiry, put.instrument.strike, put.instrument.right) == (
        date(2024, 1, 19), Decimal(470), OptionRight.PUT
    )
    assert put.instrument.multiplier == 100
    assert mes.instrument.symbol == "MESH4" and mes.instrument.multiplier == 5
    assert btc.instrument.asset_class is AssetClass.CRYPTO_PERP
    [unknown_root] = parsed.rejections
    assert (unknown_root.row, unknown_root.column) == (4, "ticker")
    assert "XYZ" in unknown_root.reason

    overridden = parse_file(
        write(tmp_path, text), settings=ImportSettings(multipliers={"XYZ": Decimal(10)})
    )
    assert overridden.rejections == []
    assert overridden.executions[2].instrument.multiplier == 10


def test_bad_rows_become_rejections(tmp_path: Path) -> None:
    text = (
        "datetime,symbol,side,quantity,price\n"
        "2024-01-02 10:00:00,AAPL,buy,10,100\n"
        "yesterday,AAPL,buy,10,100\n"
        "2024-01-02 10:00:00,AAPL,buy,ten,100\n"
        "2024-01-02 10:00:00,AAPL,hold,10,100\n"
        "2024-01-02 10:00:00,,buy,10,100\n"
        "2024-01-02 10:00:00,AAPL,buy,10,\n"
        "2024-01-02 10:00:00,AAPL,buy,0,100\n"
        "2024-01-02 10:00:00,AAPL,buy,\"1,5\",100\n"
        "2024-01-02 10:00:00,AAPL,buy,NaN,100\n"
        "2024-01-02 10:00:00,AAPL,buy,10,-1\n"
        "2024-01-02 10:00:00,AAPL,buy,-10,100\n"
        "2024-01-02 10:00:00,AAPL,buy\n"
    )
    parsed = parse_file(write(tmp_path, text))
    assert len(parsed.executions) == 1
    got = [(r.row, r.column) for r in parsed.rejections]
    assert got == [
        (3, "datetime"), (4, "quantity"), (5, "side"), (6, "symbol"), (7, "price"),
        (8, "quantity"), (9, "quantity"), (10, "quantity"), (11, "price"),
        (12, "quantity"), (13, "quantity"),
    ]
    assert "'yesterday' is not a date/time" in parsed.rejections[0].reason
    assert "unknown side 'hold'" in parsed.rejections[2].reason
    assert parsed.rejections[0].raw is not None
    assert parsed.rejections[0].raw["datetime"] == "yesterday"
    assert parsed.rows_read == 12


def test_missing_required_column_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, "datetime,symbol,side,quantity\n2024-01-02,AAPL,buy,1\n")
    with pytest.raises(MissingColumnError) as info:
        parse_file(path, broker="generic")
    assert info.value.column == "price"
    assert "'price'" in str(info.value) and "'quantity'" in str(info.value)


def test_column_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "When,What,Dir,HowMany,AtPrice,Cost A,Cost B\n"
        "2024-01-02 10:00,AAPL,S,5,101,0.5,0.25\n",
    )
    settings = ImportSettings(
        column_mapping={"datetime": "When", "symbol": "What", "side": "Dir",
                        "quantity": "HowMany", "price": "AtPrice",
                        "fees": "Cost A, Cost B"},
        timezone="UTC",
    )
    parsed = parse_file(path, broker="generic", settings=settings)
    [e] = parsed.executions
    assert (e.side, e.quantity, e.price, e.fees) == (
        Side.SELL, Decimal(5), Decimal(101), Decimal("0.75")
    )
    assert e.timestamp == datetime(2024, 1, 2, 10, 0, tzinfo=UTC)

    with pytest.raises(MissingColumnError, match="Nope"):
        parse_file(path, broker="generic",
                   settings=ImportSettings(column_mapping={"symbol": "Nope"}))
    with pytest.raises(ImportFormatError, match="unknown role"):
        parse_file(path, broker="generic",
                   settings=ImportSettings(column_mapping={"ticker": "What"}))


def test_day_first_and_am_pm(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "date,symbol,side,qty,price\n"
        "02/03/2024 01:15 PM,AAPL,buy,1,1\n",
    )
    us = parse_file(path, settings=ImportSettings(timezone="UTC")).executions[0]
    assert us.timestamp == datetime(2024, 2, 3, 13, 15, tzinfo=UTC)
    eu = parse_file(path, settings=ImportSettings(timezone="UTC", day_first=True))
    assert eu.executions[0].timestamp == datetime(2024, 3, 2, 13, 15, tzinfo=UTC)


def test_aware_timestamps_ignore_the_setting(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "datetime,symbol,side,qty,price\n2024-08-16T15:59:00-0400,AAPL,buy,1,1\n",
    )
    for tz in ("UTC", "Asia/Tokyo"):
        [e] = parse_file(path, settings=ImportSettings(timezone=tz)).executions
        assert e.timestamp == datetime(2024, 8, 16, 19, 59, tzinfo=UTC)


def test_unknown_timezone(tmp_path: Path) -> None:
    path = write(tmp_path, "datetime,symbol,side,qty,price\n2024-01-02,AAPL,buy,1,1\n")
    with pytest.raises(ImportFormatError, match="Mars/Base"):
        parse_file(path, settings=ImportSettings(timezone="Mars/Base"))
