from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradestats.journal.importers import parse_file
from tradestats.journal.model import AssetClass, Execution, OptionRight, Side

# The IBKR presets synthesize an opening for each close whose opening is not in the file
# (raw["synthetic"] == "closed_lot", see importers/opening_lots.py), placed just before
# the close it feeds. File-row assertions apply to the real executions only.


def _synthetic(executions: list[Execution]) -> list[Execution]:
    return [e for e in executions if e.raw and e.raw.get("synthetic") == "closed_lot"]


def _real(executions: list[Execution]) -> list[Execution]:
    return [e for e in executions if not (e.raw and e.raw.get("synthetic") == "closed_lot")]

# -- Flex XML -------------------------------------------------------------------------


def test_flex_xml_options_and_expirations(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "ibkr/ib2tw_trades_flex.xml")
    assert parsed.broker == "ibkr_flex_xml"
    # 17 = 11 file rows + 6 synthetic openings (IAG stock, ULTA put, 4 RUT options)
    assert (len(parsed.executions), len(parsed.rejections), parsed.rows_read) == (17, 0, 11)
    real, synthetic = _real(parsed.executions), _synthetic(parsed.executions)
    assert (len(real), len(synthetic)) == (11, 6)
    classes = [e.instrument.asset_class for e in real]
    assert classes.count(AssetClass.OPTION) == 9 and classes.count(AssetClass.STOCK) == 2
    assert [e.instrument.underlying for e in synthetic] == [
        "IAG", "ULTA", "RUT", "RUT", "RUT", "RUT"
    ]
    assert [e.instrument.asset_class for e in synthetic].count(AssetClass.OPTION) == 5
    # each synthetic opening sits just before the close it feeds
    assert [parsed.executions.index(e) for e in synthetic] == [0, 7, 9, 11, 13, 15]

    aapl = real[1]
    assert aapl.account == "U1234567"
    assert (aapl.side, aapl.quantity, aapl.price, aapl.fees) == (
        Side.BUY, Decimal(100), Decimal("179.59"), Decimal(1)
    )
    # tradeDate 20181121 tradeTime 092808, New York (EST) -> 14:28:08 UTC
    assert aapl.timestamp == datetime(2018, 11, 21, 14, 28, 8, tzinfo=UTC)
    assert aapl.broker_execution_id == "00013d66.5bf526b9.01.01"
    assert aapl.order_id == "45910827"

    expired = real[6]  # ULTA put, notes="Ep", price 0
    assert expired.price == 0 and expired.side is Side.BUY and expired.quantity == 45
    assert expired.instrument.symbol == "ULTA  181019P00250000"
    assert expired.instrument.right is OptionRight.PUT
    assert expired.raw is not None and expired.raw["fifoPnlRealized"] == "5593.343492"
    # no ibExecID: the tradeID identifies the fill
    assert real[0].broker_execution_id == "77337817"
    # a positive ibCommission is a rebate: negative fee
    rebate = real[5]
    assert rebate.fees == Decimal("-0.012049")


def test_flex_xml_futures_and_future_options(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "ibkr/ib-flex-reader_TestForCoding_flex.xml")
    assert (len(parsed.executions), len(parsed.rejections)) == (15, 0)
    assert parsed.skipped == {"cash_report_currency": 5}
    counts: dict[AssetClass, int] = {}
    for e in parsed.executions:
        counts[e.instrument.asset_class] = counts.get(e.instrument.asset_class, 0) + 1
    assert counts == {
        AssetClass.STOCK: 1, AssetClass.OPTION: 2, AssetClass.FUTURE: 8,
        AssetClass.FUTURE_OPTION: 4,
    }
    ym = [e for e in parsed.executions if e.instrument.underlying == "YM"]
    assert {e.instrument.symbol for e in ym} == {"YMZ8"}
    assert all(e.instrument.multiplier == 5 for e in ym)
    fop = next(e for e in parsed.executions if e.instrument.symbol == "GBUZ8 P1250")
    assert (fop.instrument.multiplier, fop.instrument.underlying, fop.instrument.strike) == (
        Decimal(62500), "BPZ8", Decimal("1.25")
    )
    currencies = {e.instrument.currency for e in parsed.executions}
    assert {"EUR", "GBP", "USD"} <= currencies


def test_flex_xml_datetime_attribute(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "ibkr/tradetally_ibkr-flex-report.xml")
    assert (len(parsed.executions), len(parsed.rejections)) == (4, 0)
    assert parsed.skipped == {"open_position": 1}
    gold = parsed.executions[0]
    assert gold.timestamp == datetime(2026, 1, 26, 16, 57, 15, tzinfo=UTC)
    assert gold.fees == Decimal("3.455") and gold.broker_execution_id == "EXEC00001"
    assert parsed.executions[1].side is Side.SELL and parsed.executions[1].quantity == 100


def test_flex_xml_refuses_entities(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><FlexQueryResponse>&b;</FlexQueryResponse>'
    )
    from tradestats.journal.importers import ImportFormatError

    with pytest.raises(ImportFormatError, match="DTD"):
        parse_file(path)


def test_flex_xml_malformed(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text('<FlexQueryResponse><FlexStatements><Trade symbol="A"')
    from tradestats.journal.importers import ImportFormatError

    with pytest.raises(ImportFormatError, match="malformed XML"):
        parse_file(path)


# -- Flex CSV -------------------------------------------------------------------------


def test_flex_csv_currency_conversion_rule() -> None:
    from tradestats.journal.importers.ibkr_flex_csv import is_currency_conversion

    assert is_currency_conversion({"assetclass": "CASH", "symbol": "EUR.USD"})
    assert not is_currency_conversion({"assetclass": "STK", "symbol": ""})
    fx = {"symbol": "", "isin": "", "currencyprimary": "USD", "ibcommissioncurrency": "CHF"}
    assert is_currency_conversion(fx)
    assert not is_currency_conversion({**fx, "ibcommissioncurrency": "USD"})  # still rejected
    assert not is_currency_conversion({**fx, "isin": "US9220427424"})


def test_flex_csv(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "ibkr/export-to-ghostfolio_ibkr-trades-export.csv")
    assert parsed.broker == "ibkr_flex_csv"
    assert (len(parsed.executions), parsed.rows_read) == (8, 11)
    # the three FX conversions (no Symbol nor ISIN, USD sold, commission in CHF) are
    # counted as currency conversions, not trades and not errors
    assert parsed.rejections == []
    assert parsed.skipped == {"currency_conversion": 3}
    first = parsed.executions[0]
    assert first.instrument.symbol == "CH0111762537" and first.instrument.currency == "CHF"
    assert (first.side, first.quantity, first.price, first.fees) == (
        Side.BUY, Decimal(7), Decimal("282.7"), Decimal(5)
    )
    # date only: midnight New York time
    assert first.timestamp == datetime(2023, 5, 22, 4, 0, tzinfo=UTC)


# -- Activity statement ---------------------------------------------------------------


def test_activity_full_statement_with_forex(fixtures: Path) -> None:
    parsed = parse_file(fixtures / "ibkr/binnaculum_ibkr_uk_InitialImport.csv")
    assert parsed.broker == "ibkr_activity"
    assert (len(parsed.executions), len(parsed.rejections)) == (3, 0)
    ip, _nwn, fx = parsed.executions
    assert (ip.instrument.symbol, ip.quantity, ip.price, ip.fees) == (
        "IP", Decimal("5.4725"), Decimal("36.546043856"), Decimal(1)
    )
    assert ip.timestamp == datetime(2023, 2, 28, 14, 30, tzinfo=UTC)
    assert fx.instrument.asset_class is AssetClass.FOREX
    assert (fx.side, fx.quantity, fx.price, fx.fees) == (
        Side.SELL, Decimal(345), Decimal("1.2089"), Decimal("1.993341262")
    )
    assert parsed.skipped["subtotal"] == 3 and parsed.skipped["total"] == 2
    assert parsed.skipped["open_positions"] == 3


def test_activity_statement_account_from_account_information(
    shared_sample: Callable[[str], Path],
) -> None:
    path = shared_sample(
        "ibkr/activity_statement/ibkr-tax-gemini_U12345678_2023_full_activity_statement.csv"
    )
    parsed = parse_file(path)
    # 20 = 16 file rows + 4 synthetic openings (DVN, BKE, CVX, ALLY: sold in the period,
    # no ClosedLot rows, rebuilt from Basis at the period start)
    assert (len(parsed.executions), len(parsed.rejections)) == (20, 0)
    real, synthetic = _real(parsed.executions), _synthetic(parsed.executions)
    assert len(real) == 16
    assert [(e.instrument.symbol, e.quantity, e.raw["basis"] if e.raw else None)
            for e in synthetic] == [
        ("DVN", Decimal(20), "330.00"), ("BKE", Decimal(20), "420.00"),
        ("CVX", Decimal(3), "255.00"), ("ALLY", Decimal(12), "480.00"),
    ]
    assert {e.account for e in parsed.executions} == {"U12345678"}
    assert parsed.skipped["dividends"] == 88
    realized = sum(Decimal(e.raw["Realized P/L"]) for e in real if e.raw)
    assert realized == Decimal("1094.00")  # the statement's Trades Total


@pytest.mark.parametrize(
    ("name", "n_rows", "n_synthetic", "skipped"),
    [
        # n_rows executions from the file's rows + n_synthetic openings from ClosedLot
        # rows dated before the file's first fill of their instrument
        ("option_assignment", 12, 4, {"order_fill": 12, "closedlot": 8, "subtotal": 4}),
        ("multi_account", 6, 3, {"order_fill": 7, "closedlot": 6, "subtotal": 3}),
        ("numbers_within_quotes", 4, 0, {"order_fill": 7, "closedlot": 5, "subtotal": 1}),
        ("single_account", 1, 1, {"order_fill": 1, "closedlot": 1, "subtotal": 1}),
        ("single_account_2022", 1, 1, {"order_fill": 1, "closedlot": 1, "subtotal": 1}),
        ("shorting_stocks", 2, 0, {"order_fill": 2, "closedlot": 1, "subtotal": 1}),
        ("long_call_exercise", 3, 1, {"closedlot": 2}),
        ("long_put_exercise", 3, 1, {"closedlot": 2}),
        ("short_put_assign_2023", 2, 1, {"closedlot": 1}),
        ("short_put_sell_2024", 1, 1, {"closedlot": 1}),
    ],
)
def test_activity_oittaa_samples(
    shared_sample: Callable[[str], Path],
    name: str,
    n_rows: int,
    n_synthetic: int,
    skipped: dict[str, int],
) -> None:
    parsed = parse_file(shared_sample(f"ibkr/activity_statement/oittaa_data_{name}.csv"))
    assert parsed.broker == "ibkr_activity"
    assert (len(parsed.executions), parsed.rejections, parsed.skipped) == (
        n_rows + n_synthetic, [], skipped
    )
    real, synthetic = _real(parsed.executions), _synthetic(parsed.executions)
    assert (len(real), len(synthetic)) == (n_rows, n_synthetic)
    # every synthetic opening feeds one of the file's closes, on the other side
    closes = {str(e.row): e for e in real}
    for lot in synthetic:
        assert lot.raw is not None and lot.fees == 0
        close = closes[lot.raw["closing_row"]]
        assert lot.instrument == close.instrument and lot.side is not close.side
        assert lot.timestamp < close.timestamp


def test_activity_multi_account_orders_and_expiry(shared_sample: Callable[[str], Path]) -> None:
    parsed = parse_file(shared_sample("ibkr/activity_statement/oittaa_data_multi_account.csv"))
    assert {e.account for e in parsed.executions} == {"U12345"}
    real = _real(parsed.executions)  # + 3 synthetic openings (HMBs, 2 UNIT lots)
    order = real[2]  # Order of 2 split into two Trade fills
    assert (order.quantity, order.price, order.fees) == (
        Decimal(2), Decimal("0.41"), Decimal("1.4200182")
    )
    assert order.instrument.symbol == "CLOV  210716C00020000"
    assert order.instrument.expiry == date(2021, 7, 16)
    expired = real[-1]  # code C;Ep, price 0
    assert (expired.side, expired.quantity, expired.price) == (Side.BUY, Decimal(4), Decimal(0))
    assert expired.raw is not None and expired.raw["Realized P/L"] == "355.308974"


def test_activity_quoted_thousands(shared_sample: Callable[[str], Path]) -> None:
    path = shared_sample("ibkr/activity_statement/oittaa_data_numbers_within_quotes.csv")
    parsed = parse_file(path)
    assert [e.quantity for e in parsed.executions] == [500, 500, 1000, 1000]
    assert [e.side for e in parsed.executions] == [Side.BUY, Side.SELL, Side.BUY, Side.SELL]


OPT = "Equity and Index Options,USD,QQQ 19JAN24 400 P"
ACTIVITY_OWN = "".join(
    f"{line}\n"
    for line in (
        "Statement,Header,Field Name,Field Value",
        "Statement,Data,Title,Activity Statement",
        "Account Information,Header,Field Name,Field Value",
        "Account Information,Data,Account,U7654321",
        "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,"
        "Quantity,T. Price,C. Price,Proceeds,Comm/Fee,Basis,Realized P/L,MTM P/L,Code",
        f'Trades,Data,Order,{OPT},"2024-01-03, 10:15:00",-2,3.1,3.0,620,-2.1,-617.9,0,20,O',
        f'Trades,Data,Order,{OPT},"2024-01-19, 16:20:00",2,0,0,0,0,617.9,617.9,0,C;Ep',
        f"Trades,Data,ClosedLot,{OPT},2024-01-03,-2,3.0895,,,-617.9,617.9,,ST",
        f"Trades,SubTotal,,{OPT},,0,,,620,-2.1,0,617.9,20,",
        'Trades,Data,Order,Futures,USD,MESH4,"2024-01-05, 09:31:00",1,4750.25,4750,,-0.62,,0,'
        "-1.25,O",
        'Trades,Data,Order,Futures,USD,MESH4,"2024-01-05, 09:45:00",-1,oops,4750,,-0.62,,0,'
        "-1.25,C",
        'Trades,Data,Order,Bonds,USD,T 4 02/15/34,"2024-01-05, 09:45:00",1000,99,99,,-1,,0,0,O',
        "Dividends,Header,Currency,Date,Description,Amount",
        "Dividends,Data,USD,2024-01-10,QQQ Cash Dividend,12.5",
    )
)


def test_activity_own_fixture(tmp_path: Path) -> None:
    path = tmp_path / "activity.csv"
    path.write_text(ACTIVITY_OWN)
    parsed = parse_file(path)
    assert parsed.broker == "ibkr_activity"
    sto, expiry, mes = parsed.executions
    assert {e.account for e in parsed.executions} == {"U7654321"}
    assert sto.instrument.symbol == "QQQ   240119P00400000"
    assert sto.instrument.multiplier == 100 and sto.side is Side.SELL
    assert expiry.price == 0 and expiry.side is Side.BUY
    assert mes.instrument.multiplier == 5 and mes.instrument.symbol == "MESH4"
    assert [(r.row, r.column) for r in parsed.rejections] == [
        (11, "T. Price"), (12, "Asset Category")
    ]
    assert parsed.skipped == {"closedlot": 1, "subtotal": 1, "statement": 1,
                              "account_information": 1, "dividends": 1}
