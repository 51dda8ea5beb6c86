"""Currencies: FX rates read per row from IBKR exports, P&L converted to the account's
base currency with each closing fill's rate, and imports that would mix currencies
without a rate refused as a whole.

Expected figures are worked out by hand in the comments; the IBKR samples' own
base-currency amounts (Flex ``CashReport`` base summary, Transaction History gross/net
amounts in the base currency) are checked to the cent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tradestats.config import Settings
from tradestats.journal.importers import parse_file
from tradestats.journal.imports import CurrencyMixError, import_file
from tradestats.journal.matching import match_round_trips, to_base
from tradestats.journal.model import AssetClass, Execution, Instrument, Side
from tradestats.journal.reports import MixedCurrencies, ReportParams, journal_report
from tradestats.store import journal_queries, journal_repo
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade
from tradestats.store.tables import accounts, executions, imports

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "brokers" / "ibkr"
FLEX = FIXTURES / "ib-flex-reader_TestForCoding_flex.xml"
IB2TW = FIXTURES / "ib2tw_trades_flex.xml"
TRANSACTIONS = FIXTURES / "ibkr_transaction_history_written_for_tradestats.csv"
#: the shared samples beside the repository (as in test_sample_accounting)
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "samples" / "brokers"

D = Decimal


def _attrs(path: Path, tag: str) -> dict[int, dict[str, str]]:
    """Attributes of every `tag` element by line number (one element per line)."""
    out = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith(f"<{tag} "):
            out[number] = dict(re.findall(r'(\w+)="([^"]*)"', line))
    return out


# -- importers: the rate of every row, the statement's base currency ------------------


@pytest.mark.parametrize("path", [FLEX, IB2TW], ids=["flex-reader", "ib2tw"])
def test_flex_xml_reads_each_rows_fx_rate(path: Path) -> None:
    parsed = parse_file(path)
    trades = _attrs(path, "Trade")
    assert parsed.executions
    for e in parsed.executions:
        attrs = trades[e.row]  # type: ignore[index]
        assert e.instrument.currency == attrs["currency"]
        assert e.fx_rate == D(attrs["fxRateToBase"]), e.row


def test_flex_xml_base_currency_is_the_currency_at_rate_one() -> None:
    # flex-reader: EUR trades at fxRateToBase="1" (USD 0.88221, GBP 1.1447), for both
    # accounts of the statement; ib2tw: CAD at 1 (USD 1.3104 ... 1.3601)
    assert parse_file(FLEX).base_currencies == {"U1234567": "EUR", "U1234567F": "EUR"}
    assert parse_file(IB2TW).base_currencies == {"U1234567": "CAD"}


def test_flex_xml_account_information_states_the_base(tmp_path: Path) -> None:
    text = FLEX.read_text().replace(
        "<Trades>", '<AccountInformation accountId="U1234567" currency="CHF" />\n<Trades>', 1
    )
    path = tmp_path / "stated.xml"
    path.write_text(text)
    assert set(parse_file(path).base_currencies.values()) == {"CHF"}


def test_flex_xml_rejects_a_non_positive_rate(tmp_path: Path) -> None:
    text = FLEX.read_text().replace('fxRateToBase="1.1447"', 'fxRateToBase="-1.1447"')
    path = tmp_path / "bad.xml"
    path.write_text(text)
    parsed = parse_file(path)
    assert [(r.row, r.column) for r in parsed.rejections] == [(14, "fxRateToBase")]


def test_flex_fees_in_base_equal_ibkrs_base_summary_to_the_cent() -> None:
    """The statement's CashReport in the base currency (BASE_SUMMARY) gives commissions
    -38.233733121 EUR; our fills' fees times their rates add up to the same."""
    summary = next(
        a for a in _attrs(FLEX, "CashReportCurrency").values() if a["currency"] == "BASE_SUMMARY"
    )
    ours = sum(
        (to_base(e.fees, e.fx_rate) for e in parse_file(FLEX).executions), D(0)
    )
    assert ours == D("38.23373312059")
    # IBKR prints 9 decimals: equal to those, so to the cent
    assert -ours.quantize(D("1e-9")) == D(summary["commissions"]) == D("-38.233733121")


def test_transaction_history_rates_and_base() -> None:
    parsed = parse_file(TRANSACTIONS)
    assert parsed.base_currencies == {"": "EUR"}
    rates = {(e.row, e.instrument.currency): e.fx_rate for e in parsed.executions}
    # USD rows carry the Exchange Rate column (0.84); EUR rows are in the base: none
    assert {k: v for k, v in rates.items() if k[1] == "USD"} == {
        (15, "USD"): D("0.84"), (14, "USD"): D("0.84"), (12, "USD"): D("0.84"),
        (10, "USD"): D("0.84"), (9, "USD"): D("0.84"), (8, "USD"): D("0.84"),
    }
    assert {v for k, v in rates.items() if k[1] == "EUR"} == {None}


def test_transaction_history_base_pnl_equals_the_files_base_amounts() -> None:
    """Every amount of the file is in EUR (its base): a round trip's base net P&L is the
    sum of its rows' Net Amount (all at one rate here, 0.84, so opening and closing rates
    agree)."""
    result = match_round_trips(parse_file(TRANSACTIONS).executions)
    by_symbol = {rt.instrument.symbol: rt for rt in result.round_trips}
    spy = by_symbol["SPY   260320C00700000"]  # bought 1 @ 3.20 (Net -269.64), expired
    assert (spy.net_pnl, spy.base_net_pnl) == (D("-321.00"), D("-269.64"))
    assert spy.base_gross_pnl == D("-268.80") and spy.base_fees == D("0.84")
    qqq = by_symbol["QQQ   260320P00500000"]  # sold 2 @ 1.50 (Net 249.90), assigned
    assert (qqq.net_pnl, qqq.base_net_pnl) == (D("297.50"), D("249.90"))


# -- matching: conversion with the closing fill's rate ----------------------------------

T0 = datetime(2024, 3, 1, 15, tzinfo=UTC)
EUR_STOCK = Instrument("SAP", AssetClass.STOCK, "SAP", currency="EUR")


def fill(minutes: int, side: Side, qty: str, price: str, fees: str, rate: str | None) -> Execution:
    return Execution(
        "acct", EUR_STOCK, T0 + timedelta(minutes=minutes), side, D(qty), D(price), D(fees),
        fx_rate=None if rate is None else D(rate),
    )


def test_partial_closes_convert_each_at_its_own_rate() -> None:
    # buy 10 @ 100 (fee 1, rate 1.05); sell 4 @ 110 (fee 1, rate 1.10); sell 6 @ 90
    # (fee 1, rate 1.20). FIFO, all in EUR:
    #   close 1: gross 4 x 10 = 40; fees 1 + 4/10 x 1 = 1.4      -> base 44, 1.54
    #   close 2: gross 6 x -10 = -60; fees 1 + 0.6 = 1.6          -> base -72, 1.92
    #   round trip: gross -20, fees 3, net -23 (EUR); base gross 44 - 72 = -28,
    #   base fees 1.54 + 1.92 = 3.46, base net -31.46 (the opening rate is not used)
    result = match_round_trips(
        [
            fill(0, Side.BUY, "10", "100", "1", "1.05"),
            fill(5, Side.SELL, "4", "110", "1", "1.10"),
            fill(9, Side.SELL, "6", "90", "1", "1.20"),
        ]
    )
    (rt,) = result.round_trips
    assert (rt.gross_pnl, rt.fees, rt.net_pnl) == (D(-20), D(3), D(-23))
    assert (rt.base_gross_pnl, rt.base_fees, rt.base_net_pnl) == (D(-28), D("3.46"), D("-31.46"))
    r1, r2 = result.realizations
    assert (r1.base_gross_pnl, r1.base_fees) == (D(44), D("1.54"))
    assert (r2.base_gross_pnl, r2.base_fees) == (D(-72), D("1.92"))
    # daily P&L and trade totals agree in the base currency
    assert r1.base_gross_pnl + r2.base_gross_pnl == rt.base_gross_pnl


def test_fills_without_rates_are_not_converted() -> None:
    result = match_round_trips(
        [fill(0, Side.BUY, "1", "100", "0", None), fill(1, Side.SELL, "1", "101", "0", None)]
    )
    (rt,) = result.round_trips
    assert rt.base_gross_pnl is None and rt.base_net_pnl == rt.net_pnl == D(1)


def test_flex_sample_round_trips_in_base() -> None:
    # YM (USD, rate 0.88221, multiplier 5): buy 2 @ 26048, sell 1 @ 26000, 1 @ 26002,
    # 2.03 commission each: gross (26000 + 26002 - 2 x 26048) x 5 = -470, fees 8.12,
    # net -478.12 USD = -421.8022452 EUR. FDAX (EUR, the base, rate 1): 22 x 25 = 550
    # gross, fees 8, net 542 EUR.
    result = match_round_trips(parse_file(FLEX).executions)
    got = {rt.instrument.symbol: rt for rt in result.round_trips}
    ym, fdax = got["YMZ8"], got["FDAXZ8"]
    assert (ym.gross_pnl, ym.fees, ym.net_pnl) == (D(-470), D("8.12"), D("-478.12"))
    assert ym.base_net_pnl == D("-421.8022452") == D("-478.12") * D("0.88221")
    assert (fdax.net_pnl, fdax.base_net_pnl) == (D(542), D(542))


# -- imports: the base currency of the account, and refusing silent mixes -----------------


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(tmp_path)}))
    upgrade(eng)
    return eng


def _csv(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("date,symbol,side,quantity,price,fees,currency\n" + "\n".join(rows) + "\n")
    return path


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (executions, imports, accounts)
        )


def _base(engine: Engine, account: str) -> str:
    with engine.connect() as conn:
        return next(a.base_currency for a in journal_repo.list_accounts(conn) if a.name == account)


def test_mixed_currencies_without_rates_are_refused_naming_the_rows(
    engine: Engine, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        "mixed.csv",
        [
            "2024-01-02 10:00,AAPL,buy,10,100,1,USD",
            "2024-01-02 11:00,SAP,buy,5,200,1,EUR",
            "2024-01-02 12:00,AAPL,sell,10,101,1,USD",
            "2024-01-02 13:00,SAP,sell,5,210,1,EUR",
        ],
    )
    with pytest.raises(CurrencyMixError) as caught:
        import_file(engine, path, path.name, account="mixed")
    err = caught.value
    assert err.total == 2
    assert [(p["row"], p["currency"]) for p in err.problems] == [(3, "EUR"), (5, "EUR")]
    assert "row 3 (EUR)" in str(err) and "row 5 (EUR)" in str(err)
    assert _counts(engine) == (0, 0, 0)  # nothing stored, not even the account


def test_a_single_currency_account_takes_that_base(engine: Engine, tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "eur.csv",
        ["2024-01-02 10:00,SAP,buy,5,200,1,EUR", "2024-01-02 13:00,SAP,sell,5,210,1,EUR"],
    )
    report = import_file(engine, path, path.name, account="eu")
    assert report.imported == 2
    assert _base(engine, "eu") == "EUR"
    # a later USD file without rates is refused: the account's base is fixed now
    usd = _csv(tmp_path, "usd.csv", ["2024-01-03 10:00,AAPL,buy,1,100,0,USD"])
    with pytest.raises(CurrencyMixError, match=r"row 2 \(USD\)"):
        import_file(engine, usd, usd.name, account="eu")
    assert _counts(engine)[0] == 2


def test_flex_import_sets_the_statements_base_and_converts(engine: Engine) -> None:
    report = import_file(engine, FLEX, FLEX.name)
    assert report.status == "imported"
    assert (_base(engine, "U1234567"), _base(engine, "U1234567F")) == ("EUR", "EUR")
    with engine.connect() as conn:
        stored = {
            r.source_row: r.fx_rate
            for r in conn.execute(select(executions.c.source_row, executions.c.fx_rate))
        }
        trips, realized = journal_queries.load_for_stats(conn, "U1234567")
    assert stored[19] == D("0.88221") and stored[15] == D(1)
    (ym,) = trips  # statistics see the base currency
    assert (ym.net_pnl, ym.gross_pnl, ym.fees) == (
        D("-421.8022452"), D("-414.6387"), D("7.1635452")
    )
    assert sum((r.gross_pnl - r.fees for r in realized), D(0)) == D("-421.8022452")
    stats = journal_report(engine, ReportParams(account="U1234567"))
    assert stats["currency"] == "EUR"
    assert stats["kpis"]["net_pnl"] == -421.8
    assert stats["equity"][-1]["pnl"] == -421.8


def test_a_file_stating_another_base_than_the_accounts_is_refused(engine: Engine) -> None:
    import_file(engine, IB2TW, IB2TW.name)  # U1234567: base CAD
    assert _base(engine, "U1234567") == "CAD"
    before = _counts(engine)
    with pytest.raises(CurrencyMixError, match="base currency CAD, the file states EUR"):
        import_file(engine, FLEX, FLEX.name)
    assert _counts(engine) == before


def test_a_rate_on_a_base_currency_row_must_be_one(engine: Engine, tmp_path: Path) -> None:
    # an EUR-based export, its USD rows at 0.88221, into an account whose base is USD
    eur = _csv(tmp_path, "usd.csv", ["2024-01-02 10:00,AAPL,buy,1,100,0,USD"])
    import_file(engine, eur, eur.name, account="U1234567")
    text = FLEX.read_text().replace('fxRateToBase="1"', 'fxRateToBase="1.0001"')
    path = tmp_path / "no_base.xml"  # no currency at rate 1: the base is not stated
    path.write_text(text)
    with pytest.raises(CurrencyMixError) as caught:
        import_file(engine, path, path.name)
    rows = {p["row"] for p in caught.value.problems}
    assert rows == {12, 19, 20, 21, 22, 23, 24, 25, 26}  # every USD row, at 0.88221
    assert "with FX rate 0.88221, not 1" in caught.value.problems[0]["reason"]


def test_activity_statement_mixing_sek_and_usd_is_refused(engine: Engine) -> None:
    """oittaa's multi-account statement: SEK and USD trades, no base currency stated and
    no rates: the SEK rows (an order and its synthetic opening) are named."""
    path = SHARED / "ibkr" / "activity_statement" / "oittaa_data_multi_account.csv"
    if not path.exists():
        pytest.skip("shared samples not available")
    with pytest.raises(CurrencyMixError) as caught:
        import_file(engine, path, path.name)
    assert {p["currency"] for p in caught.value.problems} == {"SEK"}
    assert 2 in {p["row"] for p in caught.value.problems}
    assert _counts(engine) == (0, 0, 0)


def test_reports_refuse_to_add_accounts_in_different_currencies(
    engine: Engine, tmp_path: Path
) -> None:
    eur = _csv(
        tmp_path, "eur.csv",
        ["2024-01-02 10:00,SAP,buy,5,200,1,EUR", "2024-01-02 13:00,SAP,sell,5,210,1,EUR"],
    )
    usd = _csv(
        tmp_path, "usd.csv",
        ["2024-01-02 10:00,AAPL,buy,5,200,1,USD", "2024-01-02 13:00,AAPL,sell,5,210,1,USD"],
    )
    import_file(engine, eur, eur.name, account="eu")
    import_file(engine, usd, usd.name, account="us")
    with pytest.raises(MixedCurrencies) as caught:
        journal_report(engine, ReportParams())
    assert caught.value.currencies == {"eu": "EUR", "us": "USD"}
    assert journal_report(engine, ReportParams(account="eu"))["currency"] == "EUR"
    assert journal_report(engine, ReportParams(account="us"))["kpis"]["net_pnl"] == 48.0


def test_metatrader5_cross_pair_report_is_refused(engine: Engine) -> None:
    """The MT5 sample trades EURAUD (P&L in AUD) and GOLD (USD) and prints no FX rate
    (its Profit column is in the account currency at a rate it does not show): adding
    the two would be a silent mix, so the AUD rows are named and nothing is stored."""
    path = SHARED / "metatrader5" / "tradenote_MetaTrader5_trade_history_report.xlsx"
    if not path.exists():
        pytest.skip("shared samples not available")
    with pytest.raises(CurrencyMixError) as caught:
        import_file(engine, path, path.name)
    assert [(p["row"], p["currency"]) for p in caught.value.problems] == [
        (22, "AUD"), (23, "AUD"), (26, "AUD"), (27, "AUD")
    ]
    assert _counts(engine) == (0, 0, 0)


def test_cli_import_refusal_and_report_refusal_exit_1(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tradestats.cli import main

    env = {"TRADESTATS_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": ""}
    runner = CliRunner()
    mixed = _csv(
        tmp_path, "mixed.csv",
        ["2024-01-02 10:00,AAPL,buy,1,100,0,USD", "2024-01-02 11:00,SAP,buy,1,200,0,EUR"],
    )
    result = runner.invoke(main, ["import", str(mixed), "--account", "m"], env=env)
    assert result.exit_code == 1
    assert "error: mixed.csv" in result.stderr and "row 3 (EUR)" in result.stderr
    eur = _csv(
        tmp_path, "eur.csv",
        ["2024-01-02 10:00,SAP,buy,5,200,1,EUR", "2024-01-02 13:00,SAP,sell,5,210,1,EUR"],
    )
    usd = _csv(
        tmp_path, "usd.csv",
        ["2024-01-02 10:00,AAPL,buy,5,200,1,USD", "2024-01-02 13:00,AAPL,sell,5,210,1,USD"],
    )
    for path, account in ((eur, "eu"), (usd, "us")):
        ok = runner.invoke(main, ["import", str(path), "--account", account], env=env)
        assert ok.exit_code == 0, ok.output
    refused = runner.invoke(main, ["report", "--format", "json"], env=env)
    assert refused.exit_code == 1 and "different base currencies" in refused.stderr
    one = runner.invoke(main, ["report", "--format", "json", "--account", "eu"], env=env)
    assert one.exit_code == 0 and '"currency": "EUR"' in one.stdout
    table = runner.invoke(main, ["report", "--account", "eu"], env=env)
    assert table.exit_code == 0 and "net P&L in EUR" in table.stdout
    out = tmp_path / "report.html"
    html = runner.invoke(
        main, ["report", "--format", "html", "--account", "eu", "--output", str(out)], env=env
    )
    assert html.exit_code == 0 and "net P&amp;L in EUR" in out.read_text()
