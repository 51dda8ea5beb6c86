from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tradestats.journal.importers import (
    PRESETS,
    AmbiguousFormat,
    BrokerImporter,
    ImportSettings,
    TableSample,
    UnknownFormat,
    detect_file,
    detect_preset,
    get_preset,
    parse_file,
    preset_names,
)
from tradestats.journal.importers.base import ImportFormatError, ParseTally
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.registry import MIN_CONFIDENCE
from tradestats.journal.model import Execution, Rejection

COPIED = {
    "ibkr/ib2tw_trades_flex.xml": "ibkr_flex_xml",
    "ibkr/ib-flex-reader_TestForCoding_flex.xml": "ibkr_flex_xml",
    "ibkr/tradetally_ibkr-flex-report.xml": "ibkr_flex_xml",
    "ibkr/export-to-ghostfolio_ibkr-trades-export.csv": "ibkr_flex_csv",
    "ibkr/binnaculum_ibkr_uk_InitialImport.csv": "ibkr_activity",
    "tastytrade/tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv":
        "tastytrade",
    "tastytrade/binnaculum_TsllImportTest.csv": "tastytrade",
    "tastytrade/binnaculum_FutureOptions.csv": "tastytrade",
    "tastytrade/binnaculum_PfizerImportTest.csv": "tastytrade",
    "tastytrade/laroche_MES_LT112_future_options.csv": "tastytrade",
    "tastytrade/laroche_CL_future.csv": "tastytrade",
    "tastytrade/laroche_legacy_format.csv": "tastytrade",
    "hyperliquid/trade_history.csv": "hyperliquid",
    "schwab/export-to-ghostfolio_schwab-export.csv": "schwab",
    "schwab/capital-gains-calculator_schwab_transactions.csv": "schwab",
    "schwab/options_written_for_tradestats.csv": "schwab",
    "fidelity/options_written_for_tradestats.csv": "fidelity",
    "ibkr/capital-gains-calculator_ib_transaction_history.csv": "ibkr_transactions",
    "ibkr/ibkr_transaction_history_written_for_tradestats.csv": "ibkr_transactions",
    "webull/orders_records.csv": "webull",
    "robinhood/activity.csv": "robinhood",
    "binance/futures_trade_history.csv": "binance_futures",
    "binance/futures_trade_history_v2.csv": "binance_futures",
    "bybit/trade_history.csv": "bybit",
    "bybit/closed_pnl.csv": "bybit",
    "tradovate/tradetally_tradovate-paired-trades-sample.csv": "tradovate",
    "tradovate/orders_written_for_tradestats.csv": "tradovate",
    "tradovate/fills_written_for_tradestats.csv": "tradovate",
    "thinkorswim/account_statement_spreads_written_for_tradestats.csv": "thinkorswim",
    "thinkorswim/transactions_options_written_for_tradestats.csv": "thinkorswim",
}

# Samples read from ../shared/samples/brokers (GPL ones are not copied into the repo)
SHARED_SAMPLES = {
    "thinkorswim/tradenote_TD_Ameritrade_account_statement.csv": "thinkorswim",
    "thinkorswim/beancount_reds_tdameritrade_transactions.csv": "thinkorswim",
    "tradezero/tradenote_example_tradezero_file.csv": "tradezero",
    "metatrader5/tradenote_MetaTrader5_trade_history_report.xlsx": "metatrader5",
    "tradovate/tradetally_tradovate-paired-trades-sample.csv": "tradovate",
}


@pytest.mark.parametrize(("relative", "preset"), sorted(SHARED_SAMPLES.items()))
def test_detects_shared_samples(
    shared_sample: Callable[[str], Path], relative: str, preset: str
) -> None:
    path = shared_sample(relative)
    assert detect_file(path).name == preset
    # no other broker preset even reaches the threshold (generic is the fallback)
    sample = SourceFile(path).sample()
    others = [
        p.name for p in PRESETS
        if p.name not in (preset, "generic") and p.detect(sample) >= MIN_CONFIDENCE
    ]
    assert others == []


@pytest.mark.parametrize(("relative", "preset"), sorted(COPIED.items()))
def test_detects_copied_samples(fixtures: Path, relative: str, preset: str) -> None:
    assert detect_file(fixtures / relative).name == preset


@pytest.mark.parametrize(
    "name",
    ["option_assignment", "multi_account", "single_account", "long_call_exercise"],
)
def test_detects_activity_statements(shared_sample: Callable[[str], Path], name: str) -> None:
    path = shared_sample(f"ibkr/activity_statement/oittaa_data_{name}.csv")
    assert detect_file(path).name == "ibkr_activity"


def test_detects_generic(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("Date,Ticker,Side,Shares,Price\n2024-01-02,AAPL,B,1,1\n")
    assert detect_file(path).name == "generic"


def test_unknown_format_lists_columns_and_presets(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("Foo,Bar,Baz\n1,2,3\n")
    with pytest.raises(UnknownFormat) as info:
        parse_file(path)
    message = str(info.value)
    assert "'Foo', 'Bar', 'Baz'" in message
    for name in preset_names():
        assert name in message


class _Fixed(BrokerImporter):
    label = "fixed"

    def __init__(self, name: str, score: float) -> None:
        self.name = name  # type: ignore[misc]
        self.score = score

    def detect(self, sample: TableSample) -> float:
        return self.score

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        return iter(())


def test_tie_is_ambiguous() -> None:
    sample = TableSample("x.csv", "csv", [["a", "b"]])
    with pytest.raises(AmbiguousFormat) as info:
        detect_preset(sample, [_Fixed("one", 0.9), _Fixed("two", 0.9), _Fixed("three", 0.5)])
    assert info.value.candidates == ["one", "two"]
    assert detect_preset(sample, [_Fixed("one", 0.9), _Fixed("two", 0.8)]).name == "one"
    with pytest.raises(UnknownFormat):
        detect_preset(sample, [_Fixed("one", 0.4)])


def test_explicit_broker(fixtures: Path) -> None:
    path = fixtures / "hyperliquid/trade_history.csv"
    parsed = parse_file(path, broker="generic")  # forced: only Buy/Sell are sides
    assert parsed.broker == "generic" and len(parsed.executions) == 2
    assert len(parsed.rejections) == 11
    assert {r.column for r in parsed.rejections} == {"dir"}
    with pytest.raises(ImportFormatError, match="unknown broker preset 'nope'"):
        parse_file(path, broker="nope")
    assert get_preset("tastytrade").label


def test_missing_column_for_forced_preset(fixtures: Path) -> None:
    with pytest.raises(ImportFormatError, match="required column 'Date' is missing"):
        parse_file(fixtures / "hyperliquid/trade_history.csv", broker="tastytrade")
