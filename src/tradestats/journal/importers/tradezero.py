"""TradeZero trades CSV (ZeroPro / web portal: Account → Trades → Export).

Columns: Account, T/D (trade date ``MM/DD/YYYY``), S/D, Currency, Type, Side, Symbol,
Qty, Price, Exec Time (``HH:MM:SS``, New York time), Comm, SEC, TAF, NSCC, Nasdaq,
ECN Remove, ECN Add, Gross Proceeds, Net Proceeds, Clr Broker, Liq, Note.

``Side`` is ``B`` (buy), ``S`` (sell), ``SS`` (sell short) or ``BC`` (buy to cover).
Every fee column present is added into the execution's fees (positive = cost; ``ECN
Add`` is negative for a liquidity rebate). An OCC option symbol (``AAPL  240119C00150000``)
is an option with multiplier 100; any other symbol is a stock. The file holds trades
only; a row that is not one (no side, no quantity) is rejected with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    parse_decimal,
    parse_occ_symbol,
    parse_optional_decimal,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection

_REQUIRED = ("T/D", "Side", "Symbol", "Qty", "Price", "Exec Time")
_SIGNATURE = ("Account", "T/D", "S/D", "Side", "Symbol", "Qty", "Price", "Exec Time",
              "Gross Proceeds", "Net Proceeds")
_FEES = ("Comm", "SEC", "TAF", "NSCC", "Nasdaq", "ECN Remove", "ECN Add")


class TradeZeroImporter(BrokerImporter):
    name = "tradezero"
    label = "TradeZero trades CSV"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        if index.has_all(_SIGNATURE):
            return 0.95
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        cols = {name: index.require(name) for name in _REQUIRED}
        fee_cols = [(name, pos) for name in _FEES if (pos := index.find(name)) is not None]
        currency_col = index.find("Currency")
        tz = zone(settings.zone_name(self.default_timezone))
        instruments: dict[tuple[str, str], Instrument] = {}
        for number, cells in rows:
            tally.rows_read += 1
            raw = index.raw(cells)
            try:
                when = f"{cell(cells, cols['T/D'])} {cell(cells, cols['Exec Time'])}"
                timestamp = parse_timestamp(when, "Exec Time", tz)
                side = parse_side(cell(cells, cols["Side"]), "Side")
                quantity = parse_decimal(cell(cells, cols["Qty"]), "Qty")
                if quantity <= 0:
                    raise RowError("Qty", f"Qty: {quantity} is not positive")
                price = parse_decimal(cell(cells, cols["Price"]), "Price")
                if price < 0:
                    raise RowError("Price", f"Price: {price} is negative")
                fees = Decimal(0)
                for name, pos in fee_cols:
                    value = parse_optional_decimal(cell(cells, pos), name)
                    if value is not None:
                        fees += value
                symbol = cell(cells, cols["Symbol"])
                currency = cell(cells, currency_col) or "USD"
                instrument = instruments.get((symbol, currency))
                if instrument is None:
                    asset_class = (
                        AssetClass.OPTION if parse_occ_symbol(symbol) else AssetClass.STOCK
                    )
                    instrument = make_instrument(
                        asset_class, symbol, currency=currency, symbol_column="Symbol"
                    )
                    instruments[(symbol, currency)] = instrument
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            yield Execution(
                account=settings.account,
                instrument=instrument,
                timestamp=timestamp,
                side=side,
                quantity=quantity,
                price=price,
                fees=fees,
                broker=self.name,
                row=number,
                raw=raw,
            )
