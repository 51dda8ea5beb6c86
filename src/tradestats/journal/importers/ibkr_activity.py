"""Interactive Brokers Activity Statement CSV (the default statement download).

The file is a stack of sections, each row starting with the section name and a row
kind: ``Trades,Header,DataDiscriminator,Asset Category,...`` then
``Trades,Data,Order|Trade|ClosedLot,...`` and ``Trades,SubTotal|Total,...``. Columns are
taken from the latest header of the section, so the layout variants (with/without
Account, C. Price, MTM P/L, Realized P/L %) all read the same way.

- ``Order`` rows are executions; the ``Trade`` rows that follow an order are its
  partial fills and are not counted twice. A ``Trade`` row without an order row above
  it (statements exported at trade level) is an execution.
- ``ClosedLot``, ``SubTotal`` and ``Total`` rows are skipped; the broker's
  ``Realized P/L`` stays in each execution's `raw`.
- Quantity is signed (negative = sell); ``Comm/Fee`` (or ``Comm in USD``) is negative
  for a cost. An expiration (code ``Ep``), assignment (``A``) or exercise (``Ex``) is an
  execution at the reported price, 0 for the removed option.
- Options ``SPY 18MAR22 440.0 P`` get multiplier 100 (the statement does not list it);
  futures take the root table. Timestamps are exchange-local (America/New_York).
- Rows of other sections are counted in `skipped` by section name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    MissingColumnError,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.futures import parse_future_symbol
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    parse_date,
    parse_decimal,
    parse_optional_decimal,
    parse_right,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_CATEGORIES = {
    "stocks": AssetClass.STOCK,
    "equity and index options": AssetClass.OPTION,
    "futures": AssetClass.FUTURE,
    "options on futures": AssetClass.FUTURE_OPTION,
    "forex": AssetClass.FOREX,
}
_OPTION = re.compile(
    r"^(?P<underlying>\S+)\s+(?P<expiry>\d{2}[A-Z]{3}\d{2})\s+(?P<strike>\d+(?:\.\d+)?)"
    r"\s+(?P<right>[CP])$"
)


def _slug(text: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) or "unknown"


class _TradeColumns:
    def __init__(self, header: list[str]) -> None:
        index = HeaderIndex(header, IbkrActivityImporter.name)
        self.index = index
        self.discriminator = index.find("DataDiscriminator")
        self.category = index.require("Asset Category")
        self.currency = index.find("Currency")
        self.account = index.find("Account")
        self.symbol = index.require("Symbol")
        self.when = index.require("Date/Time")
        self.quantity = index.require("Quantity")
        self.price = index.require("T. Price")
        self.commission = next(
            (i for i, name in enumerate(header) if name.lower().startswith("comm")), None
        )
        self.code = index.find("Code")


class IbkrActivityImporter(BrokerImporter):
    name = "ibkr_activity"
    label = "Interactive Brokers Activity Statement (CSV)"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml":
            return 0.0
        for row in sample.rows:
            if len(row) > 3 and row[0] == "Trades" and row[1] == "Header":
                return 0.95
            if row[:4] == ["Statement", "Data", "Title", "Activity Statement"]:
                return 0.9
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        tz = zone(settings.zone_name(self.default_timezone))
        statement_account = settings.account
        cols: _TradeColumns | None = None
        order_key: tuple[str, str, str] | None = None
        for number, cells in source.rows():
            section = cells[0]
            kind = cell(cells, 1)
            if kind == "Header":
                if section == "Trades":
                    cols = _TradeColumns(cells)
                continue
            tally.rows_read += 1
            if section != "Trades":
                if section == "Account Information" and cell(cells, 2) == "Account":
                    statement_account = cell(cells, 3) or statement_account
                tally.skip(_slug(section))
                continue
            if cols is None:
                raise MissingColumnError("Trades,Header", cells, self.name)
            if kind != "Data":
                tally.skip(_slug(kind))  # SubTotal, Total, Notes
                continue
            what = cell(cells, cols.discriminator) if cols.discriminator is not None else "Trade"
            account = cell(cells, cols.account) or statement_account
            key = (account, cell(cells, cols.symbol), cell(cells, cols.when))
            if what == "Order":
                order_key = key
            elif what == "Trade":
                if key == order_key:
                    tally.skip("order_fill")  # partial fill of the order row above
                    continue
                order_key = None
            else:
                tally.skip(_slug(what))  # ClosedLot
                continue
            raw = cols.index.raw(cells)
            try:
                yield self._execution(number, cells, cols, account, raw, settings, tz)
            except RowError as err:
                yield rejection(number, err, raw)

    def _execution(
        self,
        number: int,
        cells: list[str],
        cols: _TradeColumns,
        account: str,
        raw: dict[str, str],
        settings: ImportSettings,
        tz: tzinfo,
    ) -> Execution:
        timestamp = parse_timestamp(cell(cells, cols.when), "Date/Time", tz)
        quantity = parse_decimal(cell(cells, cols.quantity), "Quantity")
        if quantity == 0:
            raise RowError("Quantity", "Quantity: quantity is zero")
        side = Side.BUY if quantity > 0 else Side.SELL
        price = parse_decimal(cell(cells, cols.price), "T. Price")
        if price < 0:
            raise RowError("T. Price", f"T. Price: negative price {price}")
        commission = None
        if cols.commission is not None:
            name = cols.index.header[cols.commission]
            commission = parse_optional_decimal(cell(cells, cols.commission), name)
        instrument = self._instrument(cells, cols, settings)
        return Execution(
            account=account,
            instrument=instrument,
            timestamp=timestamp,
            side=side,
            quantity=abs(quantity),
            price=price,
            fees=-commission if commission is not None else Decimal(0),
            broker=self.name,
            row=number,
            raw=raw,
        )

    def _instrument(
        self, cells: list[str], cols: _TradeColumns, settings: ImportSettings
    ) -> Instrument:
        category_text = cell(cells, cols.category)
        asset_class = _CATEGORIES.get(category_text.lower())
        if asset_class is None:
            raise RowError("Asset Category", f"Asset Category: unsupported {category_text!r}")
        symbol = cell(cells, cols.symbol)
        currency = cell(cells, cols.currency) or "USD"
        if asset_class in (AssetClass.OPTION, AssetClass.FUTURE_OPTION):
            m = _OPTION.match(" ".join(symbol.split()))
            if m is None:
                raise RowError("Symbol", f"Symbol: {symbol!r} is not an option description")
            underlying = m.group("underlying")
            expiry = parse_date(m.group("expiry"), "Symbol")
            strike = parse_decimal(m.group("strike"), "Symbol")
            right = parse_right(m.group("right"), "Symbol")
            if asset_class is AssetClass.FUTURE_OPTION:
                future = parse_future_symbol(underlying)
                return make_instrument(
                    asset_class, symbol, underlying=future.code if future else underlying,
                    expiry=expiry, strike=strike, right=right, currency=currency,
                    overrides=settings.multipliers, symbol_column="Symbol",
                )
            return make_instrument(
                asset_class, symbol, underlying=underlying, expiry=expiry, strike=strike,
                right=right, multiplier=Decimal(100), currency=currency,
                symbol_column="Symbol",
            )
        return make_instrument(
            asset_class, symbol, currency=currency, overrides=settings.multipliers,
            symbol_column="Symbol",
        )
