"""Hostile text files found by the chaos suite (tests/chaos/test_hostile_files.py): a
NUL byte past the first 64 KB, and UTF-32 (whose BOM starts like UTF-16's)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from tradestats.journal.importers import ImportFormatError, SourceFile, parse_file

HEADER = "datetime,symbol,side,quantity,price\n"
ROW = "2024-01-02 10:00:00,AAPL,buy,1,100\n"


@pytest.mark.parametrize("as_path", [False, True])
def test_nul_byte_after_the_head_is_binary_data(tmp_path: Path, as_path: bool) -> None:
    data = (HEADER + ROW * 3000 + "2024-01-02 10:00:00,AA\x00PL,buy,1,100\n").encode()
    assert b"\x00" not in data[: 64 * 1024]
    source: Path | bytes = data
    if as_path:
        source = tmp_path / "late-nul.csv"
        source.write_bytes(data)
    with pytest.raises(ImportFormatError, match="binary data"):
        parse_file(source, "late-nul.csv")


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be"])
def test_utf32_with_bom_is_read_as_utf32(encoding: str) -> None:
    text = HEADER + ROW + ROW.replace("buy", "sell")
    data = text.encode(encoding)
    if encoding == "utf-32-be":
        data = codecs.BOM_UTF32_BE + data
    assert SourceFile(data, "u32.csv").encoding == "utf-32"
    parsed = parse_file(data, "u32.csv")
    assert parsed.rejections == []
    assert [e.instrument.symbol for e in parsed.executions] == ["AAPL", "AAPL"]
