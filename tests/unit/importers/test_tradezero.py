"""TradeZero trades CSV (the real sample is GPL-3.0: read from ../shared)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tradestats.journal.importers import ImportSettings, parse_file
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, OptionRight, Side

SAMPLE = "tradezero/tradenote_example_tradezero_file.csv"
HEADER = (
    "Account,T/D,S/D,Currency,Type,Side,Symbol,Qty,Price,Exec Time,Comm,SEC,TAF,NSCC,"
    "Nasdaq,ECN Remove,ECN Add,Gross Proceeds,Net Proceeds,Clr Broker,Liq,Note\n"
)


def test_sample(shared_sample: Callable[[str], Path]) -> None:
    path = shared_sample(SAMPLE)
    started = time.perf_counter()
    parsed = parse_file(path)
    assert time.perf_counter() - started < 2
    assert parsed.broker == "tradezero"
    assert (parsed.rows_read, len(parsed.executions), parsed.rejections) == (15, 15, [])
    assert parsed.skipped == {}
    first = parsed.executions[0]  # SS RBLX 50 @ 49.88 09:47:59, SEC 0.06 + TAF 0.01
    assert (first.side, first.quantity, first.price, first.fees) == (
        Side.SELL, Decimal(50), Decimal("49.88"), Decimal("0.07")
    )
    assert first.timestamp == datetime(2022, 8, 8, 13, 47, 59, tzinfo=UTC)  # EDT
    assert first.instrument.asset_class is AssetClass.STOCK
    assert first.instrument.multiplier == 1
    assert {e.side for e in parsed.executions if e.raw and e.raw["Side"] == "BC"} == {Side.BUY}


def test_sample_net_pnl_equals_net_proceeds(shared_sample: Callable[[str], Path]) -> None:
    """Every position in the sample ends flat, so the sum of the broker's ``Net
    Proceeds`` (cash after fees) is the total net P&L: ours must equal it to the cent,
    and the fees we allocate equal Gross - Net proceeds."""
    parsed = parse_file(shared_sample(SAMPLE))
    result = match_round_trips(parsed.executions)
    assert result.open_positions == [] and len(result.round_trips) == 5
    raws = [e.raw for e in parsed.executions if e.raw]
    net_proceeds = sum((Decimal(r["Net Proceeds"]) for r in raws), Decimal(0))
    gross_proceeds = sum((Decimal(r["Gross Proceeds"]) for r in raws), Decimal(0))
    ours_net = sum((rt.net_pnl for rt in result.round_trips), Decimal(0))
    ours_fees = sum((rt.fees for rt in result.round_trips), Decimal(0))
    assert ours_net == net_proceeds == Decimal("33.76")
    assert ours_fees == gross_proceeds - net_proceeds == Decimal("0.69")


def test_fees_rebates_options_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "tz.csv"
    path.write_text(
        HEADER
        + "A1,01/05/2024,01/08/2024,USD,2,B,AAPL,100,185.5,09:30:01,1,0,0,0.02,0,0.3,-0.2,"
        "-18550,-18551.12,,,\n"
        + "A1,01/05/2024,01/08/2024,USD,2,S,AAPL  240119C00190000,2,1.25,10:00:00,1.1,0.01,"
        "0.01,0,0,0,0,250,248.88,,,\n"
        + "A1,01/05/2024,01/08/2024,USD,2,X,AAPL,1,1,10:00:00,0,0,0,0,0,0,0,1,1,,,\n"
        + "A1,01/05/2024,01/08/2024,USD,2,B,AAPL,-5,1,10:00:00,0,0,0,0,0,0,0,1,1,,,\n"
        + "A1,01/05/2024,01/08/2024,USD,2,B,AAPL,5,1,25:00:00,0,0,0,0,0,0,0,1,1,,,\n"
        + "A1,01/05/2024,01/08/2024,USD,2,B,AAPL,5,abc,10:00:00,0,0,0,0,0,0,0,1,1,,,\n"
        + "A1,01/05/2024,01/08/2024,USD,2,B,AAPL,5,1,10:00:00,zz,0,0,0,0,0,0,1,1,,,\n"
    )
    parsed = parse_file(path)
    assert parsed.broker == "tradezero"
    stock, option = parsed.executions
    assert stock.fees == Decimal("1.12")  # 1 + 0.02 + 0.3 - 0.2 (ECN add rebate)
    assert option.instrument.asset_class is AssetClass.OPTION
    assert (option.instrument.right, option.instrument.strike, option.instrument.multiplier) == (
        OptionRight.CALL, Decimal(190), Decimal(100)
    )
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (4, "Side"), (5, "Qty"), (6, "Exec Time"), (7, "Price"), (8, "Comm")
    ]


def test_timezone_setting(shared_sample: Callable[[str], Path]) -> None:
    parsed = parse_file(shared_sample(SAMPLE), settings=ImportSettings(timezone="UTC"))
    assert parsed.executions[0].timestamp == datetime(2022, 8, 8, 9, 47, 59, tzinfo=UTC)
