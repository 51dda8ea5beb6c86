from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tradestats.journal.importers import (
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
}


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
