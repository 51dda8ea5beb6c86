"""Tradovate CSV exports: Position History (paired fills), Orders and Fills.

**Position History** (Account → Position History → Download CSV): one row per *pair* of
an opening and a closing fill, repeated position columns first (Position ID, Timestamp,
Trade Date, Net Pos, Bought, Sold, Contract, Product...) then the pair: ``Pair ID``,
``Buy Fill ID``, ``Sell Fill ID``, ``Paired Qty``, ``Buy Price``, ``Sell Price``,
``P/L`` (the broker's realized P&L of the pair, kept in `raw`), ``Currency``,
``Bought Timestamp``, ``Sold Timestamp``. Each pair becomes two executions, a buy and a
sell of ``Paired Qty`` at their own prices and times. One fill can be paired with
several opposite fills, so the execution id is ``"{fill id}/{pair id}"``: unique and the
same in every export that contains the pair. A position row without a pair (an open
position's summary) carries no fill and is counted as ``position_without_pairs``.
The export has no commissions (fees are 0).

**Orders** (Orders tab → Download CSV; columns ``orderId``, ``B/S``, ``Contract``,
``Status``, ``Filled Qty``/``filledQty``, ``Avg Fill Price``/``avgPrice``,
``Fill Time``): one execution per order with a filled quantity, at the average fill
price; orders that filled nothing are counted by status (``order_canceled``...).

**Fills** (Fills tab → Download CSV; ``Fill ID``/``_id``, ``Order ID``/``_orderId``,
``Timestamp``/``_timestamp``, ``B/S``/``_action``, ``Quantity``/``_qty``,
``Price``/``_price``, ``Contract``; optional ``Commission``/``Fees``, ``Account``,
``Currency``): one execution per fill.

Contracts are futures codes (``MNQM6``, ``ESZ5``); the point value comes from the futures
multiplier table (`ImportSettings.multipliers` extends it); an unknown root rejects the
row. Timestamps (``MM/DD/YYYY HH:MM:SS``) are naive; the default zone is UTC: in the
real sample a fill at 17:14:44 has Trade Date 04/09, which rules out Chicago (CME trade
dates roll at 17:00 CT) and New York (17:14 ET is inside the daily halt). Set the import
timezone when your Tradovate display zone differs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportFormatError,
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
    parse_optional_decimal,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection

_PAIRS = ("Position ID", "Pair ID", "Buy Fill ID", "Sell Fill ID", "Paired Qty",
          "Buy Price", "Sell Price", "P/L", "Bought Timestamp", "Sold Timestamp",
          "Contract")
_ORDERS = ("orderId", "B/S", "Contract", "Status", "Fill Time")
_ORDER_QTY = ("Filled Qty", "filledQty")
_ORDER_PRICE = ("Avg Fill Price", "avgPrice")
_FILL_ID = ("Fill ID", "_id")
_FILL_ORDER = ("Order ID", "_orderId")
_FILL_TIME = ("Timestamp", "_timestamp")
_FILL_SIDE = ("B/S", "_action")
_FILL_QTY = ("Quantity", "_qty")
_FILL_PRICE = ("Price", "_price")


def _has_any(index: HeaderIndex, names: tuple[str, ...]) -> bool:
    return index.find(*names) is not None


def _layout(index: HeaderIndex) -> str | None:
    if index.has_all(_PAIRS):
        return "pairs"
    if index.has_all(_ORDERS) and _has_any(index, _ORDER_QTY) and _has_any(index, _ORDER_PRICE):
        return "orders"
    fills = (_FILL_ID, _FILL_ORDER, _FILL_TIME, _FILL_SIDE, _FILL_QTY, _FILL_PRICE)
    if all(_has_any(index, names) for names in fills) and index.find("Contract") is not None:
        return "fills"
    return None


class TradovateImporter(BrokerImporter):
    name = "tradovate"
    label = "Tradovate position history / orders / fills CSV"
    default_timezone = "UTC"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        layout = _layout(HeaderIndex(sample.header, self.name))
        return {"pairs": 0.95, "orders": 0.9, "fills": 0.85}.get(layout or "", 0.0)

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        tz = zone(settings.zone_name(self.default_timezone))
        reader = _Reader(self.name, index, settings, tz)
        layout = _layout(index)
        if layout is None:
            for name in (*_PAIRS, *_ORDERS):
                index.require(name)  # raises MissingColumnError for the first absent
            raise ImportFormatError(f"{self.name}: not a Tradovate export")
        for number, cells in rows:
            tally.rows_read += 1
            raw = index.raw(cells)
            try:
                if layout == "pairs":
                    items = reader.pair(number, cells, raw, tally)
                elif layout == "orders":
                    items = reader.order(number, cells, raw, tally)
                else:
                    items = reader.fill(number, cells, raw)
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            yield from items


class _Reader:
    def __init__(
        self, broker: str, index: HeaderIndex, settings: ImportSettings, tz: tzinfo
    ) -> None:
        self.broker = broker
        self.index = index
        self.settings = settings
        self.tz = tz
        self.instruments: dict[tuple[str, str], Instrument] = {}

    def col(self, *names: str) -> int:
        return self.index.require(*names)

    def text(self, cells: list[str], *names: str) -> str:
        return cell(cells, self.index.find(*names))

    def instrument(self, cells: list[str]) -> Instrument:
        contract = self.text(cells, "Contract")
        currency = self.text(cells, "Currency") or "USD"
        found = self.instruments.get((contract, currency))
        if found is None:
            found = make_instrument(
                AssetClass.FUTURE, contract, currency=currency,
                overrides=self.settings.multipliers, symbol_column="Contract",
            )
            self.instruments[(contract, currency)] = found
        return found

    def positive(self, cells: list[str], label: str, *aliases: str) -> Decimal:
        value = parse_decimal(self.text(cells, label, *aliases), label)
        if value <= 0:
            raise RowError(label, f"{label}: {value} is not positive")
        return value

    def pair(
        self, number: int, cells: list[str], raw: dict[str, str], tally: ParseTally
    ) -> list[Execution]:
        pair_id = self.text(cells, "Pair ID")
        if not pair_id:
            tally.skip("position_without_pairs", number)
            return []
        instrument = self.instrument(cells)
        quantity = self.positive(cells, "Paired Qty")
        legs = []
        for side_text, fill_col, price_col, time_col in (
            ("Buy", "Buy Fill ID", "Buy Price", "Bought Timestamp"),
            ("Sell", "Sell Fill ID", "Sell Price", "Sold Timestamp"),
        ):
            fill_id = self.text(cells, fill_col)
            if not fill_id:
                raise RowError(fill_col, f"{fill_col}: empty")
            legs.append(
                Execution(
                    account=self.settings.account,
                    instrument=instrument,
                    timestamp=parse_timestamp(self.text(cells, time_col), time_col, self.tz),
                    side=parse_side(side_text, "B/S"),
                    quantity=quantity,
                    price=self.positive(cells, price_col),
                    broker=self.broker,
                    broker_execution_id=f"{fill_id}/{pair_id}",
                    row=number,
                    raw=raw,
                )
            )
        legs.sort(key=lambda e: e.timestamp)  # the opening fill first
        return legs

    def order(
        self, number: int, cells: list[str], raw: dict[str, str], tally: ParseTally
    ) -> list[Execution]:
        filled_text = self.text(cells, *_ORDER_QTY)
        filled = Decimal(0) if is_blank(filled_text) else parse_decimal(filled_text, "Filled Qty")
        if filled < 0:
            raise RowError("Filled Qty", f"Filled Qty: {filled} is negative")
        if filled == 0:
            status = self.text(cells, "Status").lower() or "unknown"
            tally.skip("order_" + "_".join(status.split()), number)
            return []
        order_id = self.text(cells, "orderId", "Order ID")
        if not order_id:
            raise RowError("orderId", "orderId: empty")
        return [
            Execution(
                account=self.settings.account,
                instrument=self.instrument(cells),
                timestamp=parse_timestamp(self.text(cells, "Fill Time"), "Fill Time", self.tz),
                side=parse_side(self.text(cells, "B/S"), "B/S"),
                quantity=filled,
                price=self.positive(cells, "Avg Fill Price", "avgPrice"),
                broker=self.broker,
                broker_execution_id=f"order:{order_id}",
                order_id=order_id,
                row=number,
                raw=raw,
            )
        ]

    def fill(self, number: int, cells: list[str], raw: dict[str, str]) -> list[Execution]:
        fill_id = self.text(cells, *_FILL_ID)
        if not fill_id:
            raise RowError("Fill ID", "Fill ID: empty")
        fees = Decimal(0)
        for name in ("Commission", "Fees", "Fee"):
            value = parse_optional_decimal(self.text(cells, name), name)
            if value is not None:
                fees += value  # a positive cost; negative is a rebate
        return [
            Execution(
                account=self.settings.account,
                instrument=self.instrument(cells),
                timestamp=parse_timestamp(self.text(cells, *_FILL_TIME), "Timestamp", self.tz),
                side=parse_side(self.text(cells, *_FILL_SIDE), "B/S"),
                quantity=self.positive(cells, "Quantity", "_qty"),
                price=self.positive(cells, "Price", "_price"),
                fees=fees,
                broker=self.broker,
                broker_execution_id=fill_id,
                order_id=self.text(cells, *_FILL_ORDER) or None,
                row=number,
                raw=raw,
            )
        ]
