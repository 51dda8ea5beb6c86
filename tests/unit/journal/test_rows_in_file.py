"""Every record of every broker sample is named in the parse result (issue 6 item 7: "the
report names every row not imported and why").

`test_sample_accounting` checks the balance of what a preset counts (``rows_read``).
This checks it against the file itself, so a preset cannot drop a row without counting
it: per sample,

    rows in file == rows with executions + rejected rows + skipped rows + structure rows

where *rows in file* are the non-blank records the reader yields (CSV/XLSX; for Flex XML
every element with attributes but the ``FlexQueryResponse``/``FlexStatement`` containers),
every skipped row is named by number under its kind (``skipped_rows``, one number per
count), and *structure rows*, read by no preset as data, are only these:

- a plain table's header: exactly one row, after the title lines counted as ``title``;
- IBKR Activity Statement / Transaction History: the ``Header`` rows of each section;
- thinkorswim Account Statement and MetaTrader 5 report: section titles (one non-empty
  cell) and the column-header row right under each title.

The import report carries the skipped rows as ranges (``skipped_rows``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from xml.parsers import expat

import pytest
from test_sample_accounting import EXPECTED, IMPORTABLE, _path, _synthetic

from tradestats.journal.importers import ParsedFile, open_source, parse_file
from tradestats.journal.importers.base import ImportSettings
from tradestats.journal.imports import row_ranges

_XML_CONTAINERS = {"FlexQueryResponse", "FlexStatements", "FlexStatement"}
_SECTION_HEADERS = {"ibkr_activity", "ibkr_transactions"}
_SECTIONED = {"metatrader5", "thinkorswim"}


def _xml_records(path: Path) -> Counter[int]:
    """Line numbers of the data elements (a line may hold several)."""
    lines: Counter[int] = Counter()
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        if attrs and tag not in _XML_CONTAINERS:
            lines[parser.CurrentLineNumber] += 1

    parser.StartElementHandler = start
    parser.Parse(path.read_bytes(), True)
    return lines


def _named_rows(parsed: ParsedFile) -> Counter[int]:
    """Each row the parse names: with its executions, rejected, or skipped by kind."""
    named: Counter[int] = Counter()
    executions = {e.row for e in parsed.executions if not _synthetic(e)}
    named.update(r for r in executions if r is not None)
    named.update(r.row for r in parsed.rejections)
    for kind, count in parsed.skipped.items():
        rows = parsed.skipped_rows.get(kind, [])
        assert len(rows) == count, f"{kind}: {count} counted, rows {rows} named"
        named.update(rows)
    return named


@pytest.mark.parametrize("name", IMPORTABLE)
def test_rows_in_file_are_all_named(name: str) -> None:
    path = _path(name)
    parsed = parse_file(path)
    assert parsed.broker == EXPECTED[name].preset
    named = _named_rows(parsed)
    assert sum(named.values()) == parsed.rows_read, "each counted row named once"
    if path.suffix == ".xml":
        assert named == _xml_records(path)
        return
    records = dict(open_source(path, path.name, ImportSettings()).rows())
    assert set(named) <= set(records), "a named row that is not in the file"
    assert max(named.values()) == 1, "a row named twice"
    structure = sorted(set(records) - set(named))
    order = list(records)
    if parsed.broker in _SECTION_HEADERS:
        assert all(records[n][1] == "Header" for n in structure), structure
    elif parsed.broker in _SECTIONED and any(_is_title(records[n]) for n in structure[1:]):
        for n in structure:
            before = order[order.index(n) - 1] if order.index(n) else None
            assert _is_title(records[n]) or (before is not None and _is_title(records[before])), (
                n, records[n][:4]
            )
    else:
        (header,) = structure  # one header row; only title lines above it
        titles = set(parsed.skipped_rows.get("title", []))
        assert {n for n in records if n < header} <= titles, (header, titles)


def _is_title(cells: list[str]) -> bool:
    return sum(1 for c in cells if c) == 1


def test_structure_rows_are_the_documented_ones() -> None:
    """The figures behind the module doc, on in-repo copies."""
    fixtures = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "brokers"
    statement = fixtures / "thinkorswim" / "account_statement_spreads_written_for_tradestats.csv"
    parsed = parse_file(statement)
    records = dict(open_source(statement, statement.name, ImportSettings()).rows())
    structure = sorted(set(records) - set(_named_rows(parsed)))
    assert [records[n][0] for n in structure[:3]] == [
        "Account Statement for 12345678 (test) since 1/2/25 through 1/31/25",
        "Cash Balance",
        "DATE",
    ]


def test_report_names_skipped_rows_as_ranges() -> None:
    assert row_ranges([9, 3, 4, 5, 12, 11]) == "3-5, 9, 11-12"
    assert row_ranges([]) == ""
    assert row_ranges([1, 3, 5, 7], limit=2) == "1, 3, and 2 more rows"


def test_tastytrade_report_names_its_money_movements() -> None:
    fixtures = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "brokers"
    parsed = parse_file(
        fixtures / "tastytrade"
        / "tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv"
    )
    # row 2: 2024-08-16T23:00:00+0200,Money Movement,Credit Interest,...
    assert parsed.skipped_rows["credit_interest"][0] == 2
    assert len(parsed.skipped_rows["dividend"]) == parsed.skipped["dividend"] == 22
