"""MetaTrader 5 Trade History Report (XLSX).

MT5 terminal → Toolbox → History → right click → Report → Open XML (Excel). One sheet:
a report header (Name, Account ``... (USD, server, demo, Hedge)``, Company, Date), then
titled sections, each with its own header row: Positions, Orders, Deals, Working Orders,
then the account summary and Results.

- **Deals are the fills**: ``Time, Deal, Symbol, Type, Direction, Volume, Price, Order,
  Commission, Fee, Swap, Profit, Balance, Comment``. ``buy``/``sell`` deals (direction
  in, out, in/out, out by) are executions; the deal number is the execution id and the
  order number the order id. Deals of other types (balance, credit, charge, correction,
  bonus, commission, interest, dividend, tax...) are counted in `skipped` by type, the
  Deals total line as ``deals_total``.
- Positions, Orders and Working Orders rows restate those deals or are not fills:
  counted as ``position``, ``order``, ``working_order``; summary lines as ``summary``.
- Quantity is the volume in lots, the multiplier the contract size: 100,000 for a
  currency pair (``EURUSD``, ``EURAUD.m``), 100 for gold (``XAU...``, ``GOLD``), 5,000
  for silver (``XAG...``, ``SILVER``); `ImportSettings.multipliers` keyed by the
  symbol overrides it. The report does not state contract sizes, so any other symbol
  (index and stock CFDs) is rejected unless the setting names it. The instrument's
  currency is the pair's quote currency (``EURAUD`` → AUD); gold/silver named without
  a currency are quoted in USD.
- Fees are ``-(Commission + Fee + Swap)``: MT5 books costs as negative numbers and the
  overnight swap is a holding cost of the position, so net P&L matches the report's
  Net Profit. ``Profit`` (the broker's realized P&L, gross of those, converted to the
  account currency) stays in `raw`.
- Times are the trade server's clock (``2022.10.28 12:48:49``); it differs per broker
  (often UTC+2/UTC+3), so the default zone is UTC: set the import timezone to your
  broker's server zone.

Matching is by symbol (FIFO by default); on *hedging* accounts MT5 closes the ticket a
closing deal names instead, so per-deal P&L can differ from the broker's while totals
agree once flat.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportSettings,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    parse_decimal,
    parse_optional_decimal,
    parse_side,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection

_TITLE = "trade history report"
_SECTIONS = {"positions": "position", "orders": "order", "deals": "deal",
             "working orders": "working_order", "results": "summary"}
_DEAL_COLUMNS = ("Time", "Deal", "Symbol", "Type", "Direction", "Volume", "Price")
_CURRENCIES = frozenset(
    "USD EUR GBP JPY CHF AUD NZD CAD SEK NOK DKK PLN HUF CZK TRY ZAR MXN SGD HKD CNH "
    "RUB ILS THB XAU XAG".split()
)
_METALS = {"XAU": Decimal(100), "GOLD": Decimal(100), "XAG": Decimal(5000),
           "SILVER": Decimal(5000)}
_FOREX_LOT = Decimal(100000)
_SERVER_TIME = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})(.*)$")
_LETTERS = re.compile(r"[A-Za-z]+")


def _is_title(cells: list[str]) -> bool:
    return bool(cells[0]) and not any(cells[1:])


def contract(symbol: str, overrides: dict[str, Decimal]) -> tuple[AssetClass, Decimal, str]:
    """(asset class, contract size, quote currency) of an MT5 symbol."""
    key = symbol.strip().upper()
    letters_match = _LETTERS.match(key)
    letters = letters_match.group(0) if letters_match else ""
    base, quote = letters[:3], letters[3:6]
    is_pair = len(letters) >= 6 and base in _CURRENCIES and quote in _CURRENCIES
    if key in overrides:
        return AssetClass.FOREX, Decimal(overrides[key]), quote if is_pair else "USD"
    if is_pair:
        size = _METALS.get(base, _FOREX_LOT)
        return AssetClass.FOREX, size, quote
    if letters in _METALS:
        return AssetClass.FOREX, _METALS[letters], "USD"
    raise RowError(
        "Symbol",
        f"Symbol: no contract size known for {symbol!r} (the report does not give it); "
        "add it to the multiplier table (settings)",
    )


class MetaTrader5Importer(BrokerImporter):
    name = "metatrader5"
    label = "MetaTrader 5 Trade History Report (XLSX)"
    default_timezone = "UTC"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        if sample.header[0].strip().lower() != _TITLE:
            return 0.0
        titles = {r[0].strip().lower() for r in sample.rows if r and _is_title(r)}
        return 0.95 if titles & {"positions", "deals"} else 0.6

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        tz = zone(settings.zone_name(self.default_timezone))
        overrides = {k.upper(): v for k, v in settings.multipliers.items()}
        instruments: dict[str, Instrument] = {}
        section: str | None = None
        index: HeaderIndex | None = None
        for number, cells in source.rows():
            lowered = cells[0].strip().lower() if cells else ""
            if section is None and lowered == _TITLE:
                continue  # the report's title line
            if cells and _is_title(cells) and lowered in _SECTIONS:
                section, index = _SECTIONS[lowered], None
                continue
            if section in ("position", "order", "deal", "working_order") and index is None:
                index = HeaderIndex(cells, self.name)
                if section == "deal":
                    for name in _DEAL_COLUMNS:
                        index.require(name)
                continue
            tally.rows_read += 1
            if section is None:
                tally.skip("report_header", number)
                continue
            if lowered.endswith(":") or section == "summary":
                tally.skip("summary", number)
                continue
            if section != "deal" or index is None:
                tally.skip(section, number)
                continue
            raw = index.raw(cells)
            deal_type = cell(cells, index.find("Type")).strip().lower()
            if deal_type not in ("buy", "sell"):
                if not deal_type and not cell(cells, index.find("Deal")):
                    tally.skip("deals_total", number)
                else:
                    tally.skip("_".join(deal_type.split()) or "unknown", number)
                continue
            try:
                yield self._deal(number, cells, index, raw, settings, tz, overrides,
                                 instruments)
            except RowError as err:
                yield rejection(number, err, raw)

    def _deal(
        self,
        number: int,
        cells: list[str],
        index: HeaderIndex,
        raw: dict[str, str],
        settings: ImportSettings,
        tz: tzinfo,
        overrides: dict[str, Decimal],
        instruments: dict[str, Instrument],
    ) -> Execution:
        text = cell(cells, index.find("Time"))
        m = _SERVER_TIME.match(text.strip())
        when = f"{m.group(1)}-{m.group(2)}-{m.group(3)}{m.group(4)}" if m else text
        timestamp = parse_timestamp(when, "Time", tz)
        side = parse_side(cell(cells, index.find("Type")), "Type")
        quantity = parse_decimal(cell(cells, index.find("Volume")), "Volume")
        if quantity <= 0:
            raise RowError("Volume", f"Volume: {quantity} is not positive")
        price = parse_decimal(cell(cells, index.find("Price")), "Price")
        if price <= 0:
            raise RowError("Price", f"Price: {price} is not positive")
        fees = Decimal(0)
        for name in ("Commission", "Fee", "Swap"):
            fees -= parse_optional_decimal(cell(cells, index.find(name)), name) or 0
        symbol = cell(cells, index.find("Symbol"))
        if not symbol:
            raise RowError("Symbol", "Symbol: empty")
        instrument = instruments.get(symbol)
        if instrument is None:
            asset_class, size, currency = contract(symbol, overrides)
            letters = _LETTERS.match(symbol.upper())
            code = letters.group(0) if letters else symbol.upper()
            if len(code) > 6 and code[:3] in _CURRENCIES and code[3:6] in _CURRENCIES:
                code = code[:6]  # "EURUSDM" (broker suffix) -> "EURUSD"
            instrument = Instrument(code, asset_class, code, size, currency=currency)
            instruments[symbol] = instrument
        deal = cell(cells, index.find("Deal"))
        return Execution(
            account=settings.account,
            instrument=instrument,
            timestamp=timestamp,
            side=side,
            quantity=quantity,
            price=price,
            fees=fees,
            broker=self.name,
            broker_execution_id=deal or None,
            order_id=cell(cells, index.find("Order")) or None,
            row=number,
            raw=raw,
        )
