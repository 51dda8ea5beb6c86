"""Fidelity account history CSV (Accounts & Trade > Activity & Orders > History,
download; "All accounts" or one account).

Header (found in the first rows; blank lines above it are ignored): ``Run Date``,
``Action``, ``Symbol``, ``Price``, ``Quantity``, ``Amount`` and, depending on the
export, ``Account``/``Account Number`` (all-accounts export), ``Description``, ``Type``,
``Commission``, ``Fees``, ``Accrued Interest``, ``Currency``, ``Exchange Rate``,
``Settlement Date``. Older exports suffix columns with ``($)``; both read the same.

- ``Action`` is a sentence: ``YOU BOUGHT ...``/``YOU SOLD ...`` (including ``OPENING``/
  ``CLOSING TRANSACTION`` for options) are trades, ``REINVESTMENT ...`` a purchase with
  dividend cash (it opens a lot at the row's price). Quantity is signed; the action
  gives the side. ``Commission`` and ``Fees`` are positive costs.
- Options: symbols ``-AAPL240119C150`` (multiplier 100). ``ASSIGNED`` closes a short
  option (buy at 0), ``EXERCISED`` a long one (sell at 0); ``EXPIRED`` closes whatever
  position the file holds in the contract at that date (at 0), and is rejected when the
  file holds none (see `chronology`). The shares delivered are their own ``YOU BOUGHT``/
  ``YOU SOLD`` row at the strike.
- Every execution keeps its account: ``Account Number`` (else ``Account``, else
  `ImportSettings.account` for single-account exports).
- Bonds (CUSIP symbols) have no asset class here: their trades are rejected with that
  reason. Dividends, interest, taxes, fees, transfers and deposits, redemptions,
  mergers, splits and the trailing "Date downloaded"/disclaimer lines are counted in
  `skipped` by kind; an unknown action with a quantity is rejected.
- ``Run Date`` is a day, taken as midnight in the preset's time zone
  (America/New_York); rows are emitted oldest first (the export is newest first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
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
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_SIGNATURE = frozenset(normalize_header(c) for c in ("Run Date", "Action", "Symbol",
                                                     "Quantity", "Price", "Amount"))
_REQUIRED = ("Run Date", "Action", "Symbol", "Quantity", "Price")
#: Rows looked at for the header (title or blank-ish lines may come first).
_HEADER_SEARCH = 5

_TRADE_PREFIXES = (
    ("YOU BOUGHT", Side.BUY), ("YOU SOLD", Side.SELL), ("BOUGHT", Side.BUY),
    ("SOLD", Side.SELL), ("REINVESTMENT", Side.BUY),
)
_ASSIGNED, _EXERCISED, _EXPIRED = "ASSIGNED", "EXERCISED", "EXPIRED"

#: Non-trade actions: the first keyword (a whole word or phrase) found among the first
#: words of the action decides the kind; the security name that follows is not looked at.
_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("IN LIEU", "cash_in_lieu"),
    ("SPLIT", "split"),
    ("MERGER", "merger"),
    ("SPIN-OFF", "spin_off"),
    ("SPINOFF", "spin_off"),
    ("EXCHANGED", "conversion"),
    ("CONVERSION", "conversion"),
    ("NAME CHANGE", "name_change"),
    ("REDEMPTION", "redemption"),
    ("DIVIDEND", "dividend"),
    ("CAP GAIN", "dividend"),
    ("RETURN OF CAPITAL", "dividend"),
    ("TAX", "tax"),
    ("WITHHOLDING", "tax"),
    ("INTEREST", "interest"),
    ("INT", "interest"),
    ("FEE", "fee"),
    ("FEES", "fee"),
    ("TRANSFER", "transfer"),
    ("TRANSFERRED", "transfer"),
    ("DEPOSIT", "transfer"),
    ("DEBIT", "transfer"),
    ("CHECK", "transfer"),
    ("JOURNALED", "transfer"),
    ("CONTRIBUTION", "transfer"),
    ("CONTR", "transfer"),
    ("DISTRIBUTION", "transfer"),
    ("WIRE", "transfer"),
)
_HEAD_WORDS = 3

_OPTION = re.compile(
    r"^-(?P<root>[A-Z0-9.]+?)(?P<yymmdd>\d{6})(?P<right>[CP])(?P<strike>\d+(?:\.\d+)?)$"
)
_CUSIP = re.compile(r"^\d{3}[0-9A-Z]{5}\d$")


def _kind(action: str) -> str | None:
    padded = f" {' '.join(action.split()[:_HEAD_WORDS])} "
    for word, kind in _KEYWORDS:
        if f" {word} " in padded:
            return kind
    return None


def _is_header(row: list[str]) -> bool:
    return _SIGNATURE <= {normalize_header(c) for c in row}


class FidelityImporter(BrokerImporter):
    name = "fidelity"
    label = "Fidelity account history CSV"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml":
            return 0.0
        return 0.9 if any(_is_header(row) for row in sample.rows[:_HEADER_SEARCH]) else 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        tz = zone(settings.zone_name(self.default_timezone))
        rows = source.rows()
        index: HeaderIndex | None = None
        looked_at: list[str] = []
        for number, cells in rows:
            looked_at = cells
            if _is_header(cells):
                index = HeaderIndex(cells, self.name)
                break
            tally.rows_read += 1
            tally.skip("title", number)
            if tally.rows_read >= _HEADER_SEARCH:
                break
        if index is None:
            found = {normalize_header(c) for c in looked_at}
            column = next((c for c in _REQUIRED if normalize_header(c) not in found), "Amount")
            raise MissingColumnError(column, looked_at, self.name)
        cols = {name: index.require(name) for name in _REQUIRED}
        account_col = index.find("Account Number", "Account")
        fee_cols = [p for p in (index.find("Commission"), index.find("Fees")) if p is not None]
        currency_col = index.find("Currency")

        entries: list[Entry] = []
        days: list[date] = []
        for number, cells in rows:
            tally.rows_read += 1
            when = cell(cells, cols["Run Date"])
            if sum(1 for c in cells if c) <= 1 and not when[:1].isdigit():
                tally.skip("footer", number)  # "Date downloaded ...", disclaimer text
                continue
            action = " ".join(cell(cells, cols["Action"]).upper().split())
            side = next((s for prefix, s in _TRADE_PREFIXES if action.startswith(prefix)),
                        None)
            removal = next((w for w in (_ASSIGNED, _EXERCISED, _EXPIRED)
                            if action.startswith(w)), None)
            raw = index.raw(cells)
            if side is None and removal is None:
                kind = _kind(action)
                qty_text = cell(cells, cols["Quantity"])
                if kind is None and not is_blank(qty_text) and not _is_zero(qty_text):
                    yield Rejection(
                        number, "Action",
                        f"Action: unknown action {action!r} with a quantity; not imported",
                        raw,
                    )
                    continue
                tally.skip(kind or "other", number)
                continue
            account = cell(cells, account_col) or settings.account
            try:
                day = parse_date(when, "Run Date")
                instrument = _instrument(cell(cells, cols["Symbol"]),
                                         cell(cells, currency_col) or "USD")
                if removal is not None and instrument.asset_class is not AssetClass.OPTION:
                    raise RowError("Symbol", f"Symbol: {removal.lower()} row for a "
                                   f"non-option {instrument.symbol!r}")
                quantity = abs(parse_decimal(cell(cells, cols["Quantity"]), "Quantity"))
                if quantity == 0:
                    raise RowError("Quantity", "Quantity: quantity is zero")
                fees = Decimal(0)
                for pos in fee_cols:
                    fees += parse_optional_decimal(cell(cells, pos), index.header[pos]) or 0
                if removal is None:
                    price = parse_decimal(cell(cells, cols["Price"]), "Price")
                    if price < 0:
                        raise RowError("Price", f"Price: negative price {price}")
                else:
                    price = Decimal(0)
            except RowError as err:
                yield rejection(number, err, raw)
                continue
            execution = Execution(
                account=account,
                instrument=instrument,
                timestamp=midnight(day, tz),
                side=side or (Side.BUY if removal == _ASSIGNED else Side.SELL),
                quantity=quantity,
                price=price,
                fees=fees,
                broker=self.name,
                row=number,
                raw=raw,
            )
            entries.append(OpenRemoval(execution, "Action") if removal == _EXPIRED
                           else execution)
            days.append(day)
        yield from resolve_removals(time_ordered(entries, listed_newest_first(days)))


def _is_zero(text: str) -> bool:
    try:
        return parse_decimal(text, "Quantity") == 0
    except RowError:
        return False


def _instrument(symbol: str, currency: str) -> Instrument:
    text = symbol.strip().upper()
    m = _OPTION.match(text)
    if m is not None:
        yymmdd = m.group("yymmdd")
        try:
            expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
        except ValueError:
            raise RowError("Symbol", f"Symbol: {symbol!r} has no valid expiry") from None
        return make_instrument(
            AssetClass.OPTION, text, underlying=m.group("root"), expiry=expiry,
            strike=parse_decimal(m.group("strike"), "Symbol"),
            right=parse_right(m.group("right"), "Symbol"), multiplier=Decimal(100),
            currency=currency, symbol_column="Symbol",
        )
    if _CUSIP.match(text):
        raise RowError("Symbol", f"Symbol: {text} is a bond/CD (CUSIP); bond trades are "
                       "not supported (no bond asset class)")
    if not text or " " in text:
        raise RowError("Symbol", f"Symbol: {symbol!r} is not a ticker")
    return make_instrument(AssetClass.STOCK, text, currency=currency, symbol_column="Symbol")
