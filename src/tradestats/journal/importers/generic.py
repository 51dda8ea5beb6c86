"""Generic CSV/XLSX preset: one execution per row, columns found by documented aliases.

Roles and accepted column names (compared case-insensitively, ignoring spaces and
punctuation; `ImportSettings.column_mapping` maps a role to any other column name):

==============  ============================================================  ========
role            aliases                                                       required
==============  ============================================================  ========
datetime        datetime, timestamp, date/time, execution time, fill time     yes (*)
date, time      date / trade date; time (combined when both are present)      (*)
symbol          symbol, ticker, instrument, contract, coin, pair              yes
side            side, action, buy/sell, b/s, direction                        no (**)
quantity        quantity, qty, shares, size, contracts, filled qty, lots      yes
price           price, fill price, trade price, avg price, execution price    yes
fees            every column named fee(s)/commission(s)/comm, summed          no
account         account, account id, account number                          no
asset_class     asset class, asset type, type, instrument type, sec type      no
multiplier      multiplier, contract size, point value                        no
underlying      underlying, underlying symbol, root                           no
expiry          expiry, expiration, expiration date                           no
strike          strike, strike price                                          no
right           right, put/call, call/put, option type                        no
order_id        order id, order #, order number                               no
execution_id    execution id, exec id, trade id, fill id                      no
currency        currency, ccy                                                 no
==============  ============================================================  ========

(*) a datetime column, or a date column (plus an optional time column).
(**) without a side column the sign of the quantity gives the side (negative = sell).

Sides: buy/b/bot/bought/long/buy to open/btc... and sell/s/sld/sold/short/ss... Fees
are positive costs (a negative fee is a rebate). Without an asset-class column a row is
an option when it has a strike/right/expiry, a future when its symbol starts with "/",
otherwise a stock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportFormatError,
    ImportSettings,
    MissingColumnError,
    ParseTally,
    TableSample,
    normalize_header,
)
from tradestats.journal.importers.instruments import make_instrument, parse_asset_class
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    parse_date,
    parse_decimal,
    parse_right,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

ALIASES: dict[str, tuple[str, ...]] = {
    "datetime": ("datetime", "timestamp", "date/time", "date time", "execution time",
                 "executed at", "fill time", "filled at", "trade datetime", "time stamp"),
    "date": ("date", "trade date", "execution date"),
    "time": ("time", "trade time", "execution time of day"),
    "symbol": ("symbol", "ticker", "instrument", "contract", "coin", "pair", "security"),
    "side": ("side", "action", "buy/sell", "buy_sell", "b/s", "direction", "dir"),
    "quantity": ("quantity", "qty", "shares", "size", "contracts", "filled qty",
                 "filled quantity", "lots", "units", "sz"),
    "price": ("price", "fill price", "trade price", "avg price", "average price",
              "execution price", "px", "t. price"),
    "account": ("account", "account id", "account number", "acct"),
    "asset_class": ("asset_class", "asset class", "asset type", "type", "instrument type",
                    "security type", "sec type", "asset category"),
    "multiplier": ("multiplier", "mult", "contract size", "point value"),
    "underlying": ("underlying", "underlying symbol", "root", "root symbol"),
    "expiry": ("expiry", "expiration", "expiration date", "expiry date", "exp date"),
    "strike": ("strike", "strike price"),
    "right": ("right", "put/call", "put_call", "call/put", "option type", "cp"),
    "order_id": ("order_id", "order id", "order #", "order number", "order no"),
    "execution_id": ("execution_id", "execution id", "exec id", "trade_id", "trade id",
                     "fill id", "fill_id"),
    "currency": ("currency", "ccy"),
}
_FEE_NAMES = frozenset(
    normalize_header(n)
    for n in ("fee", "fees", "commission", "commissions", "comm", "comm/fee",
              "fees & comm", "commission and fees")
)
_FEE_SUFFIXES = ("fee", "fees", "commission", "commissions")
_REQUIRED_FOR_DETECT = ("symbol", "quantity", "price")


def _fee_columns(header: Sequence[str]) -> list[int]:
    out = []
    for i, name in enumerate(header):
        key = normalize_header(name)
        if key in _FEE_NAMES or key.endswith(_FEE_SUFFIXES):
            out.append(i)
    return out


class _Columns:
    """Resolved positions of every role for one header."""

    def __init__(self, header: Sequence[str], settings: ImportSettings) -> None:
        index = HeaderIndex(header, GenericImporter.name)
        self.index = index
        mapping = {k: v for k, v in settings.column_mapping.items() if v}
        unknown_roles = set(mapping) - set(ALIASES) - {"fees"}
        if unknown_roles:
            raise ImportFormatError(
                f"column mapping: unknown role(s) {', '.join(sorted(unknown_roles))}; "
                f"roles are {', '.join(sorted([*ALIASES, 'fees']))}"
            )
        pos: dict[str, int | None] = {}
        for role, aliases in ALIASES.items():
            if role in mapping:
                found = index.find(mapping[role])
                if found is None:
                    raise MissingColumnError(mapping[role], header, GenericImporter.name)
                pos[role] = found
            else:
                pos[role] = index.find(*aliases)
        if "fees" in mapping:
            self.fees = [index.require(name.strip()) for name in mapping["fees"].split(",")]
        else:
            self.fees = _fee_columns(header)
        self.datetime = pos["datetime"]
        self.date = pos["date"]
        self.time = pos["time"]
        if self.datetime is None:
            if self.date is None and self.time is not None:
                self.datetime, self.time = self.time, None  # a lone "time" column
            elif self.date is None:
                raise MissingColumnError("datetime", header, GenericImporter.name)
        for role in ("symbol", "quantity", "price"):
            if pos[role] is None:
                raise MissingColumnError(role, header, GenericImporter.name)
        self.symbol: int = pos["symbol"]  # type: ignore[assignment]
        self.quantity: int = pos["quantity"]  # type: ignore[assignment]
        self.price: int = pos["price"]  # type: ignore[assignment]
        self.side = pos["side"]
        self.account = pos["account"]
        self.asset_class = pos["asset_class"]
        self.multiplier = pos["multiplier"]
        self.underlying = pos["underlying"]
        self.expiry = pos["expiry"]
        self.strike = pos["strike"]
        self.right = pos["right"]
        self.order_id = pos["order_id"]
        self.execution_id = pos["execution_id"]
        self.currency = pos["currency"]
        self.names = list(header)
        #: the cells that determine the instrument (cache key)
        self.instrument_positions = [
            p
            for p in (self.symbol, self.asset_class, self.multiplier, self.underlying,
                      self.expiry, self.strike, self.right, self.currency)
            if p is not None
        ]


class GenericImporter(BrokerImporter):
    name = "generic"
    label = "Generic CSV/XLSX (documented columns)"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        if not all(index.find(*ALIASES[r]) is not None for r in _REQUIRED_FOR_DETECT):
            return 0.0
        if index.find(*ALIASES["datetime"], *ALIASES["date"], *ALIASES["time"]) is None:
            return 0.0
        return 0.5  # lowest priority: any specific preset that matches wins

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        cols = _Columns(header, settings)
        tz = zone(settings.zone_name(self.default_timezone))
        width = len(cols.names)
        names = cols.names
        keep = [i for i, name in enumerate(names) if name]
        all_named = len(keep) == width
        instruments: dict[tuple[str, ...], Instrument] = {}
        for number, cells in rows:
            tally.rows_read += 1
            # pad short rows once so every column lookup below is plain indexing
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            raw = (
                dict(zip(names, cells, strict=False))
                if all_named
                else {names[i]: cells[i] for i in keep}
            )
            try:
                yield self._execution(number, cells, raw, cols, settings, tz, instruments)
            except RowError as err:
                yield rejection(number, err, raw)

    def _execution(
        self,
        number: int,
        cells: list[str],
        raw: dict[str, str],
        cols: _Columns,
        settings: ImportSettings,
        tz: tzinfo,
        instruments: dict[tuple[str, ...], Instrument],
    ) -> Execution:
        names = cols.names
        if cols.datetime is not None:
            text = cells[cols.datetime]
            column = names[cols.datetime]
        else:
            assert cols.date is not None
            text = cells[cols.date]
            column = names[cols.date]
            if cols.time is not None and (time_text := cells[cols.time]):
                text = f"{text} {time_text}"
        timestamp = parse_timestamp(text, column, tz, day_first=settings.day_first)

        qty_col = names[cols.quantity]
        quantity = parse_decimal(cells[cols.quantity], qty_col)
        if cols.side is not None:
            side = parse_side(cells[cols.side], names[cols.side])
            if quantity < 0:
                if side is Side.BUY:
                    raise RowError(qty_col, f"{qty_col}: negative quantity on a buy")
                quantity = -quantity
        else:
            side = Side.BUY if quantity > 0 else Side.SELL
            quantity = abs(quantity)
        if quantity == 0:
            raise RowError(qty_col, f"{qty_col}: quantity is zero")

        price_col = names[cols.price]
        price = parse_decimal(cells[cols.price], price_col)
        if price < 0:
            raise RowError(price_col, f"{price_col}: negative price {price}")

        fees = Decimal(0)
        for pos in cols.fees:
            text = cells[pos]
            if not is_blank(text):
                fees += parse_decimal(text, names[pos])

        key = tuple(cells[pos] for pos in cols.instrument_positions)
        instrument = instruments.get(key)
        if instrument is None:
            instrument = self._instrument(cells, cols, settings)
            if len(instruments) > 100_000:  # bound memory on pathological files
                instruments.clear()
            instruments[key] = instrument
        return Execution(
            account=(cells[cols.account] if cols.account is not None else "")
            or settings.account,
            instrument=instrument,
            timestamp=timestamp,
            side=side,
            quantity=quantity,
            price=price,
            fees=fees,
            broker=self.name,
            broker_execution_id=(
                cells[cols.execution_id] if cols.execution_id is not None else ""
            ) or None,
            order_id=(cells[cols.order_id] if cols.order_id is not None else "") or None,
            row=number,
            raw=raw,
        )

    def _instrument(
        self, cells: list[str], cols: _Columns, settings: ImportSettings
    ) -> Instrument:
        names = cols.names
        expiry = strike = right = multiplier = None
        if cols.expiry is not None and not is_blank(t := cells[cols.expiry]):
            expiry = parse_date(t, names[cols.expiry])
        if cols.strike is not None and not is_blank(t := cells[cols.strike]):
            strike = parse_decimal(t, names[cols.strike])
        if cols.right is not None and not is_blank(t := cells[cols.right]):
            right = parse_right(t, names[cols.right])
        if cols.multiplier is not None and not is_blank(t := cells[cols.multiplier]):
            multiplier = parse_decimal(t, names[cols.multiplier])

        symbol = cells[cols.symbol]
        if cols.asset_class is not None and not is_blank(t := cells[cols.asset_class]):
            asset_class = parse_asset_class(t, names[cols.asset_class])
        elif expiry is not None or strike is not None or right is not None:
            asset_class = AssetClass.OPTION
        elif symbol.startswith("/"):
            asset_class = AssetClass.FUTURE
        else:
            asset_class = AssetClass.STOCK

        return make_instrument(
            asset_class,
            symbol,
            underlying=cell(cells, cols.underlying),
            expiry=expiry,
            strike=strike,
            right=right,
            multiplier=multiplier,
            currency=cell(cells, cols.currency).upper() or "USD",
            overrides=settings.multipliers,
            symbol_column=names[cols.symbol],
        )
