"""Webull order history CSV (stocks/ETFs and options).

Webull's "Orders Records" export (desktop: Account > Orders > Export; app: Account >
History > Export Orders, sent by e-mail) has one row per order: Name, Symbol, Side,
Status, Filled, Total Qty, Price, Avg Price, Time-in-Force, Placed Time, Filled Time.
Older/lighter variants omit Total Qty or Avg Price.

- An order with a filled quantity is one execution of ``Filled`` at ``Avg Price`` (the
  fill average; ``Price`` is the limit, ``@187.50`` or ``Market``), timed at
  ``Filled Time``. ``Filled``/``Partially Filled`` rows are executions; a cancelled,
  failed or expired order that filled part of its quantity before it ended is an
  execution of that part. Orders that filled nothing are counted in `skipped` by status
  (``cancelled_order``, ``failed_order``, ...); working orders as ``open_order``.
- Symbols are tickers or option ids without padding (``TSLA261016C00430000``).
- Multi-leg option orders are a parent row (Name such as ``SPXW Vertical``, no Symbol)
  followed by one row per leg (Symbol, no Name). The parent is counted as
  ``multi_leg_order``; its legs are the executions and share an order id derived from
  the parent's name and placed time, so they can be grouped into one position.
- Timestamps carry a US zone abbreviation (``03/26/2026 16:01:46 EDT``); without one
  they are read in the import's time zone (America/New_York by default).
- The export has no commission/fee column: fees are 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

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
    parse_decimal,
    parse_occ_symbol,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection

_REQUIRED = ("Symbol", "Side", "Status", "Filled", "Placed Time", "Filled Time")
_FULL = (*_REQUIRED, "Name", "Total Qty", "Avg Price", "Time-in-Force")

#: US zone abbreviations Webull prints after its timestamps, as UTC offsets in hours.
_ZONE_ABBREVIATIONS = {
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8,
    "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "UTC": 0, "GMT": 0,
}
_TRAILING_ZONE = re.compile(r"^(?P<stamp>.*(?:\d|[AaPp][Mm]))\s+(?P<zone>[A-Za-z]{2,5})$")

_FILLED = frozenset({"filled", "partially filled", "partial filled", "partiallyfilled"})
_ENDED = {
    "cancelled": "cancelled_order", "canceled": "cancelled_order",
    "partially cancelled": "cancelled_order", "partially canceled": "cancelled_order",
    "failed": "failed_order", "rejected": "rejected_order", "expired": "expired_order",
}
_WORKING = frozenset({"working", "pending", "submitted", "queued", "partially filled pending",
                      "pending cancel", "pending cancellation"})


def parse_webull_time(text: str, column: str, tz: tzinfo) -> datetime:
    """``MM/DD/YYYY HH:MM:SS EDT`` -> aware UTC; a naive value is read in `tz`.

    An abbreviation outside the known US set is rejected rather than guessed.
    """
    s = text.strip()
    m = _TRAILING_ZONE.match(s)
    if m is None:
        return parse_timestamp(s, column, tz)
    abbreviation = m.group("zone").upper()
    if abbreviation in ("AM", "PM"):
        return parse_timestamp(s, column, tz)
    hours = _ZONE_ABBREVIATIONS.get(abbreviation)
    if hours is None:
        raise RowError(column, f"{column}: unknown time zone {m.group('zone')!r} in {s!r}")
    fixed = UTC if hours == 0 else timezone(timedelta(hours=hours))
    return parse_timestamp(m.group("stamp"), column, fixed)


def _price_text(text: str) -> str:
    return text.strip().lstrip("@").strip()


class WebullImporter(BrokerImporter):
    name = "webull"
    label = "Webull orders records CSV"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        if not index.has_all(_REQUIRED) or index.find("Avg Price", "Price") is None:
            return 0.0
        return 0.95 if index.has_all(_FULL) else 0.9

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        cols = {name: index.require(name) for name in _REQUIRED}
        name_col = index.find("Name")
        avg_col = index.find("Avg Price")
        price_col = index.require("Avg Price", "Price") if avg_col is None else avg_col
        tz = zone(settings.zone_name(self.default_timezone))
        instruments: dict[str, Instrument] = {}
        parent_order: str | None = None  # order id of the multi-leg parent being read
        for number, cells in rows:
            tally.rows_read += 1
            raw = index.raw(cells)
            symbol = cell(cells, cols["Symbol"])
            name = cell(cells, name_col)
            if not symbol and name:
                # the parent row of a multi-leg order: its legs follow
                parent_order = f"{name} {cell(cells, cols['Placed Time'])}"
                tally.skip("multi_leg_order", number)
                continue
            order_id = parent_order if not name else None
            if name:
                parent_order = None
            try:
                status = " ".join(cell(cells, cols["Status"]).lower().split())
                filled_text = cell(cells, cols["Filled"])
                filled = Decimal(0) if is_blank(filled_text) else parse_decimal(
                    filled_text, "Filled")
                if filled < 0:
                    raise RowError("Filled", f"Filled: {filled} is negative")
                if status in _WORKING:
                    if filled == 0:
                        tally.skip("open_order", number)
                        continue
                    raise RowError(
                        "Status", f"Status: {status!r} order with a partial fill is still "
                        "open; export again once it has ended")
                if status not in _FILLED:
                    kind = _ENDED.get(status)
                    if kind is None:
                        raise RowError("Status", f"Status: unknown order status {status!r}")
                    if filled == 0:
                        tally.skip(kind, number)
                        continue
                elif filled == 0:
                    raise RowError("Filled", f"Filled: a {status!r} order with no quantity")
                side = parse_side(cell(cells, cols["Side"]), "Side")
                price_name = "Avg Price" if avg_col is not None else "Price"
                price = parse_decimal(_price_text(cell(cells, price_col)), price_name)
                if price <= 0:
                    raise RowError(price_name, f"{price_name}: {price} is not positive")
                timestamp = parse_webull_time(
                    cell(cells, cols["Filled Time"]), "Filled Time", tz)
                instrument = instruments.get(symbol)
                if instrument is None:
                    instrument = self._instrument(symbol)
                    instruments[symbol] = instrument
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            yield Execution(
                account=settings.account,
                instrument=instrument,
                timestamp=timestamp,
                side=side,
                quantity=filled,
                price=price,
                fees=Decimal(0),
                broker=self.name,
                order_id=order_id,
                row=number,
                raw=raw,
            )

    @staticmethod
    def _instrument(symbol: str) -> Instrument:
        if not symbol:
            raise RowError("Symbol", "Symbol: empty")
        occ = parse_occ_symbol(symbol)
        if occ is not None:
            root, expiry, right, strike = occ
            return make_instrument(
                AssetClass.OPTION, symbol, underlying=root, expiry=expiry, strike=strike,
                right=right, symbol_column="Symbol",
            )
        return make_instrument(AssetClass.STOCK, symbol.upper(), symbol_column="Symbol")
