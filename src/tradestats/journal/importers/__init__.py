"""Broker importers: broker export files -> executions and row rejections.

Parsing only: nothing here touches the database. `parse_file` reads a CSV, XLSX or XML
export, picks the preset (auto-detected unless `broker` is given) and returns a
`ParsedFile`.
"""

from __future__ import annotations

from pathlib import Path

from tradestats.journal.importers.base import (
    AmbiguousFormat,
    BrokerImporter,
    ImportFormatError,
    ImportSettings,
    MissingColumnError,
    ParsedFile,
    TableSample,
    UnknownFormat,
)
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.registry import (
    PRESETS,
    detect_preset,
    get_preset,
    preset_names,
)

__all__ = [
    "PRESETS",
    "AmbiguousFormat",
    "BrokerImporter",
    "ImportFormatError",
    "ImportSettings",
    "MissingColumnError",
    "ParsedFile",
    "SourceFile",
    "TableSample",
    "UnknownFormat",
    "detect_file",
    "detect_preset",
    "get_preset",
    "open_source",
    "parse_file",
    "preset_names",
]


def open_source(
    path_or_bytes: Path | str | bytes, filename: str | None = None,
    settings: ImportSettings | None = None,
) -> SourceFile:
    settings = settings or ImportSettings()
    return SourceFile(
        path_or_bytes,
        filename,
        sheet=settings.sheet,
        max_xlsx_uncompressed_bytes=settings.max_xlsx_uncompressed_bytes,
    )


def detect_file(
    path_or_bytes: Path | str | bytes, filename: str | None = None,
    settings: ImportSettings | None = None,
) -> BrokerImporter:
    """The preset auto-detection would use for this file."""
    return detect_preset(open_source(path_or_bytes, filename, settings).sample())


def parse_file(
    path_or_bytes: Path | str | bytes,
    filename: str | None = None,
    broker: str | None = None,
    settings: ImportSettings | None = None,
) -> ParsedFile:
    """Parse a broker export.

    `filename` names the upload (its extension helps tell XLSX from CSV; defaults to the
    path's name). `broker` is a preset name (see `preset_names`); when None the format
    is auto-detected. Raises `ImportFormatError` (or a subclass: `UnknownFormat`,
    `AmbiguousFormat`, `MissingColumnError`) for a file that cannot be read as a whole;
    bad rows become `ParsedFile.rejections`.
    """
    settings = settings or ImportSettings()
    source = open_source(path_or_bytes, filename, settings)
    importer = get_preset(broker) if broker else detect_preset(source.sample())
    return importer.parse(source, settings)
