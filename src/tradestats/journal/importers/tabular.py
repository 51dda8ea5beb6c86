"""Column lookup for header-based (CSV/XLSX) presets."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from tradestats.journal.importers.base import MissingColumnError, normalize_header
from tradestats.journal.importers.values import RowError
from tradestats.journal.model import Rejection


class HeaderIndex:
    """Positions of the columns of one header row, found by normalized name."""

    def __init__(self, header: Sequence[str], preset: str) -> None:
        self.header = list(header)
        self.preset = preset
        self._positions: dict[str, int] = {}
        for i, name in enumerate(self.header):
            self._positions.setdefault(normalize_header(name), i)

    def find(self, *aliases: str) -> int | None:
        """Position of the first alias present (aliases compared normalized)."""
        for alias in aliases:
            pos = self._positions.get(normalize_header(alias))
            if pos is not None:
                return pos
        return None

    def require(self, label: str, *aliases: str) -> int:
        pos = self.find(label, *aliases)
        if pos is None:
            raise MissingColumnError(label, self.header, self.preset)
        return pos

    def has_all(self, names: Iterable[str]) -> bool:
        return all(normalize_header(n) in self._positions for n in names)

    def fraction_present(self, names: Sequence[str]) -> float:
        if not names:
            return 0.0
        return sum(normalize_header(n) in self._positions for n in names) / len(names)

    def raw(self, cells: Sequence[str]) -> dict[str, str]:
        """The row as ``{column: text}`` (columns without a name are left out)."""
        return {
            name: (cells[i] if i < len(cells) else "")
            for i, name in enumerate(self.header)
            if name
        }


def cell(cells: Sequence[str], pos: int | None) -> str:
    """The text at `pos`, ``""`` when the column is absent or the row is short."""
    if pos is None or pos >= len(cells):
        return ""
    return cells[pos]


def rejection(row: int, error: RowError, raw: dict[str, str] | None) -> Rejection:
    return Rejection(row=row, column=error.column, reason=error.reason, raw=raw)


class RowJson:
    """A row as the JSON object of its named columns, for one header: the same text as
    ``json.dumps({column: text, ...}, separators=(",", ":"))`` of the row's
    ``{name: cell}`` dict, built faster. The column names are encoded once into a
    ``%`` template; a row whose cells need no JSON escaping (printable ASCII without
    ``"`` or ``\\``) is one formatting, any other row goes through `json.dumps`."""

    def __init__(self, header: Sequence[str]) -> None:
        self.positions = [i for i, name in enumerate(header) if name]
        self.names = [header[i] for i in self.positions]
        self.width = len(header)
        unique = len(set(self.names)) == len(self.names)  # else later cells win in a dict
        self.template = (
            "{" + ",".join(json.dumps(n).replace("%", "%%") + ':"%s"' for n in self.names) + "}"
            if unique and self.names
            else ""
        )

    def dict(self, cells: Sequence[str]) -> dict[str, str]:
        """The row as ``{column: text}`` (`cells` at least as long as the header)."""
        return {self.names[k]: cells[i] for k, i in enumerate(self.positions)}

    def __call__(self, cells: Sequence[str]) -> str | None:
        """The JSON text; `cells` at least as long as the header. None: no named column."""
        if not self.names:
            return None
        if self.template:
            values = (
                tuple(cells[: self.width])
                if len(self.positions) == self.width
                else tuple(cells[i] for i in self.positions)
            )
            joined = "".join(values)
            if (
                joined.isascii()
                and joined.isprintable()
                and '"' not in joined
                and "\\" not in joined
            ):
                return self.template % values
        return json.dumps(self.dict(cells), separators=(",", ":"))
