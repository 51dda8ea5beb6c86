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

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter

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
from tradestats.journal.importers.tabular import HeaderIndex, RowJson, cell, rejection
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
#: Entries kept per parse cache (distinct cell texts); past it the cache starts over.
_CACHE_LIMIT = 50_000


class _ValueCache:
    """`parse_decimal` memoized by exact cell text, bounded.

    Only successful parses are kept (a bad cell raises each time, with its own column).
    """

    def __init__(self) -> None:
        self._decimals: dict[str, Decimal] = {}

    def decimal(self, text: str, column: str) -> Decimal:
        value = self._decimals.get(text)
        if value is None:
            value = parse_decimal(text, column)
            if len(self._decimals) >= _CACHE_LIMIT:
                self._decimals.clear()
            self._decimals[text] = value
        return value


def _getter(positions: Sequence[int]) -> Callable[[list[str]], object]:
    """A function of a row giving the cells at `positions` as one hashable key."""
    if not positions:
        return lambda _cells: ()
    if len(positions) == 1:
        return itemgetter(positions[0])
    return itemgetter(*positions)


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
        for item, _ in self._parse(source, settings, tally, as_json=False):
            yield item

    def iter_parse_stored(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[tuple[Execution | Rejection, str | None]]:
        """`iter_parse` for storing: each execution comes without its `raw` dict, next
        to its source row as JSON text (``json.dumps(raw, separators=(",", ":"))``);
        rejections keep their `raw` dict. Cheaper per row, and the executions hold
        no source row in memory."""
        return self._parse(source, settings, tally, as_json=True)

    def _parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally, *, as_json: bool
    ) -> Iterator[tuple[Execution | Rejection, str | None]]:
        header, rows = source.header_and_rows()
        cols = _Columns(header, settings)
        tz = zone(settings.zone_name(self.default_timezone))
        day_first = settings.day_first
        width = len(cols.names)
        names = cols.names
        row_json = RowJson(names)
        all_named = len(row_json.positions) == width
        instruments: dict[object, Instrument] = {}
        # The loop below is the hot path of a large import: every per-row decision that
        # depends only on the header is taken here, once. Values that repeat (sides,
        # quantities, fees, many prices) are parsed once per distinct text and shared:
        # Decimals are immutable, and the cache key is the exact cell text, so a cached
        # value is the value `parse_decimal` gives for that text.
        values = _ValueCache()
        decimal = values.decimal
        instrument_key = _getter(cols.instrument_positions)
        fees_key = _getter(cols.fees)
        fee_cache: dict[object, Decimal] = {}
        side_cache: dict[str, Side] = {}
        ts_pos = cols.datetime
        date_pos, time_pos = cols.date, cols.time
        ts_col = names[ts_pos] if ts_pos is not None else names[cols.date]  # type: ignore[index]
        qty_pos, price_pos, side_pos = cols.quantity, cols.price, cols.side
        qty_col, price_col = names[qty_pos], names[price_pos]
        side_col = names[side_pos] if side_pos is not None else ""
        account_pos, exec_pos, order_pos = cols.account, cols.execution_id, cols.order_id
        default_account = settings.account
        broker = self.name
        buy, sell = Side.BUY, Side.SELL
        zero = Decimal(0)
        fromisoformat = datetime.fromisoformat
        for number, cells in rows:
            tally.rows_read += 1
            # pad short rows once so every column lookup below is plain indexing
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            raw: dict[str, str] | None = None
            if as_json:
                raw_json = row_json(cells)
            else:
                raw_json = None
                raw = dict(zip(names, cells, strict=False)) if all_named else row_json.dict(cells)
            try:
                # -- time: ISO 8601 directly, every other accepted form via parse_timestamp
                if ts_pos is not None:
                    text = cells[ts_pos]
                else:
                    text = cells[date_pos]  # type: ignore[index]
                    if time_pos is not None and (time_text := cells[time_pos]):
                        text = f"{text} {time_text}"
                try:
                    timestamp = fromisoformat(text)
                except ValueError:
                    timestamp = parse_timestamp(text, ts_col, tz, day_first=day_first)
                else:
                    if timestamp.tzinfo is None:
                        timestamp = timestamp.replace(tzinfo=tz)
                    timestamp = timestamp.astimezone(UTC)

                # -- quantity and side
                quantity = decimal(cells[qty_pos], qty_col)
                if side_pos is not None:
                    side_text = cells[side_pos]
                    side = side_cache.get(side_text)
                    if side is None:
                        side = parse_side(side_text, side_col)
                        if len(side_cache) < _CACHE_LIMIT:
                            side_cache[side_text] = side
                    if quantity < 0:
                        if side is buy:
                            raise RowError(qty_col, f"{qty_col}: negative quantity on a buy")
                        quantity = -quantity
                else:
                    side = buy if quantity > 0 else sell
                    quantity = abs(quantity)
                if quantity == 0:
                    raise RowError(qty_col, f"{qty_col}: quantity is zero")

                price = decimal(cells[price_pos], price_col)
                if price < 0:
                    raise RowError(price_col, f"{price_col}: negative price {price}")

                key = fees_key(cells)
                fees = fee_cache.get(key)
                if fees is None:
                    fees = zero
                    for pos in cols.fees:
                        text = cells[pos]
                        if not is_blank(text):
                            fees += decimal(text, names[pos])
                    if len(fee_cache) >= _CACHE_LIMIT:
                        fee_cache.clear()
                    fee_cache[key] = fees

                key = instrument_key(cells)
                instrument = instruments.get(key)
                if instrument is None:
                    instrument = self._instrument(cells, cols, settings)
                    if len(instruments) > 100_000:  # bound memory on pathological files
                        instruments.clear()
                    instruments[key] = instrument
                yield Execution(
                    (cells[account_pos] if account_pos is not None else "") or default_account,
                    instrument,
                    timestamp,
                    side,
                    quantity,
                    price,
                    fees,
                    broker,
                    (cells[exec_pos] if exec_pos is not None else "") or None,
                    (cells[order_pos] if order_pos is not None else "") or None,
                    number,
                    raw,
                ), raw_json
            except RowError as err:
                yield rejection(number, err, row_json.dict(cells) if raw is None else raw), None

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
