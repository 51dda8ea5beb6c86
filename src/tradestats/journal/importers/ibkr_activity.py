"""Interactive Brokers Activity Statement CSV (the default statement download).

The file is a stack of sections, each row starting with the section name and a row
kind: ``Trades,Header,DataDiscriminator,Asset Category,...`` then
``Trades,Data,Order|Trade|ClosedLot,...`` and ``Trades,SubTotal|Total,...``. Columns are
taken from the latest header of the section, so the layout variants (with/without
Account, C. Price, MTM P/L, Realized P/L %) all read the same way.

- ``Order`` rows are executions; the ``Trade`` rows that follow an order are its
  partial fills and are not counted twice. A ``Trade`` row without an order row above
  it (statements exported at trade level) is an execution.
- ``ClosedLot``, ``SubTotal`` and ``Total`` rows are skipped (counted in `skipped`);
  the broker's ``Realized P/L`` stays in each execution's `raw`.
- With ``synthesize_openings=True`` (on in the default preset), a close whose opening
  is not in the file gets a synthetic opening per ``ClosedLot`` row that the file does
  not cover (see `opening_lots`): at the lot's date (local midnight; the statement
  gives the day only), quantity = the lot's, price = ``Basis / (quantity *
  multiplier)``, fees 0 (``Basis`` includes the opening commission),
  ``raw["synthetic"] == "closed_lot"``. Lots dated before the file's first fill of the
  instrument are always synthesized; later ones only for the quantity the file's own
  position cannot cover, so an opening that *is* in the file is never counted twice.
  A close (code ``C`` without ``O``) that has no ``ClosedLot`` rows uses its own
  ``Basis`` for the uncovered quantity, dated at the statement period's first day
  (``open_time_known`` false).
- Quantity is signed (negative = sell); ``Comm/Fee`` (or ``Comm in USD``) is negative
  for a cost. An expiration (code ``Ep``), assignment (``A``) or exercise (``Ex``) is an
  execution at the reported price, 0 for the removed option.
- Options ``SPY 18MAR22 440.0 P`` get multiplier 100 (the statement does not list it);
  futures take the root table. Timestamps are exchange-local (America/New_York).
- Rows of other sections are counted in `skipped` by section name.
- Currencies: each execution keeps its row's ``Currency``. The statement's ``Account
  Information`` ``Base Currency`` is reported as the file's base currency
  (`ParseTally.base_currencies`). Trade rows carry no FX rate, so fills in another
  currency have none and an import mixing currencies is refused (`journal.imports`);
  the ``Base Currency Exchange Rate`` section is not used: it gives the rates at the
  end of the period, not at each trade.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
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
from tradestats.journal.importers.opening_lots import (
    BrokerLot,
    ClosingBasis,
    with_synthetic_openings,
)
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    midnight,
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
        self.basis = index.find("Basis")


@dataclass(slots=True)
class _Close:
    """An execution and the ClosedLot rows that follow it (when synthesizing)."""

    execution: Execution
    code: str
    basis: str
    lots: list[BrokerLot] = field(default_factory=list)
    broken: bool = False

    def closing_basis(self, period_start: datetime | None) -> ClosingBasis | None:
        if self.broken:
            return None
        if self.lots:
            return ClosingBasis(lots=tuple(self.lots), source="ClosedLot")
        codes = {c.strip() for c in self.code.split(";")}
        if "C" not in codes or "O" in codes or not self.basis.strip():
            return None
        try:
            basis = parse_decimal(self.basis, "Basis")
        except RowError:
            return None
        ex = self.execution
        return ClosingBasis(
            quantity=ex.quantity,
            basis=abs(basis),
            source="Basis",
            opened=period_start if period_start is not None else ex.timestamp,
        )


def _period_start(text: str, tz: tzinfo) -> datetime | None:
    """First day of ``"January 1, 2023 - December 31, 2023"`` (or a single day)."""
    try:
        day = datetime.strptime(text.split(" - ")[0].strip(), "%B %d, %Y").date()
    except ValueError:
        return None
    return midnight(day, tz)


class IbkrActivityImporter(BrokerImporter):
    name = "ibkr_activity"
    label = "Interactive Brokers Activity Statement (CSV)"

    def __init__(self, synthesize_openings: bool = True) -> None:
        self.synthesize_openings = synthesize_openings

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
        synthesize = self.synthesize_openings
        closes: list[_Close] = []
        current: _Close | None = None  # the execution ClosedLot rows attach to
        period_start: datetime | None = None
        for number, cells in source.rows():
            section = cells[0]
            kind = cell(cells, 1)
            if kind == "Header":
                if section == "Trades":
                    cols = _TradeColumns(cells)
                current = None
                continue
            tally.rows_read += 1
            if section != "Trades":
                if section == "Account Information" and cell(cells, 2) == "Account":
                    statement_account = cell(cells, 3) or statement_account
                elif section == "Account Information" and cell(cells, 2) == "Base Currency":
                    if base := cell(cells, 3).strip().upper():
                        tally.base_currencies[""] = base
                elif section == "Statement" and cell(cells, 2) == "Period":
                    period_start = _period_start(cell(cells, 3), tz)
                tally.skip(_slug(section), number)
                current = None
                continue
            if cols is None:
                raise MissingColumnError("Trades,Header", cells, self.name)
            if kind != "Data":
                tally.skip(_slug(kind), number)  # SubTotal, Total, Notes
                current = None
                continue
            what = cell(cells, cols.discriminator) if cols.discriminator is not None else "Trade"
            account = cell(cells, cols.account) or statement_account
            key = (account, cell(cells, cols.symbol), cell(cells, cols.when))
            if what == "Order":
                order_key = key
            elif what == "Trade":
                if key == order_key:
                    tally.skip("order_fill", number)  # partial fill of the order row above
                    continue
                order_key = None
            else:
                tally.skip(_slug(what), number)  # ClosedLot
                if what == "ClosedLot" and current is not None:
                    self._add_lot(current, number, cells, cols, tz)
                continue
            raw = cols.index.raw(cells)
            try:
                execution = self._execution(number, cells, cols, account, raw, settings, tz)
            except RowError as err:
                current = None
                yield rejection(number, err, raw)
                continue
            if not synthesize:
                yield execution
                continue
            current = _Close(execution, cell(cells, cols.code), cell(cells, cols.basis))
            closes.append(current)
        if synthesize:
            yield from with_synthetic_openings(
                (c.execution, c.closing_basis(period_start)) for c in closes
            )

    @staticmethod
    def _add_lot(
        close: _Close, number: int, cells: list[str], cols: _TradeColumns, tz: tzinfo
    ) -> None:
        """Attach a ClosedLot row to the close above it; a lot that cannot be read or
        does not fit the close disables synthesis for that close."""
        text = cell(cells, cols.when)
        try:
            opened = parse_timestamp(text, "Date/Time", tz)
            quantity = parse_decimal(cell(cells, cols.quantity), "Quantity")
            basis = parse_decimal(cell(cells, cols.basis), "Basis")
        except RowError:
            close.broken = True
            return
        # A sell closes long lots (positive quantity), a buy closes short ones.
        closes_long = close.execution.side is Side.SELL
        wrong_sign = basis != 0 and (basis > 0) != (quantity > 0)
        if quantity == 0 or (quantity > 0) != closes_long or wrong_sign:
            close.broken = True
            return
        close.lots.append(
            BrokerLot(
                opened=opened,
                quantity=abs(quantity),
                basis=abs(basis),
                row=number,
                date_only=":" not in text,
            )
        )

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
                    asset_class,
                    symbol,
                    underlying=future.code if future else underlying,
                    expiry=expiry,
                    strike=strike,
                    right=right,
                    currency=currency,
                    overrides=settings.multipliers,
                    symbol_column="Symbol",
                )
            return make_instrument(
                asset_class,
                symbol,
                underlying=underlying,
                expiry=expiry,
                strike=strike,
                right=right,
                multiplier=Decimal(100),
                currency=currency,
                symbol_column="Symbol",
            )
        return make_instrument(
            asset_class,
            symbol,
            currency=currency,
            overrides=settings.multipliers,
            symbol_column="Symbol",
        )
