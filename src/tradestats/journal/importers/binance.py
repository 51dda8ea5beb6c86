"""Binance USDⓈ-M futures trade history CSV.

Binance (Futures > Orders > Trade History > Export, USDⓈ-M) has written two layouts:

- older: ``Date(UTC), Symbol, Side, Price, Quantity, Amount, Fee, [Fee Coin,]
  Realized Profit, [Quote Asset]``; times in UTC.
- newer: ``Uid, Time, Symbol, Side, Price, Quantity, Amount, Fee, Realized Profit,
  Buyer, Maker, Trade ID, Order ID``; ``Time`` as ``YY-MM-DD HH:MM:SS`` in the time zone
  chosen on Binance (the import's time zone, UTC by default) and ``Fee`` with its coin
  (``0.12693015 USDT``). An optional ``Position Side`` column (hedge mode) keeps the
  ``LONG`` and ``SHORT`` positions of one symbol apart.

Every row is one fill: ``Side`` BUY/SELL, ``Quantity`` in the base coin, ``Price`` in
the quote asset. Perpetuals (``BTCUSDT``) are crypto perps, dated contracts
(``BTCUSDT_240329``) futures with multiplier 1; both settle in the quote asset (the
``Quote Asset`` column, else the symbol's suffix). Coin-margined contracts
(``BTCUSD_PERP``) are rejected: their P&L is not linear in price.

``Fee`` is a positive cost. A fee in another coin than the quote asset (BNB fee
discount) cannot be added to quote-asset amounts without a rate the export does not
give, so such a row is rejected and named, never summed. The oldest layout has no fee
coin at all; its fees are read in the quote asset. ``Realized Profit`` (Binance's gross
realized P&L of the fill) stays in `raw` for reconciliation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportFormatError,
    ImportSettings,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    parse_decimal,
    parse_timestamp,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_REQUIRED = ("Symbol", "Side", "Price", "Quantity", "Fee", "Realized Profit")
_TIME_COLUMNS = ("Date(UTC)", "Time(UTC)", "Time", "Date")
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD")
_PERP = re.compile(rf"^(?P<base>[A-Z0-9]+?)(?P<quote>{'|'.join(_QUOTES)})$")
_DATED = re.compile(rf"^(?P<base>[A-Z0-9]+?)(?P<quote>{'|'.join(_QUOTES)})_(?P<yymmdd>\d{{6}})$")
_COIN_MARGINED = re.compile(r"^[A-Z0-9]+USD_(?:PERP|\d{6})$")
_SHORT_YEAR = re.compile(r"^(\d{2})-(\d{2})-(\d{2})([ T]\d{1,2}:\d{2}(?::\d{2})?)$")
_AMOUNT_AND_COIN = re.compile(
    r"^(?P<amount>[-+]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?)\s*(?P<coin>[A-Za-z]\w*)$")


def split_amount_coin(text: str, column: str) -> tuple[Decimal, str | None]:
    """``"0.12 USDT"`` / ``"0.12USDT"`` -> (0.12, ``"USDT"``); ``"0.12"`` -> (0.12, None)."""
    s = text.strip()
    m = _AMOUNT_AND_COIN.match(s)
    if m is not None:
        return parse_decimal(m.group("amount"), column), m.group("coin").upper()
    return parse_decimal(s, column), None


def check_fee_coin(fee: Decimal, coin: str | None, currency: str, column: str) -> None:
    """Reject a non-zero fee charged in another coin than the trade's currency."""
    if coin is not None and coin != currency and fee != 0:
        raise RowError(
            column,
            f"{column}: fee of {fee} {coin} is not in {currency}, the asset this trade "
            f"settles in; the export gives no {coin}/{currency} rate, so it cannot be "
            "added to the trade's P&L",
        )


def parse_exchange_time(text: str, column: str, tz: tzinfo) -> datetime:
    """ISO-like times, plus Binance's two-digit-year ``YY-MM-DD HH:MM:SS``."""
    m = _SHORT_YEAR.match(text.strip())
    if m is not None:
        return parse_timestamp(f"20{m.group(1)}-{m.group(2)}-{m.group(3)}{m.group(4)}",
                               column, tz)
    return parse_timestamp(text, column, tz)


class BinanceFuturesImporter(BrokerImporter):
    name = "binance_futures"
    label = "Binance USDⓈ-M futures trade history CSV"
    default_timezone = "UTC"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        if index.has_all(_REQUIRED) and index.find(*_TIME_COLUMNS) is not None:
            return 0.95
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        cols = {name: index.require(name) for name in _REQUIRED}
        time_col = index.find(*_TIME_COLUMNS)
        if time_col is None:
            raise ImportFormatError(
                f"{self.name}: no time column (one of {', '.join(_TIME_COLUMNS)})")
        time_name = header[time_col]
        # A "(UTC)" column is UTC whatever the setting; a bare "Time" is in the zone the
        # user picked on Binance, which the import's time zone must name.
        tz = UTC if "utc" in time_name.lower() else zone(
            settings.zone_name(self.default_timezone))
        fee_coin_col = index.find("Fee Coin", "Fee Asset")
        quote_col = index.find("Quote Asset")
        position_col = index.find("Position Side")
        trade_id_col = index.find("Trade ID")
        order_id_col = index.find("Order ID")
        instruments: dict[tuple[str, str, str], Instrument] = {}
        for number, cells in rows:
            tally.rows_read += 1
            raw = index.raw(cells)
            try:
                timestamp = parse_exchange_time(cell(cells, time_col), time_name, tz)
                symbol = cell(cells, cols["Symbol"]).upper()
                quote = cell(cells, quote_col).upper()
                position = cell(cells, position_col).upper()
                if position not in ("", "BOTH", "LONG", "SHORT"):
                    raise RowError("Position Side",
                                   f"Position Side: unknown value {position!r}")
                key = (symbol, quote, position)
                instrument = instruments.get(key)
                if instrument is None:
                    instrument = futures_instrument(symbol, quote, position, "Symbol")
                    instruments[key] = instrument
                side_text = cell(cells, cols["Side"])
                side = _SIDES.get(side_text.strip().lower())
                if side is None:
                    raise RowError("Side", f"Side: unknown side {side_text!r}")
                price = parse_decimal(cell(cells, cols["Price"]), "Price")
                if price <= 0:
                    raise RowError("Price", f"Price: {price} is not positive")
                quantity = parse_decimal(cell(cells, cols["Quantity"]), "Quantity")
                if quantity <= 0:
                    raise RowError("Quantity", f"Quantity: {quantity} is not positive")
                fee_text = cell(cells, cols["Fee"])
                if is_blank(fee_text):
                    raise RowError("Fee", "Fee: empty")
                fee, coin = split_amount_coin(fee_text, "Fee")
                fee_column = "Fee"
                if coin is None and fee_coin_col is not None:
                    coin = cell(cells, fee_coin_col).upper() or None
                    fee_column = header[fee_coin_col]
                check_fee_coin(fee, coin, instrument.currency, fee_column)
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
                fees=fee,
                broker=self.name,
                broker_execution_id=cell(cells, trade_id_col) or None,
                order_id=cell(cells, order_id_col) or None,
                row=number,
                raw=raw,
            )


def futures_instrument(symbol: str, quote: str, position: str, column: str) -> Instrument:
    """The instrument of a USDⓈ-M symbol; `position` LONG/SHORT names a hedge-mode leg."""
    if _COIN_MARGINED.match(symbol):
        raise RowError(
            column,
            f"{column}: {symbol} is coin-margined (inverse): its P&L is not linear in "
            "price; only USDⓈ-M contracts are supported",
        )
    suffix = f" {position}" if position in ("LONG", "SHORT") else ""
    if m := _PERP.match(symbol):
        currency = quote or m.group("quote")
        return Instrument(f"{symbol}{suffix}", AssetClass.CRYPTO_PERP, m.group("base"),
                          currency=currency)
    if m := _DATED.match(symbol):
        yymmdd = m.group("yymmdd")
        try:
            expiry = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
        except ValueError:
            raise RowError(column, f"{column}: {symbol!r} has no valid expiry") from None
        currency = quote or m.group("quote")
        return Instrument(f"{symbol}{suffix}", AssetClass.FUTURE, m.group("base"),
                          Decimal(1), expiry=expiry, currency=currency)
    raise RowError(column, f"{column}: {symbol!r} is not a USDⓈ-M futures symbol")
