"""The importer plug-in interface: settings, results, errors and the preset base class.

An importer turns one broker export into `Execution`s and `Rejection`s. It never touches
the database: the caller decides what to do with a `ParsedFile` (preview, store in one
transaction, report rejections).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from tradestats.journal.model import CorporateAction, Execution, Rejection

if TYPE_CHECKING:
    from tradestats.journal.importers.reading import SourceFile


class ImportFormatError(ValueError):
    """The file cannot be read as any table (empty, binary, corrupt, too large...).

    The message is meant for the user as is: no traceback needed to understand it.
    """


class MissingColumnError(ImportFormatError):
    """A column the preset requires is absent from the header."""

    def __init__(self, column: str, found: Sequence[str], preset: str) -> None:
        self.column = column
        self.found = list(found)
        self.preset = preset
        shown = ", ".join(repr(c) for c in self.found[:40]) or "(none)"
        super().__init__(
            f"{preset}: required column {column!r} is missing; columns found: {shown}"
        )


class UnknownFormat(ImportFormatError):
    """No preset recognises the file."""

    def __init__(self, columns: Sequence[str], presets: Sequence[str]) -> None:
        self.columns = list(columns)
        self.presets = list(presets)
        shown = ", ".join(repr(c) for c in self.columns[:40]) or "(none)"
        super().__init__(
            "unrecognised file format; columns found: "
            f"{shown}. Supported presets: {', '.join(self.presets)}. "
            "For another layout use the 'generic' preset with a column mapping."
        )


class AmbiguousFormat(ImportFormatError):
    """Several presets recognise the file equally well; the user must choose."""

    def __init__(self, candidates: Sequence[str]) -> None:
        self.candidates = list(candidates)
        super().__init__(
            "file matches several presets equally well: "
            f"{', '.join(self.candidates)}; choose one explicitly"
        )


@dataclass(frozen=True, slots=True)
class ImportSettings:
    """Options of one import.

    `timezone` is the zoneinfo name used for naive timestamps; `None` means the
    preset's own default (America/New_York for US brokers, UTC for crypto).
    `column_mapping` maps a generic role (``"symbol"``, ``"price"``...) to the file's
    column name, overriding alias lookup. `multipliers` overrides or extends the futures
    root multiplier table (``{"MES": Decimal(5)}``). `day_first` reads ``01/02/2024``
    as 1 February instead of 2 January (generic preset only).
    """

    account: str = "default"
    timezone: str | None = None
    column_mapping: Mapping[str, str] = field(default_factory=dict)
    sheet: str | None = None
    multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    day_first: bool = False
    max_xlsx_uncompressed_bytes: int = 256 * 1024 * 1024

    def zone_name(self, preset_default: str) -> str:
        return self.timezone or preset_default


@dataclass(slots=True)
class ParsedFile:
    """The outcome of parsing one file.

    `rows_read` counts data rows/records looked at (header excluded); `skipped` counts
    rows that are not trades by kind (``{"dividend": 2}``): neither executions nor errors.
    `corporate_actions` are the splits the file reports (their rows are also counted in
    `skipped`, under their kind): the matcher applies them to the open lots.
    `skipped_rows` gives the row numbers behind each `skipped` count.
    """

    broker: str
    executions: list[Execution] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    rows_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    corporate_actions: list[CorporateAction] = field(default_factory=list)
    #: the row numbers counted in `skipped`, by kind (file order)
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)
    #: the base currency the file states per account ("" = every account; see ParseTally)
    base_currencies: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ParseTally:
    """Counters an importer updates while it streams records."""

    rows_read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: splits found while streaming (their rows are also counted in `skipped`)
    corporate_actions: list[CorporateAction] = field(default_factory=list)
    #: the base currency the file states (or its FX rates imply) per account name; the
    #: key "" stands for every account of the file (set at the latest when parsing ends)
    base_currencies: dict[str, str] = field(default_factory=dict)
    skipped_rows: dict[str, list[int]] = field(default_factory=dict)

    def skip(self, kind: str, row: int | None = None) -> None:
        """Count one row that is not a trade under `kind`; `row` is its row (or record)
        number, kept so the report can name it."""
        self.skipped[kind] += 1
        if row is not None:
            rows = self.skipped_rows.get(kind)
            if rows is None:
                self.skipped_rows[kind] = [row]
            else:
                rows.append(row)


@dataclass(frozen=True, slots=True)
class TableSample:
    """What detection looks at: the first rows of the file, and its head as text.

    `rows` are the first non-empty rows (the header first for a plain table); `text` is
    the decoded beginning of the file (for XML), `kind` is ``"csv"``, ``"xlsx"`` or
    ``"xml"``.
    """

    filename: str
    kind: str
    rows: list[list[str]]
    text: str = ""

    @property
    def header(self) -> list[str]:
        return self.rows[0] if self.rows else []


def normalize_header(name: str) -> str:
    """Lower-case a column name and drop everything but letters and digits, so
    ``"Put/Call"``, ``"put_call"`` and ``"putCall"`` compare equal."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


class BrokerImporter(ABC):
    """One preset. Subclasses set `name` (stable id) and `label` (shown to users)."""

    name: ClassVar[str]
    label: ClassVar[str]
    default_timezone: ClassVar[str] = "America/New_York"

    @abstractmethod
    def detect(self, sample: TableSample) -> float:
        """Confidence 0..1 that `sample` is this preset's format."""

    @abstractmethod
    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        """Stream executions and rejections, updating `tally`.

        Raises `ImportFormatError` (e.g. `MissingColumnError`) when the file as a whole
        cannot be this format.
        """

    def parse(self, source: SourceFile, settings: ImportSettings | None = None) -> ParsedFile:
        """Parse the whole file into a `ParsedFile`."""
        settings = settings or ImportSettings()
        tally = ParseTally()
        result = ParsedFile(broker=self.name)
        executions = result.executions
        rejections = result.rejections
        for item in self.iter_parse(source, settings, tally):
            if isinstance(item, Execution):
                executions.append(item)
            else:
                rejections.append(item)
        result.rows_read = tally.rows_read
        result.skipped = dict(tally.skipped)
        result.corporate_actions = list(tally.corporate_actions)
        result.skipped_rows = {kind: list(rows) for kind, rows in tally.skipped_rows.items()}
        result.base_currencies = dict(tally.base_currencies)
        return result
