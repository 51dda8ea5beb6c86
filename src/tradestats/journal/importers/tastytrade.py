"""tastytrade (tastyworks) transactions CSV.

Current layout (20 columns; 21 with ``Total``): Date, Type, Sub Type, Action, Symbol,
Instrument Type, Description, Value, Quantity, Average Price, Commissions, Fees,
Multiplier, Root Symbol, Underlying Symbol, Expiration Date, Strike Price, Call or Put,
Order #, [Total,] Currency. The legacy tastyworks layout (Date/Time, Transaction Code,
...) is read too.

- ``Trade`` rows are executions. The fill price is the ``@ price`` of the description
  (``Average Price`` is price x multiplier and, for futures, a cash flow, not a price).
- ``Receive Deliver`` rows that move a position (assignment stock delivery, symbol
  changes, mergers, splits between two symbols) are executions at the reported price.
  Option removals by expiration, assignment or exercise are closing executions at
  price 0. When tastytrade leaves ``Action`` empty, an assignment closes a short (buy)
  and an exercise a long (sell); an expiration closes whatever position the file holds
  in that contract, and is rejected if the file holds none.
- Splits: tastytrade reports a split as a ``Receive Deliver`` pair at one time, the old
  quantity closed and the new one opened (sub type ``Forward Split``, ``Reverse Split``
  or ``Stock Split``). When both rows are on the same instrument (a stock split: 100
  closed, 200 opened) the pair becomes one `CorporateAction` of ratio opened / closed
  (both rows counted in `skipped` as ``split``): a split is not a sale, so the lots keep
  their cost, fees and dates, whatever price the rows carry. When the rows are on two
  instruments (an option adjusted for its underlying's reverse split: ``USO`` closed,
  ``USO1`` opened, same count) they stay executions, like symbol changes and mergers:
  tastytrade prices both rows at the position's original cost (``Value``), so the close
  realizes no gross P&L and the new contract carries the original price forward.
- ``Money Movement`` and any other rows are counted in `skipped` by sub type.

Commissions and fees are negative for costs in the file; executions carry them as
positive costs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.futures import futures_multiplier, parse_future_symbol
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    parse_date,
    parse_decimal,
    parse_optional_decimal,
    parse_right,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import (
    AssetClass,
    CorporateAction,
    Execution,
    Instrument,
    Rejection,
    Side,
)

_CURRENT = ("Date", "Type", "Sub Type", "Action", "Symbol", "Instrument Type",
            "Description", "Value", "Quantity", "Average Price", "Commissions", "Fees",
            "Multiplier", "Underlying Symbol", "Expiration Date", "Strike Price",
            "Call or Put", "Order #")
_LEGACY = ("Date/Time", "Transaction Code", "Transaction Subcode", "Symbol", "Buy/Sell",
           "Open/Close", "Quantity", "Expiration Date", "Strike", "Call/Put", "Price",
           "Fees", "Amount", "Description")
_INSTRUMENT_TYPES = {
    "equity": AssetClass.STOCK,
    "equity option": AssetClass.OPTION,
    "future": AssetClass.FUTURE,
    "future option": AssetClass.FUTURE_OPTION,
    "cryptocurrency": AssetClass.CRYPTO_SPOT,
}
_REMOVALS = {"expiration", "assignment", "exercise", "cash settled assignment",
             "cash settled exercise"}
_AT_PRICE = re.compile(r"@\s*([\d,]*\.?\d+)\s*$")
_SPLITS = {"forward split", "reverse split", "stock split", "split"}


def _slug(text: str) -> str:
    return "_".join(text.lower().split()) or "unknown"


class TastytradeImporter(BrokerImporter):
    name = "tastytrade"
    label = "tastytrade transactions CSV"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        if index.has_all(_CURRENT):
            return 0.95
        if index.has_all(_LEGACY) and index.find("Account Reference") is not None:
            return 0.9
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        tz = zone(settings.zone_name(self.default_timezone))
        if index.find("Transaction Code") is not None:
            yield from self._legacy(rows, index, settings, tz, tally)
            return
        cols = {name: index.require(name) for name in _CURRENT}
        positions: dict[str, Decimal] = defaultdict(Decimal)
        pending: list[tuple[int, Execution]] = []  # expirations without Action
        splits: list[Execution] = []  # split rows, paired once the file is read
        for number, cells in rows:
            tally.rows_read += 1
            kind = cell(cells, cols["Type"])
            sub = cell(cells, cols["Sub Type"])
            if kind not in ("Trade", "Receive Deliver"):
                tally.skip(_slug(sub or kind), number)
                continue
            try:
                item = self._row(number, cells, cols, index, settings, tz, kind, sub)
            except RowError as err:
                yield rejection(number, err, index.raw(cells))
                continue
            if item is None:
                tally.skip(_slug(sub), number)
                continue
            execution, resolved = item
            if not resolved:
                pending.append((number, execution))
                continue
            if kind == "Receive Deliver" and sub.lower() in _SPLITS:
                splits.append(execution)
                continue
            positions[execution.instrument.key] += execution.signed_quantity
            yield execution
        for execution in self._splits(splits, settings, tally):
            positions[execution.instrument.key] += execution.signed_quantity
            yield execution
        for number, execution in pending:
            held = positions[execution.instrument.key]
            if held == 0:
                yield Rejection(
                    number,
                    "Action",
                    "Action: expiration without a side and no open position in this "
                    "contract in the file; cannot tell whether it closed a long or a short",
                    execution.raw,
                )
                continue
            side = Side.SELL if held > 0 else Side.BUY
            positions[execution.instrument.key] -= held
            yield Execution(
                account=execution.account, instrument=execution.instrument,
                timestamp=execution.timestamp, side=side, quantity=execution.quantity,
                price=execution.price, fees=execution.fees, broker=self.name,
                order_id=execution.order_id, row=number, raw=execution.raw,
            )

    def _splits(
        self, rows: list[Execution], settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution]:
        """Pair split rows (same time and instrument, one closing, one opening) into
        `CorporateAction`s; yield the rest as the executions they are."""
        groups: dict[tuple[datetime, str], list[Execution]] = defaultdict(list)
        for ex in rows:
            groups[(ex.timestamp, ex.instrument.key)].append(ex)
        for group in groups.values():
            closes = [e for e in group if _closes(e)]
            opens = [e for e in group if not _closes(e)]
            if len(closes) != 1 or len(opens) != 1:
                yield from group  # not a pair on one instrument: executions
                continue
            (old,), (new,) = closes, opens
            if old.side == new.side:
                yield from group
                continue
            tally.corporate_actions.append(
                CorporateAction(
                    account=settings.account, instrument=new.instrument,
                    timestamp=new.timestamp, new_units=new.quantity,
                    old_units=old.quantity, broker=self.name, row=new.row,
                    description=(new.raw or {}).get("Description", ""), raw=new.raw,
                )
            )
            tally.skip("split", old.row)
            tally.skip("split", new.row)

    def _row(
        self,
        number: int,
        cells: list[str],
        cols: dict[str, int],
        index: HeaderIndex,
        settings: ImportSettings,
        tz: tzinfo,
        kind: str,
        sub: str,
    ) -> tuple[Execution, bool] | None:
        """(execution, side known) for a position-moving row; None for other rows."""
        action = cell(cells, cols["Action"])
        removal = kind == "Receive Deliver" and sub.lower() in _REMOVALS
        if kind == "Receive Deliver" and not removal and not action:
            return None
        timestamp = parse_timestamp(cell(cells, cols["Date"]), "Date", tz)
        quantity = parse_decimal(cell(cells, cols["Quantity"]), "Quantity")
        if quantity <= 0:
            raise RowError("Quantity", f"Quantity: {quantity} is not positive")
        instrument = self._instrument(cells, cols, index, settings)

        resolved = True
        if action:
            side = parse_side(action, "Action")
        elif removal and sub.lower().endswith("assignment"):
            side = Side.BUY  # only a short option is assigned
        elif removal and sub.lower().endswith("exercise"):
            side = Side.SELL  # only a long option is exercised
        elif removal:
            side, resolved = Side.SELL, False  # decided once the whole file is read
        else:
            raise RowError("Action", "Action: empty")

        if removal:
            price = Decimal(0)
        else:
            price = self._price(cells, cols, instrument)
        fees = Decimal(0)
        for name in ("Commissions", "Fees"):
            value = parse_optional_decimal(cell(cells, cols[name]), name)
            if value is not None:
                fees -= value
        execution = Execution(
            account=settings.account,
            instrument=instrument,
            timestamp=timestamp,
            side=side,
            quantity=quantity,
            price=price,
            fees=fees,
            broker=self.name,
            order_id=cell(cells, cols["Order #"]) or None,
            row=number,
            raw=index.raw(cells),
        )
        return execution, resolved

    def _price(self, cells: list[str], cols: dict[str, int], instrument: Instrument) -> Decimal:
        m = _AT_PRICE.search(cell(cells, cols["Description"]))
        if m is not None:
            return parse_decimal(m.group(1), "Description")
        if instrument.asset_class in (AssetClass.FUTURE, AssetClass.FUTURE_OPTION):
            raise RowError("Description", "Description: no '@ price' for a futures fill")
        average = parse_decimal(cell(cells, cols["Average Price"]), "Average Price")
        return abs(average) / instrument.multiplier

    def _instrument(
        self, cells: list[str], cols: dict[str, int], index: HeaderIndex,
        settings: ImportSettings,
    ) -> Instrument:
        type_text = cell(cells, cols["Instrument Type"])
        asset_class = _INSTRUMENT_TYPES.get(type_text.lower())
        if asset_class is None:
            raise RowError("Instrument Type", f"Instrument Type: unsupported {type_text!r}")
        symbol = cell(cells, cols["Symbol"])
        underlying = cell(cells, cols["Underlying Symbol"])
        currency = cell(cells, index.find("Currency")) or "USD"
        if asset_class in (AssetClass.STOCK, AssetClass.CRYPTO_SPOT):
            return make_instrument(asset_class, symbol, currency=currency,
                                   symbol_column="Symbol")
        multiplier = parse_optional_decimal(cell(cells, cols["Multiplier"]), "Multiplier")
        if asset_class is AssetClass.FUTURE:
            contract = parse_future_symbol(symbol)
            table = futures_multiplier(contract.root, settings.multipliers) if contract else None
            return make_instrument(
                asset_class, symbol, currency=currency, symbol_column="Symbol",
                multiplier=table if table is not None else _above_one(multiplier),
                overrides=settings.multipliers,
            )
        expiry = parse_date(cell(cells, cols["Expiration Date"]), "Expiration Date")
        strike = parse_decimal(cell(cells, cols["Strike Price"]), "Strike Price")
        right = parse_right(cell(cells, cols["Call or Put"]), "Call or Put")
        if asset_class is AssetClass.FUTURE_OPTION:
            # tastytrade's Multiplier column is 1 for /MES options; the point value is
            # the underlying future's (5), so the futures table decides.
            return make_instrument(
                asset_class, symbol, underlying=underlying, expiry=expiry, strike=strike,
                right=right, currency=currency, overrides=settings.multipliers,
                symbol_column="Symbol",
            )
        return make_instrument(
            asset_class, symbol, underlying=underlying, expiry=expiry, strike=strike,
            right=right, multiplier=multiplier, currency=currency, symbol_column="Symbol",
        )

    def _legacy(
        self,
        rows: Iterator[tuple[int, list[str]]],
        index: HeaderIndex,
        settings: ImportSettings,
        tz: tzinfo,
        tally: ParseTally,
    ) -> Iterator[Execution | Rejection]:
        cols = {name: index.require(name) for name in _LEGACY}
        for number, cells in rows:
            tally.rows_read += 1
            code = cell(cells, cols["Transaction Code"])
            sub = cell(cells, cols["Transaction Subcode"])
            buy_sell = cell(cells, cols["Buy/Sell"])
            if code not in ("Trade", "Receive Deliver") or not buy_sell:
                tally.skip(_slug(sub or code), number)
                continue
            raw = index.raw(cells)
            try:
                timestamp = parse_timestamp(cell(cells, cols["Date/Time"]), "Date/Time", tz)
                side = parse_side(buy_sell, "Buy/Sell")
                quantity = abs(parse_decimal(cell(cells, cols["Quantity"]), "Quantity"))
                if quantity == 0:
                    raise RowError("Quantity", "Quantity: quantity is zero")
                price = abs(parse_decimal(cell(cells, cols["Price"]), "Price"))
                fees = parse_optional_decimal(cell(cells, cols["Fees"]), "Fees") or Decimal(0)
                symbol = cell(cells, cols["Symbol"])
                right_text = cell(cells, cols["Call/Put"])
                if right_text:
                    instrument = make_instrument(
                        AssetClass.OPTION, symbol, underlying=symbol,
                        expiry=parse_date(cell(cells, cols["Expiration Date"]),
                                          "Expiration Date"),
                        strike=parse_decimal(cell(cells, cols["Strike"]), "Strike"),
                        right=parse_right(right_text, "Call/Put"), symbol_column="Symbol",
                    )
                else:
                    instrument = make_instrument(AssetClass.STOCK, symbol,
                                                 symbol_column="Symbol")
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            yield Execution(
                account=settings.account, instrument=instrument, timestamp=timestamp,
                side=side, quantity=quantity, price=price, fees=abs(fees),
                broker=self.name, row=number, raw=raw,
            )


def _closes(execution: Execution) -> bool:
    action = (execution.raw or {}).get("Action", "")
    return action.upper().endswith("TO_CLOSE")


def _above_one(value: Decimal | None) -> Decimal | None:
    return value if value is not None and value > 1 else None

