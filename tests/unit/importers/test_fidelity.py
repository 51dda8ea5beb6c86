from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import (
    ImportSettings,
    MissingColumnError,
    ParsedFile,
    parse_file,
)
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, OptionRight, Side

ALL_ACCOUNTS = "fidelity/beancount_reds_fidelity_csv_all_accounts_transactions_20251204.csv"
OPTIONS = "fidelity/options_written_for_tradestats.csv"


def _timed(path: Path, settings: ImportSettings | None = None) -> ParsedFile:
    started = time.perf_counter()
    parsed = parse_file(path, settings=settings)
    assert time.perf_counter() - started < 2
    assert parsed.broker == "fidelity"
    assert parsed.rows_read == (
        len(parsed.executions) + len(parsed.rejections) + sum(parsed.skipped.values())
    )
    return parsed


def test_all_accounts_export(shared_sample: Callable[[str], Path]) -> None:
    parsed = _timed(shared_sample(ALL_ACCOUNTS))
    assert parsed.rows_read == 22
    assert parsed.skipped == {
        "dividend": 7, "transfer": 5, "interest": 1, "redemption": 1, "merger": 1,
        "tax": 1, "footer": 1,
    }
    # YOU BOUGHT of a municipal bond: no bond asset class, so named and not imported
    (bond,) = parsed.rejections
    assert (bond.row, bond.column) == (22, "Symbol")
    assert "412003AD7 is a bond/CD (CUSIP)" in bond.reason
    executions = {e.row: e for e in parsed.executions}
    assert sorted(executions) == [3, 6, 15, 21]
    # executions keep the account they belong to
    assert executions[3].account == "111111111"  # IRA Account: BND reinvestment
    assert {executions[r].account for r in (6, 15, 21)} == {"333333333"}
    reinvest = executions[3]
    assert (reinvest.side, reinvest.quantity, reinvest.price, reinvest.fees) == (
        Side.BUY, Decimal("9.598"), Decimal("74.29"), 0
    )
    sold = executions[21]  # YOU SOLD ... VALVOLINE, Quantity -341 @ 30.44
    assert (sold.side, sold.quantity, sold.price) == (Side.SELL, 341, Decimal("30.44"))
    assert sold.instrument.symbol == "VVV"
    assert sold.instrument.currency == "USD"
    assert sold.timestamp == datetime(2025, 11, 24, 5, tzinfo=UTC)
    # newest-first export, emitted oldest first; same-day rows in reverse file order
    assert [e.row for e in parsed.executions] == [15, 21, 6, 3]


def test_options_across_accounts(fixtures: Path) -> None:
    parsed = _timed(fixtures / OPTIONS)
    assert parsed.rows_read == 17
    assert parsed.skipped == {"dividend": 1, "transfer": 1, "footer": 2}
    rejected = {r.row: (r.column, r.reason) for r in parsed.rejections}
    assert rejected[16][0] == "Action" and "unknown action" in rejected[16][1]
    assert rejected[17] == ("Price", "Price: value is empty")
    assert rejected[10][0] == "Action" and "holds no position" in rejected[10][1]
    assert len(rejected) == 3

    by_row = {e.row: e for e in parsed.executions}
    assert len(by_row) == 10
    opening = by_row[11]  # YOU SOLD OPENING TRANSACTION CALL (AAPL) ... $200
    inst = opening.instrument
    assert (inst.asset_class, inst.symbol, inst.underlying, inst.expiry, inst.strike,
            inst.right, inst.multiplier) == (
        AssetClass.OPTION, "AAPL  240119C00200000", "AAPL", date(2024, 1, 19),
        Decimal(200), OptionRight.CALL, Decimal(100),
    )
    assert (opening.account, opening.side, opening.quantity, opening.price,
            opening.fees) == ("X11111111", Side.SELL, 1, Decimal("0.4"), Decimal("0.68"))
    # the same contract expires in two accounts: each closes its own position
    short_expiry, long_expiry = by_row[4], by_row[5]
    assert (short_expiry.account, short_expiry.side, short_expiry.quantity,
            short_expiry.price) == ("X11111111", Side.BUY, 1, 0)
    assert (long_expiry.account, long_expiry.side, long_expiry.quantity,
            long_expiry.price) == ("Y22222222", Side.SELL, 2, 0)
    assigned, shares = by_row[6], by_row[7]
    assert (assigned.side, assigned.price, assigned.instrument.symbol) == (
        Side.BUY, 0, "XYZ   240119P00025000"
    )
    assert (shares.side, shares.quantity, shares.price,
            shares.instrument.asset_class) == (Side.BUY, 100, 25, AssetClass.STOCK)
    exercised = by_row[8]
    assert (exercised.side, exercised.quantity, exercised.price) == (Side.SELL, 1, 0)
    assert exercised.instrument.strike == Decimal("470.5")
    assert exercised.instrument.symbol == "SPY   240119C00470500"

    result = match_round_trips(parsed.executions)
    pnl = {(rt.account, rt.instrument.symbol): rt.gross_pnl for rt in result.round_trips}
    assert pnl == {
        ("X11111111", "AAPL  240119C00200000"): Decimal(40),
        ("Y22222222", "AAPL  240119C00200000"): Decimal(-90),
        ("X11111111", "XYZ   240119P00025000"): Decimal(120),
        ("Y22222222", "SPY   240119C00470500"): Decimal(-450),
    }


def test_single_account_layout_with_dollar_columns(tmp_path: Path) -> None:
    path = tmp_path / "History_for_Account_X1.csv"
    path.write_text(
        "\n\n"
        "Run Date,Action,Symbol,Security Description,Security Type,Quantity,Price ($),"
        "Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date\n"
        " 03/04/2021, YOU SOLD MICROSOFT CORP (MSFT) (Cash), MSFT, MICROSOFT CORP,Cash,"
        "-5,230.1,,0.02,,1150.48,03/08/2021\n"
        " 03/01/2021, YOU BOUGHT MICROSOFT CORP (MSFT) (Cash), MSFT, MICROSOFT CORP,Cash,"
        "5,225,,,,-1125.00,03/03/2021\n"
        " 03/01/2021, YOU BOUGHT MICROSOFT CORP (MSFT) (Cash), MSFT, MICROSOFT CORP,Cash,"
        "five,225,,,,-1125.00,03/03/2021\n"
        "\n\"Brokerage services are provided by Fidelity Brokerage Services LLC\"\n"
    )
    parsed = _timed(path, ImportSettings(account="my-fidelity"))
    assert [(e.account, e.side, e.quantity, e.price, e.fees) for e in parsed.executions] == [
        ("my-fidelity", Side.BUY, 5, 225, 0),
        ("my-fidelity", Side.SELL, 5, Decimal("230.1"), Decimal("0.02")),
    ]
    (bad,) = parsed.rejections
    assert (bad.row, bad.column, bad.reason) == (6, "Quantity",
                                                 "Quantity: 'five' is not a number")
    assert parsed.skipped == {"footer": 1}


def test_forced_on_another_layout_names_the_missing_column(fixtures: Path) -> None:
    with pytest.raises(MissingColumnError, match="fidelity: required column 'Run Date'"):
        parse_file(fixtures / "hyperliquid/trade_history.csv", broker="fidelity")
