from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tradestats.journal.importers import ImportSettings, parse_file
from tradestats.journal.model import AssetClass, Side


def test_trade_history(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "hyperliquid/trade_history.csv")
    assert parsed.broker == "hyperliquid"
    assert (len(parsed.executions), parsed.rejections, parsed.rows_read) == (13, [], 13)
    flip = next(e for e in parsed.executions if e.raw and e.raw["dir"] == "Long > Short")
    assert (flip.side, flip.quantity, flip.price, flip.fees) == (
        Side.SELL, Decimal("1.0"), Decimal(43500), Decimal("15.225")
    )
    assert flip.instrument.asset_class is AssetClass.CRYPTO_PERP
    assert flip.timestamp == datetime(2024, 1, 2, 13, 30, tzinfo=UTC)  # UTC, not New York
    spot = [e for e in parsed.executions if e.instrument.symbol == "PURR/USDC"]
    assert {e.instrument.asset_class for e in spot} == {AssetClass.CRYPTO_SPOT}
    buys = {e.raw["dir"] for e in parsed.executions if e.raw and e.side is Side.BUY}
    assert buys == {"Open Long", "Close Short", "Short > Long", "Buy"}


def test_fixture_closed_pnl_is_consistent_with_fifo(fixtures: Path) -> None:
    """The fixture's closedPnl sums to the FIFO gross P&L of its fills, and every
    position ends flat, so a matching engine can be checked against it."""
    parsed = parse_file(fixtures / "hyperliquid/trade_history.csv")
    net: dict[str, Decimal] = {}
    cash = Decimal(0)
    for e in parsed.executions:
        net[e.instrument.key] = net.get(e.instrument.key, Decimal(0)) + e.signed_quantity
        cash -= e.signed_quantity * e.price * e.instrument.multiplier
    assert set(net.values()) == {Decimal(0)}
    closed = sum(Decimal(e.raw["closedPnl"]) for e in parsed.executions if e.raw)
    assert closed == cash == Decimal("1997.5")


def test_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "hl.csv"
    path.write_text(
        "time,coin,dir,px,sz,ntl,fee,closedPnl\n"
        "01/02/2024 - 10:00:00,BTC,Open Long,42000,0.5,21000,7.35,0\n"
        "13/45/2024 - 10:00:00,BTC,Open Long,42000,0.5,21000,7.35,0\n"
        "01/02/2024 - 10:00:00,BTC,Liquidation,42000,0.5,21000,7.35,0\n"
        "01/02/2024 - 10:00:00,BTC,Close Long,abc,0.5,21000,7.35,0\n"
    )
    parsed = parse_file(path)
    assert len(parsed.executions) == 1
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (3, "time"), (4, "dir"), (5, "px")
    ]


def test_timezone_setting_is_respected(fixtures: Path) -> None:
    parsed = parse_file(
        fixtures / "hyperliquid/trade_history.csv",
        settings=ImportSettings(timezone="Europe/Berlin"),
    )
    assert parsed.executions[-1].timestamp == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
