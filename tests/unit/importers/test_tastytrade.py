from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from tradestats.journal.importers import parse_file
from tradestats.journal.model import AssetClass, OptionRight, Side

BIG = "tastytrade/tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv"


def test_full_history_counts(fixtures: Path) -> None:
    started = time.perf_counter()
    parsed = parse_file(fixtures / BIG)
    elapsed = time.perf_counter() - started
    assert parsed.broker == "tastytrade"
    assert parsed.rows_read == 1082
    # 772 Trade rows + 84 Receive Deliver rows that move positions
    assert len(parsed.executions) == 856
    assert parsed.rejections == []
    assert parsed.skipped == {
        "balance_adjustment": 111, "credit_interest": 51, "debit_interest": 13,
        "deposit": 14, "dividend": 22, "fee": 3, "fully_paid_stock_lending_income": 3,
        "transfer": 2, "withdrawal": 7,
    }
    assert sum(parsed.skipped.values()) + len(parsed.executions) == 1082
    assert elapsed < 5  # generous; measured ~0.06 s


def test_trade_row_fields(fixtures: Path) -> None:
    first = parse_file(fixtures / BIG).executions[0]
    # 2024-08-16T15:57:13+0200,Trade,Sell to Open,SELL_TO_OPEN,SCHG  240920C00099000,...
    assert first.row == 4
    assert first.timestamp == datetime(2024, 8, 16, 13, 57, 13, tzinfo=UTC)
    assert first.side is Side.SELL
    assert first.quantity == 1
    assert first.price == Decimal("3.70")
    assert first.fees == Decimal("1.15")  # -1.00 commission, -0.15 fees
    assert first.order_id == "337454037"
    assert first.broker_execution_id is None
    inst = first.instrument
    assert inst.asset_class is AssetClass.OPTION
    assert inst.symbol == "SCHG  240920C00099000"
    assert (inst.underlying, inst.expiry, inst.strike, inst.right, inst.multiplier) == (
        "SCHG", date(2024, 9, 20), Decimal(99), OptionRight.CALL, Decimal(100)
    )
    assert first.raw is not None and first.raw["Order #"] == "337454037"


def test_assignment_and_delivery(fixtures: Path) -> None:
    by_row = {e.row: e for e in parse_file(fixtures / BIG).executions}
    removal = by_row[6]  # Assignment of SCHG 103 put, no Action in the file
    assert removal.side is Side.BUY and removal.price == 0 and removal.quantity == 1
    delivery = by_row[7]  # Buy to Open 100 SCHG @ 103.00
    assert delivery.instrument.asset_class is AssetClass.STOCK
    assert (delivery.side, delivery.quantity, delivery.price, delivery.fees) == (
        Side.BUY, Decimal(100), Decimal("103.00"), Decimal("5.00")
    )


def test_expiration_without_action_closes_the_held_position(fixtures: Path) -> None:
    parsed = parse_file(fixtures / BIG)
    expirations = [e for e in parsed.executions if e.raw and e.raw["Sub Type"] == "Expiration"]
    assert len(expirations) == 14
    assert all(e.price == 0 for e in expirations)
    # every contract ends flat once expirations are applied
    net: dict[str, Decimal] = {}
    for e in parsed.executions:
        if e.instrument.key in {x.instrument.key for x in expirations}:
            net[e.instrument.key] = net.get(e.instrument.key, Decimal(0)) + e.signed_quantity
    assert set(net.values()) == {Decimal(0)}


def test_expiration_without_action_and_no_position_is_rejected(tmp_path: Path) -> None:
    header = (
        "Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,Quantity,"
        "Average Price,Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,"
        "Expiration Date,Strike Price,Call or Put,Order #,Currency\n"
    )
    row = (
        "2021-10-15T22:00:00+0200,Receive Deliver,Expiration,,GREE  211015C00025000,"
        "Equity Option,Removal of 1.0 GREE 10/15/21 Call 25.00 due to expiration.,0.00,1,"
        "0.00,--,0.00,100,GREE,GREE,10/15/21,25,CALL,,USD\n"
    )
    path = tmp_path / "tt.csv"
    path.write_text(header + row)
    parsed = parse_file(path)
    assert parsed.executions == []
    [rej] = parsed.rejections
    assert (rej.row, rej.column) == (2, "Action")


def test_future_options_use_the_futures_point_value(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "tastytrade/binnaculum_FutureOptions.csv")
    assert (len(parsed.executions), len(parsed.rejections)) == (21, 0)
    sold = next(e for e in parsed.executions if e.row == 5)
    # Sold 2 /MESZ5 EXX5 11/28/25 Put 6300.00 @ 21.0, Value 210.00 = 2 x 21 x 5
    inst = sold.instrument
    assert inst.asset_class is AssetClass.FUTURE_OPTION
    assert inst.multiplier == 5 and inst.underlying == "MESZ5"
    assert (inst.strike, inst.right, inst.expiry) == (
        Decimal(6300), OptionRight.PUT, date(2025, 11, 28)
    )
    assert sold.price == Decimal("21.0") and sold.fees == Decimal("2.42")
    assert sold.quantity * sold.price * inst.multiplier == Decimal("210.0")


def test_future_round_trip(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "tastytrade/laroche_CL_future.csv")
    sell, buy = parsed.executions
    assert sell.instrument.symbol == "CLJ4" and sell.instrument.multiplier == 1000
    assert (buy.side, buy.price, sell.side, sell.price) == (
        Side.BUY, Decimal("79.69"), Side.SELL, Decimal("79.53")
    )
    # (79.53 - 79.69) x 1000 = -160, tastytrade's Value column for the closing fill
    assert (sell.price - buy.price) * sell.instrument.multiplier == Decimal(-160)


def test_other_samples(fixtures: Path) -> None:
    expected = {
        "binnaculum_TsllImportTest.csv": (206, 0, {"dividend": 6}),
        "binnaculum_PfizerImportTest.csv": (4, 0, {}),
        "laroche_MES_LT112_future_options.csv": (6, 0, {"deposit": 1}),
        "laroche_legacy_format.csv": (0, 0, {"withdrawal": 1}),
    }
    for name, (n_exec, n_rej, skipped) in expected.items():
        parsed = parse_file(fixtures / "tastytrade" / name)
        assert parsed.broker == "tastytrade", name
        assert (len(parsed.executions), len(parsed.rejections), parsed.skipped) == (
            n_exec, n_rej, skipped
        ), name


def test_adjusted_option_roots_stay_distinct(fixtures: Path) -> None:
    parsed = parse_file(fixtures / BIG)
    symbols = {e.instrument.symbol for e in parsed.executions}
    assert "USO1  200717P00002000" in symbols and "USO   200717P00002000" in symbols
