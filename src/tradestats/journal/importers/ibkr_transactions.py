"""Interactive Brokers Transaction History CSV (Portal: Performance & Reports >
Transaction History, download as CSV).

Not the Activity Statement nor a Flex Query: a stack of sections ``Statement``
(``Title`` is ``Transaction History``), ``Summary`` (``Base Currency``) and
``Transaction History`` with the columns ``Date, Account, Description, Transaction
Type, Symbol, Quantity, Price, [Price Currency,] Gross Amount, Commission, Net Amount
[, Exchange Rate]`` (taken from the section's header row, so order and extra columns do
not matter). Every non-header row counts as read; ``Statement``/``Summary`` rows are
counted in `skipped` by section.

- ``Buy``/``Sell`` are trades: quantity is signed (negative = sell) and must agree with
  the type. ``Assigned``/``Exercise``/``Expired`` rows are executions too: side from the
  signed quantity, price 0 for the option removed, the row's price (the strike) for the
  shares delivered.
- Instruments: an OCC symbol (``QQQ   260320P00500000``) or a description
  ``UNDERLYING DDMMMYY STRIKE C|P`` is an option (multiplier 100); a description
  ``ROOT DDMMMYY`` with a futures contract symbol (``M6EM6``) is a future (root table);
  otherwise a stock.
- Currency: ``Price Currency`` when the file has it, else the Summary's base currency,
  accepted only when ``|Gross Amount|`` equals quantity x price x multiplier (otherwise
  the row is rejected: the price's currency is unknown). Executions keep that currency.
- ``Gross Amount`` and ``Commission`` are in the base currency. The fee of a fill in
  another currency is the commission divided by the row's ``Exchange Rate`` (price
  currency -> base) when the file has one, else by the rate the row itself implies,
  ``|Gross Amount| / (quantity x price x multiplier)``.
- Dividends, withholding, interest, fees, deposits/withdrawals/transfers, adjustments
  and ``Forex Trade Component`` (currency conversion) rows are counted in `skipped` by
  kind; an unknown type with a quantity is rejected.
- ``Date`` is a day, taken as midnight in the preset's time zone (America/New_York);
  rows are emitted oldest first (the report lists newest first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    MissingColumnError,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.chronology import (
    Entry,
    listed_newest_first,
    resolve_removals,
    time_ordered,
)
from tradestats.journal.importers.futures import futures_multiplier, parse_future_symbol
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    midnight,
    parse_date,
    parse_decimal,
    parse_occ_symbol,
    parse_optional_decimal,
    parse_right,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_SECTION = "Transaction History"
_REQUIRED = ("Date", "Transaction Type", "Symbol", "Quantity", "Price", "Gross Amount")
_TRADES = {"buy": Side.BUY, "sell": Side.SELL}
_REMOVALS = frozenset({"assigned", "assignment", "exercise", "exercised", "expired",
                       "expiration"})
_KINDS: dict[str, str] = {
    "dividend": "dividend", "payment in lieu": "dividend", "cash dividend": "dividend",
    "foreign tax withholding": "tax", "withholding tax": "tax", "sales tax": "tax",
    "credit interest": "interest", "debit interest": "interest",
    "investment interest paid": "interest", "investment interest received": "interest",
    "bond interest paid": "interest", "bond interest received": "interest",
    "other fee": "fee", "commission adjustment": "fee", "fee": "fee",
    "deposit": "transfer", "withdrawal": "transfer", "transfer": "transfer",
    "adjustment": "adjustment",
    "forex trade component": "currency_conversion",
}
_OPTION_DESCRIPTION = re.compile(
    r"^(?P<underlying>\S+)\s+(?P<expiry>\d{2}[A-Z]{3}\d{2})\s+(?P<strike>\d+(?:\.\d+)?)"
    r"\s+(?P<right>[CP])$"
)
_FUTURE_DESCRIPTION = re.compile(r"^(?P<root>[A-Z0-9]{1,4})\s+\d{2}[A-Z]{3}\d{2}$")
#: |Gross Amount| may differ from quantity x price by IBKR's rounding of the amount.
_GROSS_TOLERANCE = Decimal("0.01")


def _slug(text: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) or "unknown"


class _Columns:
    def __init__(self, header: list[str]) -> None:
        index = HeaderIndex(header, IbkrTransactionsImporter.name)
        self.index = index
        self.pos = {name: index.require(name) for name in _REQUIRED}
        self.account = index.find("Account")
        self.description = index.find("Description")
        self.currency = index.find("Price Currency")
        self.commission = index.find("Commission")
        self.rate = index.find("Exchange Rate")


class IbkrTransactionsImporter(BrokerImporter):
    name = "ibkr_transactions"
    label = "Interactive Brokers Transaction History (CSV)"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml":
            return 0.0
        for row in sample.rows:
            if row[:2] == [_SECTION, "Header"]:
                return 0.95
            if row[:4] == ["Statement", "Data", "Title", _SECTION]:
                return 0.95
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        tz = zone(settings.zone_name(self.default_timezone))
        cols: _Columns | None = None
        base_currency = ""
        entries: list[Entry] = []
        days: list[date] = []
        for number, cells in source.rows():
            section = cells[0]
            kind = cell(cells, 1)
            if kind == "Header":
                if section == _SECTION:
                    cols = _Columns(cells)
                continue
            tally.rows_read += 1
            if section != _SECTION:
                if section == "Summary" and cell(cells, 2) == "Base Currency":
                    base_currency = cell(cells, 3)
                    if base_currency.strip():
                        tally.base_currencies[""] = base_currency.strip().upper()
                tally.skip(_slug(section), number)
                continue
            if cols is None:
                raise MissingColumnError(f"{_SECTION},Header", cells, self.name)
            if kind != "Data":
                tally.skip(_slug(kind), number)
                continue
            pos = cols.pos
            type_text = cell(cells, pos["Transaction Type"])
            key = " ".join(type_text.lower().split())
            side = _TRADES.get(key)
            if side is None and key not in _REMOVALS:
                if key in _KINDS or is_blank(cell(cells, pos["Quantity"])):
                    tally.skip(_KINDS.get(key) or _slug(type_text), number)
                    continue
                yield Rejection(
                    number, "Transaction Type",
                    f"Transaction Type: unknown type {type_text!r} with a quantity; "
                    "not imported",
                    cols.index.raw(cells),
                )
                continue
            raw = cols.index.raw(cells)
            try:
                execution = self._execution(number, cells, cols, raw, settings, tz, side,
                                            base_currency)
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            entries.append(execution)
            days.append(execution.timestamp.date())
        if cols is None:
            raise MissingColumnError(f"{_SECTION},Header", [], self.name)
        yield from resolve_removals(time_ordered(entries, listed_newest_first(days)))

    def _execution(
        self,
        number: int,
        cells: list[str],
        cols: _Columns,
        raw: dict[str, str],
        settings: ImportSettings,
        tz: tzinfo,
        side: Side | None,
        base_currency: str,
    ) -> Execution:
        pos = cols.pos
        day = parse_date(cell(cells, pos["Date"]), "Date")
        quantity = parse_decimal(cell(cells, pos["Quantity"]), "Quantity")
        if quantity == 0:
            raise RowError("Quantity", "Quantity: quantity is zero")
        signed_side = Side.BUY if quantity > 0 else Side.SELL
        if side is not None and side is not signed_side:
            raise RowError("Quantity", f"Quantity: {quantity} contradicts the type "
                           f"{cell(cells, pos['Transaction Type'])!r}")
        quantity = abs(quantity)
        description = " ".join(cell(cells, cols.description).split())
        instrument_ = _instrument(cell(cells, pos["Symbol"]), description, settings)
        if side is None and instrument_.asset_class in (AssetClass.OPTION,
                                                       AssetClass.FUTURE_OPTION):
            price = Decimal(0)  # the option removed; shares delivered are their own row
        else:
            price = parse_decimal(cell(cells, pos["Price"]), "Price")
            if price < 0:
                raise RowError("Price", f"Price: negative price {price}")
        gross = parse_optional_decimal(cell(cells, pos["Gross Amount"]), "Gross Amount")
        notional = quantity * price * instrument_.multiplier
        currency = cell(cells, cols.currency).upper()
        if is_blank(currency):
            if not base_currency:
                raise RowError("Price Currency", "Price Currency: the file gives neither "
                               "a price currency nor a base currency")
            if side is not None and (gross is None or
                                     abs(abs(gross) - notional) > _GROSS_TOLERANCE):
                raise RowError("Price Currency", "Price Currency: not in the file, and "
                               "Gross Amount is not quantity x price in the base currency "
                               f"{base_currency}; the price's currency is unknown")
            currency = base_currency
        commission = parse_optional_decimal(cell(cells, cols.commission), "Commission")
        fees = -commission if commission is not None else Decimal(0)
        fx_rate = None
        if currency != base_currency.upper():
            fx_rate = _fx_rate(cells, cols, gross, notional)
        if fees and currency != base_currency.upper():
            # the commission is in the base currency (named or not in the Summary)
            fees = fees / _rate(cells, cols, gross, notional, base_currency or "the base "
                                "currency", currency)
        instrument = replace(instrument_, currency=currency)
        return Execution(
            account=cell(cells, cols.account) or settings.account,
            instrument=instrument,
            timestamp=midnight(day, tz),
            side=signed_side,
            quantity=quantity,
            price=price,
            fees=fees,
            broker=self.name,
            row=number,
            raw=raw,
            fx_rate=fx_rate,
        )


def _fx_rate(
    cells: list[str], cols: _Columns, gross: Decimal | None, notional: Decimal
) -> Decimal | None:
    """The fill's price currency -> base currency rate, when the row gives one (its
    ``Exchange Rate``, else the rate its gross amount in the base currency implies);
    None when it gives neither (the import then names the row, see `journal.imports`)."""
    try:
        return _rate(cells, cols, gross, notional, "", "")
    except RowError as err:
        if err.column == "Exchange Rate":
            raise
        return None


def _rate(
    cells: list[str], cols: _Columns, gross: Decimal | None, notional: Decimal,
    base: str, currency: str,
) -> Decimal:
    """Price currency -> base currency rate of a row: its ``Exchange Rate``, else the
    rate its gross amount implies."""
    if cols.rate is not None:
        rate = parse_optional_decimal(cell(cells, cols.rate), "Exchange Rate")
        if rate is not None:
            if rate <= 0:
                raise RowError("Exchange Rate", f"Exchange Rate: {rate} is not positive")
            return rate
    if gross is None or gross == 0 or notional == 0:
        raise RowError("Commission", f"Commission: in {base}, the fill is in {currency}, "
                       "and the row has no exchange rate or gross amount to convert it")
    return abs(gross) / notional


def _instrument(symbol: str, description: str, settings: ImportSettings) -> Instrument:
    text = " ".join(symbol.split())
    if is_blank(text):
        raise RowError("Symbol", "Symbol: symbol is empty")
    if parse_occ_symbol(symbol) is not None:
        return make_instrument(AssetClass.OPTION, symbol, multiplier=Decimal(100),
                               symbol_column="Symbol")
    m = _OPTION_DESCRIPTION.match(description.upper())
    if m is not None:
        return make_instrument(
            AssetClass.OPTION, description, underlying=m.group("underlying"),
            expiry=parse_date(m.group("expiry"), "Description"),
            strike=parse_decimal(m.group("strike"), "Description"),
            right=parse_right(m.group("right"), "Description"),
            multiplier=Decimal(100), symbol_column="Description",
        )
    f = _FUTURE_DESCRIPTION.match(description.upper())
    contract = parse_future_symbol(text)
    if f is not None and contract is not None and contract.root == f.group("root"):
        if futures_multiplier(contract.root, settings.multipliers) is not None:
            return make_instrument(AssetClass.FUTURE, text, overrides=settings.multipliers,
                                   symbol_column="Symbol")
        raise RowError("Symbol", f"Symbol: no multiplier known for futures root "
                       f"{contract.root!r}; add it to the multiplier table (settings)")
    if " " in text:
        raise RowError("Symbol", f"Symbol: {symbol!r} is neither a ticker, an OCC option "
                       "nor a futures contract")
    return make_instrument(AssetClass.STOCK, text, symbol_column="Symbol")
