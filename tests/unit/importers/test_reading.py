from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from tradestats.journal.importers import (
    ImportFormatError,
    ImportSettings,
    SourceFile,
    parse_file,
)

ROWS = [
    ["datetime", "symbol", "side", "quantity", "price", "account"],
    ["2024-01-02 10:00:00", "AAPL", "buy", "10", "100.5", "Société Générale"],
    ["2024-01-02 11:00:00", "AAPL", "sell", "10", "101.5", "Société Générale"],
]


def as_text(delimiter: str) -> str:
    return "".join(delimiter.join(row) + "\r\n" for row in ROWS)


def check(parsed_rows: int, accounts: set[str]) -> None:
    assert parsed_rows == 2
    assert accounts == {"Société Générale"}


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"),
     ("utf-16", "utf-16")],
)
def test_encodings(tmp_path: Path, encoding: str, expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(as_text(",").encode(encoding))
    source = SourceFile(path)
    assert source.encoding == expected
    parsed = parse_file(path)
    check(len(parsed.executions), {e.account for e in parsed.executions})
    # the BOM never leaks into the first column name
    assert parsed.executions[0].raw is not None and "datetime" in parsed.executions[0].raw


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(as_text(delimiter), encoding="utf-8")
    assert SourceFile(path).delimiter == delimiter
    parsed = parse_file(path)
    assert parsed.rejections == []
    check(len(parsed.executions), {e.account for e in parsed.executions})


def test_bytes_input_and_quoted_newlines() -> None:
    data = (
        b"datetime,symbol,side,quantity,price,note\n"
        b'2024-01-02 10:00:00,AAPL,buy,1,1,"two\nlines"\n'
        b"2024-01-02 10:00:00,AAPL,sell,x,1,\n"
    )
    parsed = parse_file(data, "upload.csv")
    assert len(parsed.executions) == 1
    # rows are records as a spreadsheet shows them: the quoted newline stays in row 2
    assert parsed.rejections[0].row == 3


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        parse_file(path)
    with pytest.raises(ImportFormatError, match="empty"):
        parse_file(b"  \r\n", "blank.csv")


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(ImportFormatError, match="binary"):
        parse_file(path)


def test_undecodable_text(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"  # 0x81 and 0x8d are undefined in cp1252, invalid UTF-8
    path.write_bytes(b"datetime,symbol,side,quantity,price\n2024-01-02,\x81\x8d,buy,1,1\n")
    with pytest.raises(ImportFormatError, match="neither UTF-8 nor Windows-1252"):
        parse_file(path)


def test_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("Dear broker\nplease send my trades\n")
    with pytest.raises(ImportFormatError, match="not a table"):
        parse_file(path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("trades.csv", as_text(","))
    with pytest.raises(ImportFormatError, match="zip archive"):
        parse_file(buffer.getvalue(), "trades.zip")
    with pytest.raises(ImportFormatError, match="not an Excel workbook"):
        parse_file(buffer.getvalue(), "trades.xlsx")


def test_xlsx_named_file_that_is_not_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text(as_text(","))
    with pytest.raises(ImportFormatError, match="not an Excel workbook"):
        parse_file(path)


def write_workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "Trades"
    cover.append(["Date/Time", "Symbol", "Side", "Quantity", "Price", "Fees"])
    cover.append([datetime(2024, 1, 2, 9, 30), "AAPL", "BUY", 10, 180.25, 1])
    cover.append([datetime(2024, 1, 2, 15, 0), "AAPL", "SELL", 10.0, 181, None])
    other = workbook.create_sheet("Other")
    other.append(["Timestamp", "Ticker", "Action", "Qty", "Fill Price"])
    other.append(["2024-01-03 10:00:00", "MSFT", "B", 3, 400])
    workbook.save(path)


def test_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "trades.xlsx"
    write_workbook(path)
    parsed = parse_file(path)
    assert parsed.broker == "generic" and parsed.rejections == []
    buy, sell = parsed.executions
    assert buy.timestamp == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    assert (buy.quantity, buy.price, buy.fees, sell.quantity, sell.fees) == (
        Decimal(10), Decimal("180.25"), Decimal(1), Decimal(10), Decimal(0)
    )
    other = parse_file(path, settings=ImportSettings(sheet="Other"))
    assert [e.instrument.symbol for e in other.executions] == ["MSFT"]
    with pytest.raises(ImportFormatError, match="no sheet named 'Nope'"):
        parse_file(path, settings=ImportSettings(sheet="Nope"))
    # the same workbook uploaded as bytes
    assert len(parse_file(path.read_bytes(), "upload.xlsx").executions) == 2


def test_xlsx_compression_bomb_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    write_workbook(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/zeros.bin", b"\0" * (32 * 1024 * 1024))
    with pytest.raises(ImportFormatError, match="compression bomb"):
        parse_file(path)


def test_xlsx_total_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    write_workbook(path)
    with pytest.raises(ImportFormatError, match="limit 1000"):
        parse_file(path, settings=ImportSettings(max_xlsx_uncompressed_bytes=1000))


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "cut.xlsx"
    write_workbook(path)
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(ImportFormatError):
        parse_file(path)


def test_rows_are_streamed(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(as_text(","))
    rows = SourceFile(path).rows()
    assert next(rows) == (1, ROWS[0])  # a generator, not a list
