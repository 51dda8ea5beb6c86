"""Bybit derivatives (USDT/USDC perpetual and futures) trade history CSV.

Bybit (Orders > Derivatives Order > Trade History > Export; Unified Trading Account or
the older contract account) writes one row per fill. Column names vary between account
types and years, so each role accepts the names Bybit has used:

==========  =====================================================================
contract    Contracts, Contract
direction   Direction, Side (Buy/Sell, or Open Long/Close Short/...)
quantity    Filled Qty, Exec Qty, Quantity, Qty
price       Filled Price, Exec Price, Trade Price
fee         Fee Paid, Fees Paid, Trading Fee, Fees, Exec Fee (may carry its coin)
type        Trade Type, Exec Type, Type (optional)
time        Trade Time(UTC), Transaction Time(UTC), Filled Time(UTC), Time(UTC), Time
ids         Order ID / Order No.; Trade ID / Exec ID / Transaction ID (optional)
coin        Fee Currency, Fee Coin, Currency (optional)
==========  =====================================================================

- Fills (type Trade, and liquidation, ADL, delivery and block-trade fills) are
  executions; ``Funding`` rows are counted in `skipped` as ``funding``, transfers as
  ``transfer``. A ``Closed P&L`` column, when present, stays in `raw`.
- Linear contracts only: ``BTCUSDT`` (USDT perp), ``BTCPERP`` (USDC perp),
  ``BTCUSDT-27DEC24`` / ``BTC-27DEC24`` (dated futures, multiplier 1). Inverse contracts
  (``BTCUSD``, ``BTCUSDH25``) are rejected: their P&L is not linear in price.
- ``Fee Paid`` is a positive cost (a maker rebate is negative). A fee in another coin
  than the contract's settlement asset is rejected, never summed.
- Bybit's "Closed P&L" export has no fills (one row per closed position with average
  entry and exit prices); it is recognised and refused with a message naming the Trade
  History export instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date
from decimal import Decimal

from tradestats.journal.importers.base import (
    BrokerImporter,
    ImportFormatError,
    ImportSettings,
    ParseTally,
    TableSample,
)
from tradestats.journal.importers.binance import (
    check_fee_coin,
    parse_exchange_time,
    split_amount_coin,
)
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    parse_decimal,
    zone,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

_ROLES: dict[str, tuple[str, ...]] = {
    "contract": ("Contracts", "Contract"),
    "direction": ("Direction", "Side", "Order Direction"),
    "quantity": ("Filled Qty", "Exec Qty", "Filled Quantity", "Quantity", "Qty"),
    "price": ("Filled Price", "Exec Price", "Trade Price"),
    "fee": ("Fee Paid", "Fees Paid", "Trading Fee", "Fees", "Exec Fee"),
    "time": ("Trade Time(UTC)", "Transaction Time(UTC)", "Filled Time(UTC)", "Time(UTC)",
             "Trade Time", "Transaction Time", "Time"),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "type": ("Trade Type", "Exec Type", "Type"),
    "order_id": ("Order ID", "Order No.", "Order No"),
    "trade_id": ("Trade ID", "Exec ID", "Transaction ID"),
    "coin": ("Fee Currency", "Fee Coin", "Currency"),
}
_CLOSED_PNL = ("Contracts", "Entry Price", "Exit Price", "Closed P&L")
_DIRECTIONS = {
    "buy": Side.BUY, "sell": Side.SELL,
    "open long": Side.BUY, "close short": Side.BUY,
    "open short": Side.SELL, "close long": Side.SELL,
}
_FILL_TYPES = frozenset({"trade", "busttrade", "liquidation", "adltrade", "adl", "delivery",
                         "settle", "settlement", "blocktrade", "moveposition"})
_SKIP_TYPES = {"funding": "funding", "fundingfee": "funding", "transferin": "transfer",
               "transferout": "transfer", "transfer": "transfer"}
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                        "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_USDT_PERP = re.compile(r"^(?P<base>[A-Z0-9]+?)USDT$")
_USDC_PERP = re.compile(r"^(?P<base>[A-Z0-9]+?)(?:-?PERP|USDC)$")
_DATED = re.compile(
    r"^(?P<base>[A-Z0-9]+?)(?P<usdt>USDT)?-(?P<day>\d{1,2})(?P<mon>[A-Z]{3})(?P<yy>\d{2})$")
_INVERSE = re.compile(r"^[A-Z0-9]+USD(?:[FGHJKMNQUVXZ]\d{2})?$")


class BybitImporter(BrokerImporter):
    name = "bybit"
    label = "Bybit derivatives trade history CSV"
    default_timezone = "UTC"

    def detect(self, sample: TableSample) -> float:
        if sample.kind == "xml" or not sample.header:
            return 0.0
        index = HeaderIndex(sample.header, self.name)
        if all(index.find(*aliases) is not None for aliases in _ROLES.values()):
            return 0.95
        if index.has_all(_CLOSED_PNL):
            return 0.9  # recognised so that the user is told what to export instead
        return 0.0

    def iter_parse(
        self, source: SourceFile, settings: ImportSettings, tally: ParseTally
    ) -> Iterator[Execution | Rejection]:
        header, rows = source.header_and_rows()
        index = HeaderIndex(header, self.name)
        if index.has_all(_CLOSED_PNL) and index.find(*_ROLES["price"]) is None:
            raise ImportFormatError(
                "bybit: this is Bybit's Closed P&L export, one row per closed position "
                "without its fills; export Orders > Derivatives Order > Trade History "
                "instead"
            )
        cols = {role: index.require(aliases[0], *aliases[1:])
                for role, aliases in _ROLES.items()}
        opt = {role: index.find(*aliases) for role, aliases in _OPTIONAL.items()}
        names = {role: header[pos] for role, pos in cols.items()}
        time_name = names["time"]
        tz = UTC if "utc" in time_name.lower() else zone(
            settings.zone_name(self.default_timezone))
        instruments: dict[str, Instrument] = {}
        for number, cells in rows:
            tally.rows_read += 1
            raw = index.raw(cells)
            kind = "".join(ch for ch in cell(cells, opt["type"]).lower() if ch.isalnum())
            if kind in _SKIP_TYPES:
                tally.skip(_SKIP_TYPES[kind], number)
                continue
            try:
                if kind and kind not in _FILL_TYPES:
                    column = header[opt["type"]] if opt["type"] is not None else "type"
                    raise RowError(column, f"{column}: unknown type {kind!r}")
                timestamp = parse_exchange_time(cell(cells, cols["time"]), time_name, tz)
                symbol = cell(cells, cols["contract"]).upper()
                instrument = instruments.get(symbol)
                if instrument is None:
                    instrument = linear_instrument(symbol, names["contract"])
                    instruments[symbol] = instrument
                direction = cell(cells, cols["direction"])
                side = _DIRECTIONS.get(" ".join(direction.lower().split()))
                if side is None:
                    raise RowError(names["direction"],
                                   f"{names['direction']}: unknown direction {direction!r}")
                price = parse_decimal(cell(cells, cols["price"]), names["price"])
                if price <= 0:
                    raise RowError(names["price"], f"{names['price']}: {price} is not positive")
                # Older exports sign the quantity of sells; the side comes from Direction.
                quantity = abs(parse_decimal(cell(cells, cols["quantity"]), names["quantity"]))
                if quantity == 0:
                    raise RowError(names["quantity"], f"{names['quantity']}: quantity is zero")
                fee_text = cell(cells, cols["fee"])
                if is_blank(fee_text):
                    raise RowError(names["fee"], f"{names['fee']}: empty")
                fee, coin = split_amount_coin(fee_text, names["fee"])
                fee_column = names["fee"]
                if coin is None and opt["coin"] is not None:
                    coin = cell(cells, opt["coin"]).upper() or None
                    fee_column = header[opt["coin"]]
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
                broker_execution_id=cell(cells, opt["trade_id"]) or None,
                order_id=cell(cells, opt["order_id"]) or None,
                row=number,
                raw=raw,
            )


def linear_instrument(symbol: str, column: str) -> Instrument:
    """The instrument of a Bybit linear contract symbol."""
    if m := _USDT_PERP.match(symbol):
        return Instrument(symbol, AssetClass.CRYPTO_PERP, m.group("base"), currency="USDT")
    if m := _DATED.match(symbol):
        month = _MONTHS.get(m.group("mon"))
        try:
            if month is None:
                raise ValueError
            expiry = date(2000 + int(m.group("yy")), month, int(m.group("day")))
        except ValueError:
            raise RowError(column, f"{column}: {symbol!r} has no valid expiry") from None
        currency = "USDT" if m.group("usdt") else "USDC"
        return Instrument(symbol, AssetClass.FUTURE, m.group("base"), Decimal(1),
                          expiry=expiry, currency=currency)
    if m := _USDC_PERP.match(symbol):
        return Instrument(symbol, AssetClass.CRYPTO_PERP, m.group("base"), currency="USDC")
    if _INVERSE.match(symbol):
        raise RowError(
            column,
            f"{column}: {symbol} is an inverse contract: its P&L is in the coin and not "
            "linear in price; only linear (USDT/USDC) contracts are supported",
        )
    raise RowError(column, f"{column}: {symbol!r} is not a Bybit linear contract")
