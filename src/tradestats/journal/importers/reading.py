"""Reading broker files into rows of strings: CSV (any common encoding and delimiter),
XLSX (via openpyxl, read-only, zip-bomb checked) and raw XML bytes.

Rows are generated, never collected, so a 1 GB CSV is read in bounded memory. Row
numbers are what a user sees in a spreadsheet: the first record is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO

from tradestats.journal.importers.base import ImportFormatError, TableSample

_HEAD_BYTES = 64 * 1024
_SCAN_CHUNK = 1024 * 1024
_DELIMITERS = (",", ";", "\t")
_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_ZIP_MAGIC = b"PK\x03\x04"
#: A ratio above this for a large member is a compression bomb, not a spreadsheet.
_MAX_COMPRESSION_RATIO = 200
_SAMPLE_ROWS = 60


class SourceFile:
    """One uploaded/exported file, from a path or from bytes.

    `kind` is ``"csv"``, ``"xlsx"`` or ``"xml"`` (decided from content, then name).
    """

    def __init__(
        self,
        source: Path | str | bytes,
        filename: str | None = None,
        *,
        sheet: str | None = None,
        max_xlsx_uncompressed_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        if isinstance(source, bytes | bytearray):
            self._data: bytes | None = bytes(source)
            self._path: Path | None = None
            self.filename = filename or "upload"
        else:
            self._data = None
            self._path = Path(source)
            self.filename = filename or self._path.name
        self.sheet = sheet
        self.max_xlsx_uncompressed_bytes = max_xlsx_uncompressed_bytes
        self._head = self._read_head()
        self.kind = self._detect_kind()
        self._encoding: str | None = None
        self._delimiter: str | None = None

    # -- raw access ---------------------------------------------------------------

    def open_binary(self) -> IO[bytes]:
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self._path is not None
        try:
            return self._path.open("rb")
        except OSError as exc:
            raise ImportFormatError(f"{self.filename}: cannot open file: {exc.strerror}") from exc

    def _read_head(self) -> bytes:
        with self.open_binary() as fh:
            return fh.read(_HEAD_BYTES)

    def _detect_kind(self) -> str:
        head = self._head
        if not head.strip():
            raise ImportFormatError(f"{self.filename}: the file is empty")
        lower = self.filename.lower()
        if head.startswith(_ZIP_MAGIC):
            if lower.endswith(_XLSX_SUFFIXES) or b"[Content_Types].xml" in head[:2048]:
                return "xlsx"
            raise ImportFormatError(
                f"{self.filename}: this is a zip archive, not a CSV/XLSX/XML export; "
                "extract it first"
            )
        if lower.endswith(_XLSX_SUFFIXES):
            raise ImportFormatError(
                f"{self.filename}: named .xlsx but is not an Excel workbook (not a zip file)"
            )
        if lower.endswith(".xls") and head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFormatError(
                f"{self.filename}: old binary Excel (.xls) is not supported; save as .xlsx or CSV"
            )
        text_start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if text_start.startswith(b"<"):
            return "xml"
        return "csv"

    # -- text decoding ---------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """The text encoding: UTF-32 or UTF-16 (BOM), UTF-8 (with or without BOM) or cp1252."""
        if self._encoding is None:
            self._encoding = self._detect_encoding()
        return self._encoding

    def _detect_encoding(self) -> str:
        head = self._head
        # UTF-32's little-endian BOM starts with UTF-16's: test it first.
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            return "utf-32"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if self._contains_nul():
            raise ImportFormatError(
                f"{self.filename}: binary data, not a text (CSV) file"
            )
        if self._is_valid("utf-8-sig"):
            return "utf-8-sig"
        if self._is_valid("cp1252"):
            return "cp1252"
        raise ImportFormatError(
            f"{self.filename}: text is neither UTF-8 nor Windows-1252; "
            "re-export the file as UTF-8"
        )

    def _contains_nul(self) -> bool:
        """A NUL byte anywhere, not only in the head: no text export has one, and a
        NUL inside a cell cannot be stored by PostgreSQL."""
        if b"\x00" in self._head:
            return True
        with self.open_binary() as fh:
            while chunk := fh.read(_SCAN_CHUNK):
                if b"\x00" in chunk:
                    return True
        return False

    def _is_valid(self, encoding: str) -> bool:
        """Decode the whole file incrementally (bounded memory) to validate `encoding`."""
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            with self.open_binary() as fh:
                while chunk := fh.read(_SCAN_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
        return True

    def text(self) -> IO[str]:
        """The file as text, newline handling left to the csv module."""
        encoding = self.encoding
        if self._data is not None:
            return io.StringIO(self._data.decode(encoding), newline="")
        assert self._path is not None
        return self._path.open("r", encoding=encoding, newline="")

    def head_text(self) -> str:
        return self._head.decode(self.encoding if self.kind == "csv" else "utf-8", "replace")

    # -- CSV -----------------------------------------------------------------------------

    @property
    def delimiter(self) -> str:
        if self._delimiter is None:
            self._delimiter = _detect_delimiter(self.head_text(), self.filename)
        return self._delimiter

    def header_and_rows(self) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
        """The first row (the header) and an iterator over the rows after it; a file
        without any row is an `ImportFormatError`."""
        rows = self.rows()
        first = next(rows, None)
        if first is None:
            raise ImportFormatError(f"{self.filename}: no rows found")
        return first[1], rows

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(row_number, cells)`` for every non-blank row, cells stripped of
        surrounding whitespace. Row 1 is the first record of the file."""
        if self.kind == "xlsx":
            yield from self._xlsx_rows()
            return
        if self.kind != "csv":
            raise ImportFormatError(f"{self.filename}: an XML file has no table rows")
        delimiter = self.delimiter
        with self.text() as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            number = 0
            strip = str.strip
            try:
                for cells in reader:
                    number += 1
                    if not cells:
                        continue
                    stripped = list(map(strip, cells))
                    if any(stripped):
                        yield number, stripped
            except csv.Error as exc:
                raise ImportFormatError(
                    f"{self.filename}: malformed CSV near row {number + 1}: {exc}"
                ) from exc
            except UnicodeDecodeError as exc:
                raise ImportFormatError(
                    f"{self.filename}: undecodable text near row {number + 1}"
                ) from exc

    # -- XLSX -----------------------------------------------------------------------------

    def _check_zip(self) -> None:
        try:
            with self.open_binary() as fh, zipfile.ZipFile(fh) as archive:
                total = 0
                for info in archive.infolist():
                    total += info.file_size
                    if (
                        info.file_size > 10 * 1024 * 1024
                        and info.file_size > _MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
                    ):
                        raise ImportFormatError(
                            f"{self.filename}: rejected, {info.filename!r} expands "
                            f"{info.file_size // max(info.compress_size, 1)}x "
                            "(compression bomb)"
                        )
                if total > self.max_xlsx_uncompressed_bytes:
                    raise ImportFormatError(
                        f"{self.filename}: rejected, workbook expands to {total} bytes "
                        f"(limit {self.max_xlsx_uncompressed_bytes})"
                    )
                if "xl/workbook.xml" not in archive.namelist():
                    raise ImportFormatError(f"{self.filename}: zip file is not an Excel workbook")
        except zipfile.BadZipFile as exc:
            raise ImportFormatError(f"{self.filename}: corrupt XLSX file ({exc})") from exc

    def _xlsx_rows(self) -> Iterator[tuple[int, list[str]]]:
        import openpyxl  # imported lazily: CSV-only use needs no openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        self._check_zip()
        fh = self.open_binary()
        try:
            try:
                workbook = openpyxl.load_workbook(fh, read_only=True, data_only=True)
            except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
                raise ImportFormatError(f"{self.filename}: cannot read workbook ({exc})") from exc
            try:
                if self.sheet is not None:
                    if self.sheet not in workbook.sheetnames:
                        raise ImportFormatError(
                            f"{self.filename}: no sheet named {self.sheet!r}; "
                            f"sheets: {', '.join(workbook.sheetnames)}"
                        )
                    sheet = workbook[self.sheet]
                else:
                    sheet = workbook.worksheets[0]
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    cells = [_cell_text(v) for v in values]
                    if any(cells):
                        yield number, cells
            finally:
                workbook.close()
        finally:
            fh.close()

    # -- detection sample -------------------------------------------------------------------

    def sample(self) -> TableSample:
        if self.kind == "xml":
            return TableSample(self.filename, "xml", [], self._head.decode("utf-8", "replace"))
        rows: list[list[str]] = []
        for _, cells in self.rows():
            rows.append(cells)
            if len(rows) >= _SAMPLE_ROWS:
                break
        if not rows:
            raise ImportFormatError(f"{self.filename}: no rows found")
        if max(len(r) for r in rows) < 2:
            raise ImportFormatError(
                f"{self.filename}: not a table (no ',', ';' or tab separated columns found)"
            )
        text = self.head_text() if self.kind == "csv" else ""
        return TableSample(self.filename, self.kind, rows, text)


def _detect_delimiter(text: str, filename: str) -> str:
    """Pick the delimiter among , ; and tab that splits the first lines most
    consistently into more than one column."""
    lines = text.splitlines()[:30]
    if len(text) >= _HEAD_BYTES - 4 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a truncated head may be partial
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ImportFormatError(f"{filename}: no rows found")
    best: tuple[float, int, int] = (0.0, 0, 0)
    best_delim = ","
    for rank, delim in enumerate(_DELIMITERS):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        except csv.Error:
            continue
        multi = [c for c in counts if c > 1]
        if not multi:
            continue
        mode = max(set(multi), key=multi.count)
        score = (len(multi) / len(counts), multi.count(mode), -rank)
        if score > best:
            best = score
            best_delim = delim
    if best[0] == 0.0:
        return ","  # single-column text: `sample()` reports it as not a table
    return best_delim


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    return str(value).strip()
