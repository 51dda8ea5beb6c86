from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import (
    MissingColumnError,
    ParsedFile,
    get_preset,
    open_source,
    parse_file,
)
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, OptionRight, Side

SAMPLE = "ibkr/capital-gains-calculator_ib_transaction_history.csv"
OURS = "ibkr/ibkr_transaction_history_written_for_tradestats.csv"
HEADER = (
    "Statement,Header,Field Name,Field Value\n"
    "Statement,Data,Title,Transaction History\n"
    "Summary,Header,Field Name,Field Value\n"
    "Summary,Data,Base Currency,GBP\n"
    "Transaction History,Header,Date,Account,Description,Transaction Type,Symbol,"
    "Quantity,Price,Gross Amount ,Commission,Net Amount\n"
)


def _timed(path: Path) -> ParsedFile:
    started = time.perf_counter()
    parsed = parse_file(path)
    assert time.perf_counter() - started < 2
    assert parsed.broker == "ibkr_transactions"
    assert parsed.rows_read == (
        len(parsed.executions) + len(parsed.rejections) + sum(parsed.skipped.values())
    )
    return parsed


def test_sample_counts_and_trades(fixtures: Path) -> None:
    parsed = _timed(fixtures / SAMPLE)
    assert parsed.rows_read == 19
    assert parsed.rejections == []
    assert parsed.skipped == {
        "statement": 3, "summary": 4, "dividend": 2, "tax": 4, "adjustment": 1,
        "currency_conversion": 1, "interest": 1, "transfer": 1,
    }
    buy, sell = parsed.executions  # oldest first
    assert (buy.row, buy.side, buy.quantity, buy.price, buy.fees) == (
        18, Side.BUY, 4, 1000, 3
    )
    assert (sell.row, sell.side, sell.quantity, sell.price, sell.fees) == (
        17, Side.SELL, 2, 1001, 3
    )
    # no Price Currency column: the base currency, since Gross = quantity x price
    assert buy.instrument.currency == "GBP"
    assert buy.instrument.asset_class is AssetClass.STOCK
    assert buy.instrument.symbol == "CNX1"  # not read as a futures code
    assert buy.account == "U***00000"
    assert buy.timestamp == datetime(2025, 3, 15, 4, tzinfo=UTC)


def test_detection_is_distinct_from_the_other_ibkr_reports(fixtures: Path) -> None:
    ours = open_source(fixtures / SAMPLE).sample()
    for other in ("ibkr_activity", "ibkr_flex_csv", "ibkr_flex_xml", "generic"):
        assert get_preset(other).detect(ours) == 0
    preset = get_preset("ibkr_transactions")
    for name in ("binnaculum_ibkr_uk_InitialImport.csv",
                 "export-to-ghostfolio_ibkr-trades-export.csv", "ib2tw_trades_flex.xml"):
        assert preset.detect(open_source(fixtures / "ibkr" / name).sample()) == 0


def test_currencies_options_futures_and_removals(fixtures: Path) -> None:
    parsed = _timed(fixtures / OURS)
    assert parsed.rows_read == 18
    assert parsed.skipped == {"statement": 3, "summary": 1, "currency_conversion": 1,
                              "dividend": 1, "transfer": 1}
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (18, "Quantity"), (19, "Transaction Type")
    ]
    assert parsed.rejections[0].reason == "Quantity: 5.0 contradicts the type 'Sell'"
    by_row = {e.row: e for e in parsed.executions}
    assert len(by_row) == 9

    sap = by_row[11]  # EUR stock in an EUR account: commission as is
    assert (sap.side, sap.quantity, sap.price, sap.fees, sap.instrument.currency) == (
        Side.SELL, 5, 210, Decimal("1.25"), "EUR"
    )
    put = by_row[12]  # USD option; commission 2.10 EUR at 0.84 EUR per USD = 2.50 USD
    inst = put.instrument
    assert (inst.asset_class, inst.symbol, inst.expiry, inst.strike, inst.right,
            inst.multiplier, inst.currency) == (
        AssetClass.OPTION, "QQQ   260320P00500000", date(2026, 3, 20), Decimal(500),
        OptionRight.PUT, Decimal(100), "USD",
    )
    assert (put.side, put.quantity, put.price, put.fees) == (
        Side.SELL, 2, Decimal("1.5"), Decimal("2.5")
    )
    future = by_row[14]  # "M6E 15JUN26" / M6EM6: the root table's 12,500
    assert (future.instrument.asset_class, future.instrument.symbol,
            future.instrument.multiplier, future.fees) == (
        AssetClass.FUTURE, "M6EM6", Decimal(12500), Decimal("0.5")
    )
    assigned_option, assigned_shares = by_row[9], by_row[8]
    assert (assigned_option.side, assigned_option.quantity, assigned_option.price) == (
        Side.BUY, 2, 0
    )
    assert (assigned_shares.side, assigned_shares.quantity, assigned_shares.price,
            assigned_shares.instrument.asset_class) == (Side.BUY, 200, 500, AssetClass.STOCK)
    expired = by_row[10]
    assert (expired.side, expired.quantity, expired.price) == (Side.SELL, 1, 0)
    # identical fills on one day are both kept (the store de-duplicates by occurrence)
    assert by_row[16] == replace(by_row[17], row=16)

    result = match_round_trips(parsed.executions)
    pnl = {rt.instrument.symbol: rt.gross_pnl for rt in result.round_trips}
    assert pnl == {
        "QQQ   260320P00500000": Decimal(300),  # 2 x 1.50 x 100 kept
        "SPY   260320C00700000": Decimal(-320),  # 3.20 x 100 lost
    }
    sap_realized = [r.gross_pnl for r in result.realizations if r.instrument.symbol == "SAP"]
    assert sap_realized == [Decimal(50)]  # 5 x (210 - 200); 5 of the 10 stay open
    assert {p.instrument.symbol: p.quantity for p in result.open_positions} == {
        "SAP": 5, "M6EM6": 1, "QQQ": 200,
    }


def test_price_currency_unknown_is_rejected_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "th.csv"
    path.write_text(
        HEADER
        # gross 731.41 for 55 x 15.4493 = 849.71: the price is not in GBP
        + "Transaction History,Data,2026-05-21,U1,SOFI,Buy,SOFI,55.0,15.4493,"
        "-731.41,-0.86,-732.27\n"
        + "Transaction History,Data,2026-05-21,U1,SOFI,Buy,SOFI,-,15.4493,-1.0,-,-1.0\n"
        + "Transaction History,Data,2026-05-21,U1,SOFI,Buy,SOFI,1.0,15,-15,-,-15\n"
    )
    parsed = parse_file(path)
    assert parsed.broker == "ibkr_transactions"
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (6, "Price Currency"), (7, "Quantity")
    ]
    assert "the price's currency is unknown" in parsed.rejections[0].reason
    (ok,) = parsed.executions
    assert (ok.instrument.currency, ok.price) == ("GBP", 15)


def test_missing_section_header(tmp_path: Path) -> None:
    path = tmp_path / "th.csv"
    path.write_text("Statement,Header,Field Name,Field Value\n"
                    "Statement,Data,Title,Transaction History\n")
    with pytest.raises(MissingColumnError, match="Transaction History,Header"):
        parse_file(path)


def test_commission_is_converted_from_the_base_currency(tmp_path: Path) -> None:
    path = tmp_path / "th.csv"
    path.write_text(
        "Transaction History,Header,Date,Account,Description,Transaction Type,Symbol,"
        "Quantity,Price,Price Currency,Gross Amount ,Commission,Net Amount,Exchange Rate\n"
        # no Summary section: the rate column still converts the commission
        "Transaction History,Data,2023-02-10,U1,ISHARES MSCI WORLD EUR-H,Buy,IWDE,217,"
        "67.71,EUR,-13009.5380394,-6.5047690197,-13016.0428084197,0.88542\n"
        # neither a rate nor a gross amount: the commission's currency cannot be converted
        "Transaction History,Data,2023-02-10,U1,ISHARES MSCI WORLD EUR-H,Buy,IWDE,1,"
        "67.71,EUR,-,-0.5,-,-\n"
    )
    parsed = parse_file(path)
    (ok,) = parsed.executions
    assert ok.instrument.currency == "EUR"
    assert ok.fees == Decimal("6.5047690197") / Decimal("0.88542")
    assert round(ok.fees, 4) == Decimal("7.3465")  # EUR
    (bad,) = parsed.rejections
    assert (bad.row, bad.column) == (3, "Commission")
    assert "no exchange rate or gross amount" in bad.reason
