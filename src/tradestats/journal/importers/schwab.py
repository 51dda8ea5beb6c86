"""Charles Schwab transactions CSV (Accounts > History > Export).

Columns ``Date, Action, Symbol, Description, Quantity, Price, Fees & Comm, Amount`` in
any order. Three layouts are read the same way: the current export (plain header), the
older fully quoted one with a title line (``"Transactions for account ... as of ..."``)
above the header and a ``"Transactions Total"`` line at the end, and trailing commas.
Amounts carry ``$``, thousands commas and a leading ``-`` or parentheses for negatives.

- Trades: ``Buy``, ``Sell``, ``Sell Short``, ``Buy to Cover``, ``Buy/Sell to
  Open/Close`` and ``Reinvest Shares`` (a purchase with dividend cash: it opens a lot
  at the row's price). Quantity is unsigned; the action gives the side. ``Fees & Comm``
  is a positive cost.
- Options: symbols ``AAPL 01/19/2024 150.00 C`` (multiplier 100). ``Assigned`` closes
  a short option (buy at 0), ``Exchange or Exercise`` a long one (sell at 0);
  ``Expired`` says neither, so it closes whatever position the file holds in the
  contract at that date (at 0) and is rejected when the file holds none (see
  `chronology`). The stock delivered or taken by an assignment/exercise is its own
  ``Buy``/``Sell`` row at the strike, imported as a trade. Bonds and CDs (CUSIP
  symbols) have no asset class here: their trades are rejected with that reason.
- Splits adjust the open lots (`CorporateAction`; their rows are counted in `skipped` as
  ``split``). ``Stock Split`` is one row on the ticker whose Quantity is the shares
  added (AVGO 10-for-1 on 1 share: 9); the ratio is worked out from the position held
  at the split. ``Reverse Split`` is a pair on one day: the new shares received on the
  ticker (positive Quantity) and the old shares removed under their CUSIP (negative);
  the ratio is received / removed. A lone half of a pair is rejected (no ratio). A
  split is dated by its posting day, not its "as of" day: Schwab posts it on the
  ex-date, from which trades are in post-split shares.
- Everything else (dividends, interest, fees, taxes, journals and transfers, other
  corporate actions, the title and total lines) is counted in `skipped` by kind; an
  unknown action with a quantity is rejected, one without is counted under its name.
- Dates are days (``"04/17/2023 as of 04/15/2023"`` uses the "as of" day), taken as
  midnight in the preset's time zone (America/New_York). Rows are emitted oldest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    MissingColumnError,
    ParseTally,
    TableSample,
    normalize_header,
)
from tradestats.journal.importers.chronology import (
    Entry,
    OpenRemoval,
    listed_newest_first,
    resolve_removals,
    time_ordered,
)
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    midnight,
    parse_date,
    parse_decimal,
    parse_optional_decimal,
    parse_right,
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

_COLUMNS = ("Date", "Action", "Symbol", "Description", "Quantity", "Price", "Fees & Comm",
            "Amount")
_SIGNATURE = frozenset(normalize_header(c) for c in _COLUMNS)

_TRADES = {
    "buy": Side.BUY, "buy to open": Side.BUY, "buy to close": Side.BUY,
    "buy to cover": Side.BUY, "reinvest shares": Side.BUY,
    "sell": Side.SELL, "sell short": Side.SELL, "sell to open": Side.SELL,
    "sell to close": Side.SELL,
}
_ASSIGNED = "assigned"
_EXERCISED = "exchange or exercise"
_EXPIRED = "expired"

#: Non-trade actions by kind (lower case). Anything else: see `_other_kind`.
_KINDS: dict[str, tuple[str, ...]] = {
    "dividend": (
        "cash dividend", "qualified dividend", "non-qualified div", "reinvest dividend",
        "qual div reinvest", "pr yr div reinvest", "pr yr cash div", "pr yr non-qual div",
        "pr yr special div", "special dividend", "special qual div", "special non qual div",
        "non-qualified div adj", "div adjustment", "rev pr yr cash div",
        "long term cap gain", "long term cap gain reinvest", "short term cap gain",
        "short term cap gain reinvest", "cap gain reinvest", "return of capital",
    ),
    "interest": ("bank interest", "credit interest", "bond interest", "margin interest",
                 "interest adj"),
    "fee": ("advisor fee", "adr mgmt fee", "service fee", "wire fee", "misc cash entry"),
    "tax": ("foreign tax paid", "nra withholding", "nra tax adj", "backup withholding"),
    "transfer": (
        "journal", "journaled shares", "moneylink transfer", "moneylink deposit",
        "wire sent", "wire received", "wire funds", "wire funds received",
        "internal transfer", "security transfer", "funds received", "funds paid",
        "promotional award", "bank transfer",
    ),
    "split": ("stock split", "reverse split"),
    "stock_dividend": ("stock div dist", "stock dividend"),
    "cash_in_lieu": ("cash in lieu",),
    "merger": ("stock merger", "cash merger", "merger"),
    "name_change": ("name change",),
    "conversion": ("conversion",),
    "spin_off": ("spin-off", "spin off", "spinoff"),
}
_KIND_OF = {action: kind for kind, actions in _KINDS.items() for action in actions}

_OPTION = re.compile(
    r"^(?P<underlying>\S+)\s+(?P<expiry>\d{2}/\d{2}/\d{4})\s+(?P<strike>\d+(?:\.\d+)?)"
    r"\s+(?P<right>[CP])$"
)
_CUSIP = re.compile(r"^\d{3}[0-9A-Z]{5}\d$")
_AS_OF = re.compile(r"\bas of\s+(\S+)\s*$", re.IGNORECASE)
_TOTAL = "transactions total"
#: Rows allowed above the header (the older export's "Transactions for account" line).
_TITLE_ROWS = 1


def _slug(text: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) or "unknown"


def is_schwab_header(row: list[str]) -> bool:
    return _SIGNATURE <= {normalize_header(c) for c in row}


class SchwabImporter(BrokerImporter):
    name = "schwab"
    label = "Charles Schwab transactions CSV"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml":
            return 0.0
        # The header is the first row, or the second under a title line.
        for row in sample.rows[:_TITLE_ROWS + 1]:
            if is_schwab_header(row):
                return 0.9
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        tz = zone(settings.zone_name(self.default_timezone))
        rows = source.rows()
        index: HeaderIndex | None = None
        looked_at: list[str] = []
        for number, cells in rows:
            looked_at = cells
            if is_schwab_header(cells):
                index = HeaderIndex(cells, self.name)
                break
            tally.rows_read += 1
            tally.skip("title", number)
            if tally.rows_read > _TITLE_ROWS:
                break
        if index is None:
            found = {normalize_header(c) for c in looked_at}
            column = next(c for c in _COLUMNS if normalize_header(c) not in found)
            raise MissingColumnError(column, looked_at, self.name)
        cols = {name: index.require(name) for name in _COLUMNS}

        entries: list[Entry] = []
        days: list[date] = []
        reverse: dict[str, list[_ReverseHalf]] = {}  # Reverse Split rows by posting day
        for number, cells in rows:
            tally.rows_read += 1
            action = cell(cells, cols["Action"])
            when = cell(cells, cols["Date"])
            if when.lower() == _TOTAL or (not action and when.lower().endswith("total")):
                tally.skip("total", number)
                continue
            key = " ".join(action.lower().split())
            side = _TRADES.get(key)
            removal = key in (_ASSIGNED, _EXERCISED, _EXPIRED)
            if side is None and not removal:
                kind = _KIND_OF.get(key)
                if kind is None and not is_blank(cell(cells, cols["Quantity"])):
                    yield Rejection(
                        number, "Action",
                        f"Action: unknown action {action!r} with a quantity; not imported",
                        index.raw(cells),
                    )
                    continue
                if kind == "split":
                    try:
                        self._split(number, cells, cols, index, settings, tz, key,
                                    tally, reverse)
                    except RowError as err:
                        yield rejection(number, err, index.raw(cells))
                    continue
                tally.skip(kind or _slug(action), number)
                continue
            raw = index.raw(cells)
            try:
                day = _day(when)
                instrument = _instrument(cell(cells, cols["Symbol"]), settings)
                if removal and instrument.asset_class is not AssetClass.OPTION:
                    if key == _EXERCISED:  # an exchange of securities, not an option
                        tally.skip("exchange", number)
                        continue
                    raise RowError("Symbol", f"Symbol: {action} of a non-option "
                                   f"{instrument.symbol!r}")
                entry = self._entry(number, cells, cols, raw, settings, tz, key, side,
                                    day, instrument)
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            entries.append(entry)
            days.append(day)
        yield from self._reverse_splits(reverse, settings, tally)
        newest_first = listed_newest_first(days)
        yield from resolve_removals(time_ordered(entries, newest_first))

    def _split(
        self,
        number: int,
        cells: list[str],
        cols: dict[str, int],
        index: HeaderIndex,
        settings: ImportSettings,
        tz: tzinfo,
        key: str,
        tally: ParseTally,
        reverse: dict[str, list[_ReverseHalf]],
    ) -> None:
        """A ``Stock Split`` row becomes a split by quantity change; a ``Reverse Split``
        row waits for the other half of its pair (see `_reverse_splits`)."""
        when = cell(cells, cols["Date"])
        posted = parse_date(when.split()[0] if when.strip() else when, "Date")
        quantity = parse_decimal(cell(cells, cols["Quantity"]), "Quantity")
        if quantity == 0:
            raise RowError("Quantity", "Quantity: a split of zero shares")
        symbol = " ".join(cell(cells, cols["Symbol"]).split())
        raw = index.raw(cells)
        if key == "reverse split":
            reverse.setdefault(posted.isoformat(), []).append(
                _ReverseHalf(number, symbol, quantity, midnight(posted, tz), raw)
            )
            return
        instrument = _instrument(symbol, settings)
        if instrument.asset_class is not AssetClass.STOCK:
            raise RowError("Symbol", f"Symbol: a split of {symbol!r}, not a stock")
        tally.corporate_actions.append(
            CorporateAction(
                account=settings.account, instrument=instrument,
                timestamp=midnight(posted, tz), quantity_delta=quantity, broker=self.name,
                row=number, description=cell(cells, cols["Description"]), raw=raw,
            )
        )
        tally.skip("split", number)

    def _reverse_splits(
        self,
        reverse: dict[str, list[_ReverseHalf]],
        settings: ImportSettings,
        tally: ParseTally,
    ) -> Iterator[Rejection]:
        """Pair each day's Reverse Split rows: received (ticker, +) and removed (-)."""
        for halves in reverse.values():
            received = [h for h in halves if h.quantity > 0 and not _CUSIP.match(h.symbol)]
            removed = [h for h in halves if h.quantity < 0]
            paired = min(len(received), len(removed))
            for new, old in zip(received, removed, strict=False):
                try:
                    instrument = _instrument(new.symbol, settings)
                except RowError as err:
                    yield rejection(new.row, err, new.raw)
                    yield Rejection(old.row, "Symbol", "Symbol: the received half of this "
                                    f"reverse split (row {new.row}) was rejected", old.raw)
                    continue
                tally.corporate_actions.append(
                    CorporateAction(
                        account=settings.account, instrument=instrument,
                        timestamp=new.timestamp, new_units=new.quantity,
                        old_units=-old.quantity, broker=self.name, row=new.row,
                        description=f"Reverse Split {new.quantity} for {-old.quantity}",
                        raw=new.raw,
                    )
                )
                tally.skip("split", new.row)
                tally.skip("split", old.row)
            for half in received[paired:] + removed[paired:]:
                yield Rejection(
                    half.row, "Quantity",
                    "Quantity: a Reverse Split row without its other half on the same day "
                    "(shares received on the ticker, removed under the CUSIP): no ratio",
                    half.raw,
                )
            for half in halves:
                if half not in received and half not in removed:
                    yield Rejection(half.row, "Quantity", "Quantity: a Reverse Split row "
                                    "receiving shares under a CUSIP: no ticker to split",
                                    half.raw)

    def _entry(
        self,
        number: int,
        cells: list[str],
        cols: dict[str, int],
        raw: dict[str, str],
        settings: ImportSettings,
        tz: tzinfo,
        key: str,
        side: Side | None,
        day: date,
        instrument: Instrument,
    ) -> Entry:
        quantity = parse_decimal(cell(cells, cols["Quantity"]), "Quantity")
        if side is None:
            quantity = abs(quantity)  # removals: Schwab signs them either way
        elif quantity <= 0:
            raise RowError("Quantity", f"Quantity: {quantity} is not positive")
        if quantity == 0:
            raise RowError("Quantity", "Quantity: quantity is zero")
        fees = parse_optional_decimal(cell(cells, cols["Fees & Comm"]), "Fees & Comm")
        if side is None:
            price = Decimal(0)  # the option is removed; the stock leg is its own row
        else:
            price = parse_decimal(cell(cells, cols["Price"]), "Price")
            if price < 0:
                raise RowError("Price", f"Price: negative price {price}")
        execution = Execution(
            account=settings.account,
            instrument=instrument,
            timestamp=midnight(day, tz),
            side=side or (Side.BUY if key == _ASSIGNED else Side.SELL),
            quantity=quantity,
            price=price,
            fees=fees or Decimal(0),
            broker=self.name,
            row=number,
            raw=raw,
        )
        if key == _EXPIRED:
            return OpenRemoval(execution, "Action")
        return execution


@dataclass(frozen=True, slots=True)
class _ReverseHalf:
    row: int
    symbol: str
    quantity: Decimal
    timestamp: datetime
    raw: dict[str, str]


def _day(text: str) -> date:
    """The trade day of a Date cell: ``04/17/2023`` or ``04/17/2023 as of 04/15/2023``
    (the "as of" day)."""
    m = _AS_OF.search(text)
    return parse_date(m.group(1) if m else text, "Date")


def _instrument(symbol: str, settings: ImportSettings) -> Instrument:
    text = " ".join(symbol.split())
    m = _OPTION.match(text)
    if m is not None:
        return make_instrument(
            AssetClass.OPTION, text, underlying=m.group("underlying"),
            expiry=parse_date(m.group("expiry"), "Symbol"),
            strike=parse_decimal(m.group("strike"), "Symbol"),
            right=parse_right(m.group("right"), "Symbol"),
            multiplier=Decimal(100), symbol_column="Symbol",
        )
    if _CUSIP.match(text):
        raise RowError("Symbol", f"Symbol: {text} is a bond/CD (CUSIP); bond trades are "
                       "not supported (no bond asset class)")
    if text.startswith("/"):
        return make_instrument(AssetClass.FUTURE, text, overrides=settings.multipliers,
                               symbol_column="Symbol")
    if " " in text:
        raise RowError("Symbol", f"Symbol: {symbol!r} is neither a ticker nor an option")
    return make_instrument(AssetClass.STOCK, text, symbol_column="Symbol")
