"""Interactive Brokers corporate actions (Flex ``<CorporateAction>`` records): splits.

IBKR lists a split under ``type`` ``FS`` (forward) or ``RS`` (reverse), with the ratio
in the description (``AAPL(US0378331005) SPLIT 4 FOR 1 (AAPL, APPLE INC, ...)``, in
``actionDescription`` or ``description``) and ``quantity`` the signed change of the
position: a forward split is one row adding shares (+300 on 100 shares, 4 for 1); a
reverse split may be a pair, the old shares removed (negative) and the new ones received
(positive). Each split becomes one `CorporateAction` on the stock of the receiving row:

- the ratio of the description when it has one (``SPLIT new FOR old``);
- else, for a pair, received / removed quantities; for a single forward-split row, its
  quantity as the change of the position (the matcher derives the ratio);
- else the rows are rejected (no ratio to apply).

Rows of one split (same account, time, description ratio and symbol, ``XYZ.OLD`` counting
as ``XYZ``) are counted in `skipped`
as ``split``; a split of a non-stock (an option adjusted for its underlying's split) as
``split_non_stock``. Other corporate-action types are counted as
``corporate_action_<type>`` (``corporate_action_tc``...): they move no lot here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal

from tradestats.journal.importers.base import ImportSettings, ParseTally
from tradestats.journal.importers.instruments import make_instrument
from tradestats.journal.importers.values import (
    RowError,
    is_blank,
    midnight,
    parse_date,
    parse_decimal,
    parse_timestamp,
)
from tradestats.journal.model import AssetClass, CorporateAction, Rejection

_SPLIT_TYPES = frozenset({"FS", "RS"})
_RATIO = re.compile(r"\bSPLIT\s+([\d.]+)\s+FOR\s+([\d.]+)\b", re.IGNORECASE)


@dataclass
class _Row:
    number: int
    account: str
    symbol: str
    quantity: Decimal
    when: datetime
    ratio: tuple[Decimal, Decimal] | None
    description: str
    attrs: dict[str, str]


@dataclass
class FlexCorporateActions:
    """Collects a Flex statement's ``CorporateAction`` records; `finish` turns the
    splits into `CorporateAction`s on the tally and yields the rejected rows."""

    broker: str
    settings: ImportSettings
    tz: tzinfo
    _splits: list[_Row] = field(default_factory=list)

    def add(self, number: int, attrs: dict[str, str], account: str, tally: ParseTally) -> None:
        """One record (already counted in ``rows_read``)."""
        kind = attrs.get("type", "").strip().upper()
        if kind not in _SPLIT_TYPES:
            tally.skip(f"corporate_action_{kind.lower() or 'unknown'}", number)
            return
        if (attrs.get("assetCategory") or "STK").strip().upper() != "STK":
            tally.skip("split_non_stock", number)  # e.g. an option adjusted for the split
            return
        self._splits.append(self._row(number, attrs, account))

    def _row(self, number: int, attrs: dict[str, str], account: str) -> _Row:
        description = attrs.get("actionDescription") or attrs.get("description") or ""
        m = _RATIO.search(description)
        ratio = None
        if m is not None:
            try:
                ratio = (Decimal(m.group(1)), Decimal(m.group(2)))
            except ArithmeticError:
                ratio = None
            if ratio is not None and not (ratio[0] > 0 and ratio[1] > 0):
                ratio = None
        return _Row(
            number=number,
            account=attrs.get("accountId") or account,
            symbol=attrs.get("symbol", "").strip(),
            quantity=_quantity(attrs),
            when=self._when(attrs),
            ratio=ratio,
            description=description,
            attrs=attrs,
        )

    def _when(self, attrs: dict[str, str]) -> datetime:
        text = attrs.get("dateTime", "")
        try:
            if not is_blank(text):
                return parse_timestamp(text, "dateTime", self.tz)
            return midnight(parse_date(attrs.get("reportDate", ""), "reportDate"), self.tz)
        except RowError:
            return datetime.min  # rejected in `finish`

    def finish(self, tally: ParseTally) -> Iterator[Rejection]:
        groups: dict[tuple[str, datetime, tuple[Decimal, Decimal] | None, str], list[_Row]]
        groups = {}
        for row in self._splits:
            # the old shares of a reverse split may be listed as "XYZ.OLD"
            root = row.symbol.split(".")[0].split()[0] if row.symbol.strip() else ""
            groups.setdefault((row.account, row.when, row.ratio, root), []).append(row)
        self._splits = []
        for (account, when, ratio, _), rows in groups.items():
            if when == datetime.min:
                for row in rows:
                    yield _reject(row, "dateTime", "dateTime: the split has no date/time "
                                  "(dateTime or reportDate)")
                continue
            yield from self._split(account, when, ratio, rows, tally)

    def _split(
        self,
        account: str,
        when: datetime,
        ratio: tuple[Decimal, Decimal] | None,
        rows: list[_Row],
        tally: ParseTally,
    ) -> Iterator[Rejection]:
        received = [row for row in rows if row.quantity > 0]
        removed = [row for row in rows if row.quantity < 0]
        main = received[0] if received else rows[0]
        new_units = old_units = delta = None
        if ratio is not None:
            new_units, old_units = ratio
        elif len(received) == 1 and len(removed) == 1:
            new_units, old_units = received[0].quantity, -removed[0].quantity
        elif len(rows) == 1 and main.quantity != 0 and main.attrs.get("type", "") == "FS":
            delta = main.quantity
        else:
            for row in rows:
                yield _reject(row, "description", "description: no 'SPLIT n FOR m' ratio "
                              "and no removed/received pair to take it from")
            return
        if not main.symbol:
            for row in rows:
                yield _reject(row, "symbol", "symbol: the split names no symbol")
            return
        instrument = make_instrument(
            AssetClass.STOCK, main.symbol, currency=main.attrs.get("currency") or "USD",
            symbol_column="symbol",
        )
        tally.corporate_actions.append(
            CorporateAction(
                account=account, instrument=instrument, timestamp=when,
                new_units=new_units, old_units=old_units, quantity_delta=delta,
                broker=self.broker, row=main.number, description=main.description,
                raw=main.attrs,
            )
        )
        for row in rows:
            tally.skip("split", row.number)


def _quantity(attrs: dict[str, str]) -> Decimal:
    try:
        return parse_decimal(attrs.get("quantity", "") or "0", "quantity")
    except RowError:
        return Decimal(0)


def _reject(row: _Row, column: str, reason: str) -> Rejection:
    return Rejection(row.number, column, reason, row.attrs)
