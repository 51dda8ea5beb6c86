"""Robinhood account activity report CSV (stocks, ETFs and options).

Robinhood (web: Account > Reports and statements > Reports > Generate account activity
report, CSV) writes every field quoted: Activity Date, Process Date, Settle Date,
Instrument, Description, Trans Code, Quantity, Price, Amount. Rows are newest first and
carry a date only; the file ends with a disclaimer line.

- ``Buy``/``Sell`` are stock fills (Instrument is the ticker; Description is the company
  name and CUSIP on several lines). ``BTO``/``STC``/``STO``/``BTC`` are option fills,
  described as ``AAPL 1/19/2024 Call $150.00``; Price is per share, multiplier 100.
- ``Amount`` is the cash effect, ``($1,234.56)`` for a debit. Robinhood charges no
  commission but deducts regulatory fees from Amount, so a fill's fees are its value
  minus the cash it moved: ``fees = -signed quantity x price x multiplier - Amount``
  (for fractional shares this includes the rounding of Amount to the cent). An Amount
  whose sign contradicts the side is rejected.
- Option removals close the position at price 0: ``OASGN`` (assignment: a short is
  bought back), ``OEXCS`` (exercise: a long is sold), ``OEXP`` (expiration: closes the
  long or short the file holds, rejected when the file holds none). The stock leg of an
  assignment or exercise is its own ``Buy``/``Sell`` row at the strike and is imported as
  such.
- Every other code is counted in `skipped` by kind: dividends (CDIV...), interest
  (INT...), transfers (ACH, RTP, JNLC...), fees (GOLD, AFEE...), taxes (NRAT, DTAX),
  splits (SPL, SPR: open lots are not adjusted), corporate actions, stock lending, and
  the trailing disclaimer (``footer``).
- Executions are emitted oldest first (the file's order reversed, then a stable sort by
  date), timed at midnight of Activity Date in the import's time zone (America/New_York
  by default), so same-day fills keep Robinhood's sequence. To do so the fill rows are
  held in memory until the file is read (activity reports are small; other rows stream).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from itertools import pairwise

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    midnight,
    parse_date,
    parse_decimal,
    parse_right,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_COLUMNS = ("Activity Date", "Process Date", "Settle Date", "Instrument", "Description",
            "Trans Code", "Quantity", "Price", "Amount")
_STOCK_FILLS = {"buy": Side.BUY, "sell": Side.SELL}
_OPTION_FILLS = {"bto": Side.BUY, "btc": Side.BUY, "sto": Side.SELL, "stc": Side.SELL}
_REMOVALS = frozenset({"oexp", "oasgn", "oexcs"})
_KINDS = {
    "dividend": ("CDIV", "MDIV", "DIVR", "QDIV", "SDIV"),
    "interest": ("INT", "MINT", "BINT"),
    "transfer": ("ACH", "RTP", "JNLC", "JNLS", "ITRF", "XENT", "DCF", "WIRE", "ACATI",
                 "ACATO", "T/A"),
    "fee": ("GOLD", "AFEE", "DFEE", "MFEE", "OFEE", "GMPC"),
    "tax": ("NRAT", "NRAR", "DTAX", "FTAX"),
    "split": ("SPL", "SPR"),
    "corporate_action": ("SOFF", "MRGC", "MRGS", "SXCH", "OCA", "REC", "CIL", "CONV",
                         "BCXL", "DSPL"),
    "stock_lending": ("SLIP",),
}
_KIND_OF_CODE = {code: kind for kind, codes in _KINDS.items() for code in codes}
_OPTION = re.compile(
    r"(?P<root>[A-Z][A-Z0-9.]*)\s+(?P<expiry>\d{1,2}/\d{1,2}/\d{4})\s+"
    r"(?P<right>Call|Put)\s+\$(?P<strike>[\d,]*\.?\d+)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    day: date
    code: str
    cells: list[str]


def _quantity(text: str) -> Decimal:
    """``"3"``, ``"0.123456"`` or ``"1S"`` (Robinhood's suffix on non-cash events)."""
    s = text.strip()
    if s[-1:] in ("S", "s"):
        s = s[:-1]
    value = parse_decimal(s, "Quantity")
    if value <= 0:
        raise RowError("Quantity", f"Quantity: {text!r} is not positive")
    return value


class RobinhoodImporter(BrokerImporter):
    name = "robinhood"
    label = "Robinhood account activity CSV"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        return 0.95 if index.has_all(_COLUMNS) else 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        cols = {name: index.require(name) for name in _COLUMNS}
        tz = zone(settings.zone_name(self.default_timezone))
        trades: list[_Row] = []
        for number, cells in rows:
            tally.rows_read += 1
            code = cell(cells, cols["Trans Code"]).strip()
            lowered = code.lower()
            if not code:
                if is_blank(cell(cells, cols["Instrument"])) and is_blank(
                        cell(cells, cols["Quantity"])):
                    tally.skip("footer", number)  # the disclaimer lines at the end
                else:
                    yield Rejection(number, "Trans Code", "Trans Code: empty",
                                    index.raw(cells))
                continue
            if lowered not in _STOCK_FILLS and lowered not in _OPTION_FILLS \
                    and lowered not in _REMOVALS:
                tally.skip(_KIND_OF_CODE.get(code.upper(), f"other_{lowered}"), number)
                continue
            try:
                day = parse_date(cell(cells, cols["Activity Date"]), "Activity Date")
            except RowError as err:
                yield rejection(number, err, index.raw(cells))
                continue
            trades.append(_Row(number, day, lowered, cells))
        # Robinhood lists newest first; replay oldest first so positions build up.
        if not _ascending(trades):
            trades.reverse()
        trades.sort(key=lambda r: r.day)
        yield from self._replay(trades, index, cols, settings, tz)

    def _replay(
        self,
        trades: list[_Row],
        index: HeaderIndex,
        cols: dict[str, int],
        settings: ImportSettings,
        tz: tzinfo,
    ) -> Iterator[Execution | Rejection]:
        positions: dict[str, Decimal] = {}
        instruments: dict[tuple[str, str], Instrument] = {}
        for row in trades:
            raw = index.raw(row.cells)
            try:
                execution = self._execution(row, cols, settings, tz, instruments, positions,
                                            raw)
            except RowError as err:
                yield rejection(row.number, err, raw)
                continue
            key = execution.instrument.key
            positions[key] = positions.get(key, Decimal(0)) + execution.signed_quantity
            yield execution

    def _execution(
        self,
        row: _Row,
        cols: dict[str, int],
        settings: ImportSettings,
        tz: tzinfo,
        instruments: dict[tuple[str, str], Instrument],
        positions: dict[str, Decimal],
        raw: dict[str, str],
    ) -> Execution:
        cells = row.cells
        quantity = _quantity(cell(cells, cols["Quantity"]))
        if row.code in _STOCK_FILLS:
            ticker = cell(cells, cols["Instrument"]).upper()
            instrument = instruments.get(("stock", ticker))
            if instrument is None:
                instrument = make_instrument(AssetClass.STOCK, ticker,
                                             symbol_column="Instrument")
                instruments[("stock", ticker)] = instrument
        else:
            description = " ".join(cell(cells, cols["Description"]).split())
            instrument = instruments.get(("option", description))
            if instrument is None:
                instrument = self._option(description, cell(cells, cols["Instrument"]))
                instruments[("option", description)] = instrument

        if row.code in _REMOVALS:
            side = self._removal_side(row.code, positions.get(instrument.key, Decimal(0)),
                                      quantity)
            price = fees = Decimal(0)
        else:
            side = _STOCK_FILLS.get(row.code) or _OPTION_FILLS[row.code]
            price = parse_decimal(cell(cells, cols["Price"]), "Price")
            if price <= 0:
                raise RowError("Price", f"Price: {price} is not positive")
            fees = self._fees(cell(cells, cols["Amount"]), side, quantity, price,
                              instrument.multiplier)
        return Execution(
            account=settings.account,
            instrument=instrument,
            timestamp=midnight(row.day, tz),
            side=side,
            quantity=quantity,
            price=price,
            fees=fees,
            broker=self.name,
            row=row.number,
            raw=raw,
        )

    @staticmethod
    def _option(description: str, underlying: str) -> Instrument:
        m = _OPTION.search(description)
        if m is None:
            raise RowError(
                "Description",
                f"Description: {description!r} is not an option "
                "('SYMBOL M/D/YYYY Call|Put $STRIKE')",
            )
        return make_instrument(
            AssetClass.OPTION,
            m.group(0),
            underlying=(underlying or m.group("root")).upper(),
            expiry=parse_date(m.group("expiry"), "Description"),
            strike=parse_decimal(m.group("strike"), "Description"),
            right=parse_right(m.group("right"), "Description"),
            symbol_column="Description",
        )

    @staticmethod
    def _removal_side(code: str, held: Decimal, quantity: Decimal) -> Side:
        if code == "oasgn":
            return Side.BUY  # only a short option is assigned
        if code == "oexcs":
            return Side.SELL  # only a long option is exercised
        if held == 0:
            raise RowError(
                "Trans Code",
                "Trans Code: expiration of a contract the file holds no position in; "
                "cannot tell whether it closed a long or a short",
            )
        if quantity > abs(held):
            raise RowError(
                "Quantity",
                f"Quantity: {quantity} expired but the file holds only {abs(held)}",
            )
        return Side.SELL if held > 0 else Side.BUY

    @staticmethod
    def _fees(
        text: str, side: Side, quantity: Decimal, price: Decimal, multiplier: Decimal
    ) -> Decimal:
        if is_blank(text):
            raise RowError("Amount", "Amount: empty for a fill")
        amount = parse_decimal(text, "Amount")
        if (side is Side.BUY and amount > 0) or (side is Side.SELL and amount < 0):
            direction = "debit" if side is Side.BUY else "credit"
            raise RowError(
                "Amount", f"Amount: {text!r} for a {side.value} should be a {direction}"
            )
        value = quantity * price * multiplier
        expected = -value if side is Side.BUY else value
        return expected - amount


def _ascending(trades: list[_Row]) -> bool:
    """True when the dates only ever increase down the file (an oldest-first export)."""
    rises = any(b.day > a.day for a, b in pairwise(trades))
    falls = any(b.day < a.day for a, b in pairwise(trades))
    return rises and not falls
