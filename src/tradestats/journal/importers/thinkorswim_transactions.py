"""TD Ameritrade web transactions.csv (My Account → History & Statements → Transactions →
Download), read by the thinkorswim preset.

Columns: ``DATE, TRANSACTION ID, DESCRIPTION, QUANTITY, SYMBOL, PRICE, COMMISSION,
AMOUNT, REG FEE, SHORT-TERM RDM FEE, FUND REDEMPTION FEE, DEFERRED SALES CHARGE``, then a
``***END OF FILE***`` line.

- ``Bought``/``Sold`` rows are executions, fees = commission + every fee column. The file
  gives the day only: executions are dated at midnight New York and same-day fills keep
  the file's order.
- ``REMOVAL OF OPTION DUE TO EXPIRATION`` closes the file's position in the option at 0
  (the position after the whole file when the row comes first, as in newest-first
  exports; rejected when the file holds none); ``... ASSIGNMENT`` buys back a short at 0,
  ``... EXERCISE`` sells a long at 0. The delivered stock is the broker's own
  ``Bought``/``Sold`` row.
- Dividends, interest, fees, transfers, splits, sweeps and the rest are counted in
  `skipped` by kind (``transaction_kind``), the end marker as ``end_of_file``.
- Option symbols read ``SPY Jan 15 2021 370.0 Put`` or OCC; other symbols are stocks.
- ``TRANSACTION ID`` is the execution id when it is all digits: masked exports
  (``35XXXXXXXXX``) repeat one value for many rows, so such ids are not used.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import ImportSettings, ParseTally
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.tabular import HeaderIndex, cell, rejection
from tradestats.journal.importers.values import (
    RowError,
    parse_decimal,
    parse_occ_symbol,
    parse_optional_decimal,
    parse_right,
    parse_side,
    parse_timestamp,
)
from tradestats.journal.model import AssetClass, Execution, Instrument, Rejection, Side

TRANSACTION_COLUMNS = ("DATE", "TRANSACTION ID", "DESCRIPTION", "QUANTITY", "SYMBOL",
                       "PRICE", "COMMISSION", "AMOUNT")
_TX_FEES = ("COMMISSION", "REG FEE", "SHORT-TERM RDM FEE", "FUND REDEMPTION FEE",
            "DEFERRED SALES CHARGE")
MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_TX_TRADE = re.compile(r"^(Bought|Sold)\b", re.IGNORECASE)
_TX_OPTION = re.compile(
    r"^(?P<root>\S+)\s+(?P<mon>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+(?P<year>\d{4})\s+"
    r"(?P<strike>\d+(?:\.\d+)?)\s+(?P<right>Call|Put)$",
    re.IGNORECASE,
)
_TX_KINDS = (
    ("REMOVAL OF OPTION", "option_removal"),
    ("DIVIDEND", "dividend"),
    ("INTEREST", "interest"),
    ("FEE", "fee"),
    ("FUNDING", "transfer"),
    ("TRANSFER", "transfer"),
    ("JOURNAL", "transfer"),
    ("DISBURSEMENT", "transfer"),
    ("SPLIT", "split"),
    ("MONEY MARKET", "sweep"),
    ("SWEEP", "sweep"),
    ("WITHHOLDING", "tax"),
    ("TAX", "tax"),
)


def _tx_instrument(symbol: str) -> Instrument:
    m = _TX_OPTION.match(symbol.strip())
    if m is not None:
        month = MONTHS.get(m.group("mon").upper())
        if month is None:
            raise RowError("SYMBOL", f"SYMBOL: {symbol!r}: unknown month")
        try:
            expiry = date(int(m.group("year")), month, int(m.group("day")))
        except ValueError:
            raise RowError("SYMBOL", f"SYMBOL: {symbol!r}: bad expiry date") from None
        root = m.group("root").upper()
        return make_instrument(
            AssetClass.OPTION, root, underlying=root, expiry=expiry,
            strike=Decimal(m.group("strike")), right=parse_right(m.group("right"), "SYMBOL"),
            symbol_column="SYMBOL",
        )
    if parse_occ_symbol(symbol):
        return make_instrument(AssetClass.OPTION, symbol, symbol_column="SYMBOL")
    return make_instrument(AssetClass.STOCK, symbol.upper(), symbol_column="SYMBOL")


def _transaction_id(text: str) -> str | None:
    """TD's transaction ids are digits; masked exports (``35XXXXXXXXX``) repeat one
    value for many rows, so such an id identifies nothing and is not used."""
    return text if text.isdigit() else None


def transaction_kind(description: str) -> str:
    """The `skipped` kind of a non-trade row, from its description (``QUALIFIED
    DIVIDEND (BP)`` -> ``dividend``); ``other`` when nothing matches."""
    upper = description.upper()
    for needle, kind in _TX_KINDS:
        if needle in upper:
            return kind
    return "other"


def parse_transactions(
    broker: str,
    header: list[str],
    rows: Iterator[tuple[int, list[str]]],
    settings: ImportSettings,
    tz: tzinfo,
    tally: ParseTally,
) -> Iterator[Execution | Rejection]:
    """Executions and rejections of a transactions.csv whose header row is `header`."""
    index = HeaderIndex(header, broker)
    cols = {name: index.require(name) for name in TRANSACTION_COLUMNS}
    fee_cols = [(n, p) for n in _TX_FEES if (p := index.find(n)) is not None]
    positions: dict[str, Decimal] = defaultdict(Decimal)
    pending: list[Execution] = []  # expirations read before the position they close
    for number, cells in rows:
        tally.rows_read += 1
        description = cell(cells, cols["DESCRIPTION"])
        if cell(cells, cols["DATE"]).startswith("***"):
            tally.skip("end_of_file", number)
            continue
        trade = _TX_TRADE.match(description)
        kind = transaction_kind(description)
        if trade is None and kind != "option_removal":
            tally.skip(kind, number)
            continue
        raw = index.raw(cells)
        try:
            timestamp = parse_timestamp(cell(cells, cols["DATE"]), "DATE", tz)
            quantity = abs(parse_decimal(cell(cells, cols["QUANTITY"]), "QUANTITY"))
            if quantity == 0:
                raise RowError("QUANTITY", "QUANTITY: zero")
            instrument = _tx_instrument(cell(cells, cols["SYMBOL"]))
            if trade is not None:
                side = parse_side(trade.group(1), "DESCRIPTION")
                price = parse_decimal(cell(cells, cols["PRICE"]), "PRICE")
                fees = Decimal(0)
                for name, pos in fee_cols:
                    fees += parse_optional_decimal(cell(cells, pos), name) or 0
            else:
                price, fees = Decimal(0), Decimal(0)
                if instrument.asset_class is not AssetClass.OPTION:
                    raise RowError("SYMBOL", "SYMBOL: option removal of a non-option")
                upper = description.upper()
                held = positions[instrument.key]
                if "ASSIGNMENT" in upper:
                    side = Side.BUY  # only a short option is assigned
                elif "EXERCISE" in upper:
                    side = Side.SELL  # only a long option is exercised
                elif held != 0:
                    side = Side.SELL if held > 0 else Side.BUY
                else:
                    side = None  # newest-first files: decided once the file is read
        except RowError as err:
            yield rejection(number, err, raw)
            continue
        execution = Execution(
            account=settings.account,
            instrument=instrument,
            timestamp=timestamp,
            side=side or Side.SELL,
            quantity=quantity,
            price=price,
            fees=fees,
            broker=broker,
            broker_execution_id=_transaction_id(cell(cells, cols["TRANSACTION ID"])),
            row=number,
            raw=raw,
        )
        if side is None:
            pending.append(execution)
            continue
        positions[instrument.key] += execution.signed_quantity
        yield execution
    for execution in pending:
        held = positions[execution.instrument.key]
        if held == 0:
            assert execution.row is not None
            yield Rejection(
                execution.row, "DESCRIPTION",
                "DESCRIPTION: expiration of an option with no open position in the file; "
                "cannot tell whether it closed a long or a short",
                execution.raw,
            )
            continue
        side = Side.SELL if held > 0 else Side.BUY
        closing = replace(execution, side=side)
        positions[execution.instrument.key] += closing.signed_quantity
        yield closing
