"""thinkorswim / TD Ameritrade: the Account Statement CSV and the web transactions.csv.

**Account Statement** (thinkorswim → Monitor → Account Statement → export to CSV): a
stack of titled sections (Cash Balance, Futures Statements, Forex Statements, Account
Order History, Account Trade History, Equities, Options, Profits and Losses, Account
Summary...). Only *Account Trade History* holds fills: ``Exec Time, Spread, Side, Qty,
Pos Effect, Symbol, Exp, Strike, Type, Price, Net Price, Order Type``. A spread order is
one row for its first leg followed by rows with an empty Exec Time for the other legs;
all legs of one order share an order id so multi-leg grouping can use it.

- Symbols: stocks/ETFs as is; ``Type`` CALL/PUT is an equity option (multiplier 100)
  on ``Symbol`` with ``Exp`` (``17 FEB 23``) and ``Strike``; ``/MESZ5`` (type FUTURE) is
  a future (root table multiplier); ``./MESZ5EXV5`` with CALL/PUT is a future option.
- Fees and seconds: the trade-history time has minutes only and no fees. The Cash
  Balance section books each order as a ``TRD`` line (``SOLD -100 AMZN @9.65``, time to
  the second, ``REF #``, ``Misc Fees``, ``Commissions & Fees``). An order is joined with
  the TRD line of the same minute, side, quantity, symbol and net price (identical
  candidates are interchangeable); then the execution takes its time, its REF # as order
  id and its fees (split over the legs by quantity). Without such a line the fees are
  0, the time is the minute, the order id is derived from the rows' content, and
  ``raw["cash_line"] == "none"`` says so.
- ``REMOVAL OF OPTION DUE TO EXPIRATION|ASSIGNMENT|EXERCISE`` cash lines (type RAD) close
  the option at price 0: a signed quantity gives the side (``-1`` removes a long), else
  an assignment buys back a short, an exercise sells a long, and an expiration closes
  the position the file holds (rejected when it holds none, or when the line does not
  name the contract).
- Every other row is counted in `skipped`: ``cash_trade`` (the TRD lines just used),
  other cash lines by their description (``dividend``, ``interest``, ``fee``,
  ``transfer``...) or else their TYPE (``cash_bal``...), and one kind per other section
  (``account_order_history``, ``profits_and_losses``...).

**transactions.csv** (TD Ameritrade web): see `thinkorswim_transactions`.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.futures import parse_future_symbol
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.thinkorswim_transactions import (
    MONTHS,
    TRANSACTION_COLUMNS,
    parse_transactions,
    transaction_kind,
)
from tradestats.journal.importers.values import (
    RowError,
    parse_decimal,
    parse_optional_decimal,
    parse_right,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_STATEMENT_TITLE = "account statement for"
_TRADE_HISTORY = "account trade history"
_CASH_BALANCE = "cash balance"
_CASH_SECTIONS = (_CASH_BALANCE, "futures statements")
_HEADERLESS = {"account summary"}
_EXP = re.compile(r"^(\d{1,2})\s+([A-Z]{3})\s+(\d{2}|\d{4})\b")
_CASH_TRADE = re.compile(
    r"(?P<verb>BOT|SOLD)\s+(?P<qty>[+-]?[\d,]*\.?\d+)\s+(?P<what>.*?)\s*@\s*(?P<price>-?[\d,]*\.?\d+)"
)
_REMOVAL = re.compile(
    r"REMOVAL OF OPTION DUE TO (?P<reason>EXPIRATION|ASSIGNMENT|EXERCISE)\b.*?"
    r"(?:(?P<qty>[+-]?\d+)\s+)?(?P<root>[A-Z][A-Z.]*)\s+100\s+(?:\([^)]*\)\s+)?"
    r"(?P<exp>\d{1,2} [A-Z]{3} \d{2,4})\s+(?P<strike>\d+(?:\.\d+)?)\s+(?P<right>CALL|PUT)"
)
def _slug(text: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) or "unknown"


def _is_title(cells: list[str]) -> bool:
    return bool(cells[0]) and not any(cells[1:])


class ThinkorswimImporter(BrokerImporter):
    name = "thinkorswim"
    label = "thinkorswim Account Statement / TD Ameritrade transactions CSV"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        first = sample.header[0].lower()
        if first.startswith(_STATEMENT_TITLE):
            titles = {r[0].lower() for r in sample.rows if r and _is_title(r)}
            if titles & {_CASH_BALANCE, _TRADE_HISTORY, "account order history"}:
                return 0.95
            return 0.6
        if HeaderIndex(sample.header, self.name).has_all((*TRANSACTION_COLUMNS, "REG FEE")):
            return 0.95
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        tz = zone(settings.zone_name(self.default_timezone))
        header, rows = source.header_and_rows()
        if header and header[0].lower().startswith(_STATEMENT_TITLE):
            yield from _Statement(self.name, settings, tz).parse(rows, tally)
        else:
            yield from parse_transactions(self.name, header, rows, settings, tz, tally)


# -- Account Statement ---------------------------------------------------------------


@dataclass(slots=True)
class _CashLine:
    row: int
    timestamp: datetime
    side: Side
    quantity: Decimal
    words: frozenset[str]
    price: Decimal
    ref: str
    fees: Decimal
    used: bool = False


@dataclass(slots=True)
class _Leg:
    row: int
    cells: list[str]
    raw: dict[str, str]
    side: Side
    quantity: Decimal
    price: Decimal
    instrument: Instrument


@dataclass(slots=True)
class _Order:
    minute: datetime | None
    spread: str
    net_price: str
    legs: list[_Leg] = field(default_factory=list)
    broken_by: int | None = None  # row of the first rejected leg


class _Statement:
    def __init__(self, broker: str, settings: ImportSettings, tz: tzinfo) -> None:
        self.broker = broker
        self.settings = settings
        self.tz = tz
        self.cash: list[_CashLine] = []
        self.removals: list[tuple[_Leg, Side | None, datetime]] = []
        self.orders: list[_Order] = []

    def parse(
        self, rows: Iterator[tuple[int, list[str]]], tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        section = ""
        index: HeaderIndex | None = None
        for number, cells in rows:
            if _is_title(cells):
                section, index = cells[0].strip().lower(), None
                continue
            if index is None and section not in _HEADERLESS:
                index = HeaderIndex(cells, self.broker)
                continue
            tally.rows_read += 1
            if section == _TRADE_HISTORY and index is not None:
                try:
                    self._trade_row(number, cells, index)
                except RowError as err:
                    yield rejection(number, err, index.raw(cells))
                continue
            if section in _CASH_SECTIONS and index is not None:
                description = cell(cells, index.find("DESCRIPTION", "Description"))
                if "REMOVAL OF OPTION" in description.upper():
                    try:
                        self._removal(number, cells, index, description)
                    except RowError as err:
                        yield rejection(number, err, index.raw(cells))
                    continue
                tally.skip(self._cash_row(number, cells, index), number)
                continue
            tally.skip(_slug(section) if section else "preamble", number)
        positions: dict[str, Decimal] = defaultdict(Decimal)
        for item in self._emit():
            if isinstance(item, Execution):
                positions[item.instrument.key] += item.signed_quantity
            yield item
        yield from self._resolve_removals(positions)

    def _removal(
        self, number: int, cells: list[str], index: HeaderIndex, description: str
    ) -> None:
        """An option leaving the account (expiration, assignment, exercise) at 0."""
        m = _REMOVAL.search(description.upper())
        if m is None:
            raise RowError(
                "DESCRIPTION",
                f"DESCRIPTION: option removal {description!r} does not name the contract "
                "(quantity, symbol, expiry, strike, right)",
            )
        day = cell(cells, index.find("DATE", "Exec Date"))
        when = f"{day} {cell(cells, index.find('TIME', 'Exec Time'))}"
        timestamp = parse_timestamp(when, "TIME", self.tz)
        qty_text = m.group("qty") or ""
        reason = m.group("reason")
        if not qty_text and reason != "EXPIRATION":
            raise RowError(
                "DESCRIPTION",
                f"DESCRIPTION: {reason.lower()} without a quantity; cannot tell how many "
                "contracts were removed",
            )
        # an expiration without a quantity removes the whole position (all contracts
        # of a series expire together); 0 here = "what the file holds", set at the end
        quantity = abs(parse_decimal(qty_text, "DESCRIPTION")) if qty_text else Decimal(0)
        if qty_text and quantity == 0:
            raise RowError("DESCRIPTION", "DESCRIPTION: removal of quantity 0")
        row = _Leg(
            number, cells, index.raw(cells), Side.SELL, quantity, Decimal(0),
            make_instrument(
                AssetClass.OPTION, m.group("root"), underlying=m.group("root"),
                expiry=_expiry(m.group("exp")),
                strike=parse_decimal(m.group("strike"), "DESCRIPTION"),
                right=parse_right(m.group("right"), "DESCRIPTION"),
                symbol_column="DESCRIPTION",
            ),
        )
        side: Side | None
        if qty_text.startswith("-"):
            side = Side.SELL  # a long position removed
        elif qty_text.startswith("+"):
            side = Side.BUY
        elif reason == "ASSIGNMENT":
            side = Side.BUY  # only a short option is assigned
        elif reason == "EXERCISE":
            side = Side.SELL  # only a long option is exercised
        else:
            side = None  # decided from the position the file holds
        self.removals.append((row, side, timestamp))

    def _resolve_removals(self, positions: dict[str, Decimal]) -> Iterator[Execution | Rejection]:
        for leg, side, timestamp in self.removals:
            key = leg.instrument.key
            held = positions[key]
            quantity = leg.quantity or abs(held)
            if side is None or quantity == 0:
                if held == 0:
                    yield Rejection(
                        leg.row, "DESCRIPTION",
                        "DESCRIPTION: expiration of an option with no open position in the "
                        "file; cannot tell whether it closed a long or a short",
                        leg.raw,
                    )
                    continue
                side = side or (Side.SELL if held > 0 else Side.BUY)
            execution = Execution(
                account=self.settings.account, instrument=leg.instrument,
                timestamp=timestamp, side=side, quantity=quantity, price=Decimal(0),
                broker=self.broker, row=leg.row, raw=leg.raw,
            )
            positions[key] += execution.signed_quantity
            yield execution

    def _cash_row(self, number: int, cells: list[str], index: HeaderIndex) -> str:
        kind = cell(cells, index.find("TYPE"))
        if not kind:
            is_total = "total" in cell(cells, index.find("DESCRIPTION")).lower()
            return "cash_total" if is_total else "cash_other"
        if kind != "TRD":
            described = transaction_kind(cell(cells, index.find("DESCRIPTION", "Description")))
            return described if described != "other" else "cash_" + _slug(kind)
        m = _CASH_TRADE.search(cell(cells, index.find("DESCRIPTION")))
        if m is None:
            return "cash_trade_unparsed"
        try:
            day = cell(cells, index.find("DATE", "Exec Date"))
            when = f"{day} {cell(cells, index.find('TIME', 'Exec Time'))}"
            fees = Decimal(0)
            for name in ("Misc Fees", "Commissions & Fees"):
                value = parse_optional_decimal(cell(cells, index.find(name)), name)
                fees -= value or 0
            self.cash.append(_CashLine(
                row=number,
                timestamp=parse_timestamp(when, "TIME", self.tz),
                side=Side.BUY if m.group("verb") == "BOT" else Side.SELL,
                quantity=abs(parse_decimal(m.group("qty"), "DESCRIPTION")),
                words=frozenset(m.group("what").upper().split()),
                price=parse_decimal(m.group("price"), "DESCRIPTION"),
                ref=cell(cells, index.find("REF #")),
                fees=fees,
            ))
        except RowError:
            return "cash_trade_unparsed"
        return "cash_trade"

    def _trade_row(self, number: int, cells: list[str], index: HeaderIndex) -> None:
        """Buffer one leg; a rejected leg marks its whole order as not importable."""
        exec_time = cell(cells, index.find("Exec Time"))
        if exec_time:
            order = _Order(None, cell(cells, index.find("Spread")),
                           cell(cells, index.find("Net Price")))
            self.orders.append(order)
        elif self.orders:
            order = self.orders[-1]  # another leg of the spread above
        else:
            raise RowError("Exec Time", "Exec Time: empty, and no order row above this leg")
        try:
            if order.minute is None:
                order.minute = parse_timestamp(exec_time, "Exec Time", self.tz)
            if order.broken_by is not None:
                raise RowError(
                    None, f"another leg of this order (row {order.broken_by}) was rejected"
                )
            side = parse_side(cell(cells, index.find("Side")), "Side")
            quantity = abs(parse_decimal(cell(cells, index.find("Qty")), "Qty"))
            if quantity == 0:
                raise RowError("Qty", "Qty: zero")
            price = parse_decimal(cell(cells, index.find("Price")), "Price")
            if price < 0:
                raise RowError("Price", f"Price: {price} is negative")
            instrument = self._instrument(cells, index)
        except RowError:
            if order.broken_by is None:
                order.broken_by = number
            raise
        order.legs.append(_Leg(number, cells, index.raw(cells), side, quantity, price,
                               instrument))

    def _instrument(self, cells: list[str], index: HeaderIndex) -> Instrument:
        symbol = cell(cells, index.find("Symbol"))
        kind = cell(cells, index.find("Type")).upper()
        overrides = self.settings.multipliers
        if kind in ("CALL", "PUT"):
            right = parse_right(kind, "Type")
            expiry = _expiry(cell(cells, index.find("Exp")))
            strike = parse_decimal(cell(cells, index.find("Strike")), "Strike")
            if symbol.startswith("./"):
                flag = "C" if kind == "CALL" else "P"
                code = f"{symbol} {expiry:%y%m%d}{flag}{strike.normalize():f}"
                return make_instrument(AssetClass.FUTURE_OPTION, code, overrides=overrides,
                                       symbol_column="Symbol")
            return make_instrument(AssetClass.OPTION, symbol, underlying=symbol,
                                   expiry=expiry, strike=strike, right=right,
                                   symbol_column="Symbol")
        if symbol.startswith("/") or kind in ("FUTURE", "FUT"):
            if parse_future_symbol(symbol) is None:
                raise RowError("Symbol", f"Symbol: {symbol!r} is not a futures contract")
            return make_instrument(AssetClass.FUTURE, symbol, overrides=overrides,
                                   symbol_column="Symbol")
        if kind in ("STOCK", "ETF", "") or kind.startswith("EQUITY"):
            return make_instrument(AssetClass.STOCK, symbol, symbol_column="Symbol")
        raise RowError("Type", f"Type: unsupported instrument type {kind!r}")

    def _cash_for(self, order: _Order) -> _CashLine | None:
        """The unused cash TRD line booking `order`: same minute, quantity (of the first
        leg), net price and underlying; for a single leg also the same side, for a
        spread its name (``VERTICAL``) in the description."""
        first = order.legs[0]
        try:
            net = parse_decimal(order.net_price, "Net Price") if order.net_price else first.price
        except RowError:
            net = first.price
        assert order.minute is not None
        minute = order.minute.replace(second=0, microsecond=0)
        symbol = first.instrument.underlying.upper().lstrip("/")
        spread_word = (order.spread.split() or [""])[0].upper()
        single = len(order.legs) == 1
        for line in self.cash:
            if (
                not line.used
                and line.timestamp.replace(second=0, microsecond=0) == minute
                and line.quantity == first.quantity
                and abs(line.price) == abs(net)
                and (line.side is first.side if single else spread_word in line.words)
                and any(w.lstrip("/.").startswith(symbol) for w in line.words)
            ):
                line.used = True
                return line
        return None

    def _emit(self) -> Iterator[Execution | Rejection]:
        seen: dict[str, int] = defaultdict(int)
        for order in self.orders:
            if order.broken_by is not None:
                for leg in order.legs:  # legs read before the bad one: not half an order
                    yield Rejection(
                        leg.row, None,
                        f"another leg of this order (row {order.broken_by}) was rejected",
                        leg.raw,
                    )
                continue
            if not order.legs or order.minute is None:
                continue
            line = self._cash_for(order)
            total_qty = sum((leg.quantity for leg in order.legs), Decimal(0))
            if line is not None:
                timestamp, order_id, fees_left = line.timestamp, line.ref or None, line.fees
            else:
                digest = hashlib.sha256(
                    "|".join(",".join(leg.cells) for leg in order.legs).encode()
                ).hexdigest()[:12]
                seen[digest] += 1
                timestamp, order_id, fees_left = (
                    order.minute, f"tos:{digest}:{seen[digest]}", Decimal(0)
                )
            for i, leg in enumerate(order.legs):
                if i == len(order.legs) - 1:
                    fees = fees_left
                else:
                    fees = (line.fees * leg.quantity / total_qty) if line else Decimal(0)
                    fees_left -= fees
                raw = dict(leg.raw)
                raw["cash_line"] = str(line.row) if line else "none"
                yield Execution(
                    account=self.settings.account,
                    instrument=leg.instrument,
                    timestamp=timestamp,
                    side=leg.side,
                    quantity=leg.quantity,
                    price=leg.price,
                    fees=fees,
                    broker=self.broker,
                    order_id=order_id,
                    row=leg.row,
                    raw=raw,
                )


def _expiry(text: str) -> date:
    m = _EXP.match(text.strip().upper())
    if m is None or m.group(2) not in MONTHS:
        raise RowError("Exp", f"Exp: {text!r} is not an expiry date (like '17 FEB 23')")
    year = int(m.group(3))
    try:
        return date(year + 2000 if year < 100 else year, MONTHS[m.group(2)], int(m.group(1)))
    except ValueError:
        raise RowError("Exp", f"Exp: {text!r} is not a date") from None
