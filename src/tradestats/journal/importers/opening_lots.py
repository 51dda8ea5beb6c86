"""Synthetic opening fills for closes whose openings are not in the file.

A broker statement covers a period: a position opened before it is closed inside it, so
the file holds the close but not the opening, and matching would read the close as a new
position the other way. IBKR reports, on each close, the cost basis of what it closed
(Activity Statement ``ClosedLot`` rows, Flex ``cost``). From that we rebuild the missing
openings: one `Execution` per broker lot (or one for the whole uncovered quantity when
the broker gives only a total basis), at price ``basis / (quantity * multiplier)`` with
zero fees, because IBKR's basis already includes the opening commission.

Which part of a close needs a synthetic opening (so nothing is counted twice when the
opening *is* in the file), per (account, instrument), replaying the file's fills in
time order (the matcher's order):

- with lot detail: every lot dated before the file's first fill of the instrument (a
  day-only date counts when the whole day is before that fill) is synthesized; the rest
  of the close is matched against the position the file itself holds at that moment,
  and only what that position cannot cover (a file missing openings inside its own
  period) is synthesized from the remaining lots, in the order listed (oldest first).
- with a total basis only: the file's open position covers what it can (FIFO, its
  basis taken from the file's own fills, fees included); the uncovered quantity gets
  one synthetic opening with the rest of the broker's basis, dated at the best lower
  bound known (``open_time_known`` false).
Synthetic fills carry ``raw["synthetic"] == "closed_lot"`` and a broker execution id
derived from the close and the lot, so a re-import de-duplicates them. Splits in the file
(`CorporateAction`) scale the file's own position at their time, as the matcher does, so
a close after a split is covered in post-split units.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tradestats.journal.model import CorporateAction, Execution, Side

__all__ = ["BrokerLot", "ClosingBasis", "with_synthetic_openings"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BrokerLot:
    """One lot a closing trade consumed, as the broker reports it.

    `quantity` and `basis` are unsigned (basis is money including the opening
    commission: cost of a long lot, net proceeds of a short one). `open_time_known` is
    False when `opened` is only a lower bound (e.g. the statement's first day);
    `date_only` when the broker gives the day but not the time (`opened` is then that
    day's local midnight).
    """

    opened: datetime
    quantity: Decimal
    basis: Decimal
    row: int | None = None
    open_time_known: bool = True
    date_only: bool = False
    source: str = "ClosedLot"


@dataclass(frozen=True, slots=True)
class ClosingBasis:
    """What the broker says a closing execution closed.

    Either `lots` (lot detail; the closed quantity is their sum) or `quantity` + `basis`
    (one total, unsigned) with `opened` as the best known open time of the lots (exact
    when `open_time_known`, else a lower bound such as the statement's first day).
    """

    lots: tuple[BrokerLot, ...] = ()
    quantity: Decimal = _ZERO
    basis: Decimal = _ZERO
    opened: datetime | None = None
    open_time_known: bool = False
    source: str = "Basis"

    @property
    def closed_quantity(self) -> Decimal:
        return sum((lot.quantity for lot in self.lots), _ZERO) if self.lots else self.quantity


class _InFileBook:
    """The lots opened by fills of one (account, instrument): direction and FIFO
    ``[quantity, money]`` pairs (money = basis incl. fees, unsigned)."""

    __slots__ = ("direction", "lots")

    def __init__(self) -> None:
        self.direction = 0
        self.lots: deque[list[Decimal]] = deque()

    def covered(self, direction: int, quantity: Decimal) -> tuple[Decimal, Decimal]:
        """(quantity, basis) of the open lots a fill of `direction` would close."""
        if self.direction != -direction:
            return _ZERO, _ZERO
        qty = money = _ZERO
        for lot_qty, lot_money in self.lots:
            take = min(lot_qty, quantity - qty)
            qty += take
            money += lot_money * take / lot_qty
            if qty == quantity:
                break
        return qty, money

    def apply(self, ex: Execution) -> None:
        direction = 1 if ex.side is Side.BUY else -1
        qty = ex.quantity
        per_unit_fee = ex.fees / qty
        if self.direction == -direction:
            while qty and self.lots:
                lot = self.lots[0]
                take = min(lot[0], qty)
                if take == lot[0]:
                    self.lots.popleft()
                else:
                    lot[1] -= lot[1] * take / lot[0]
                    lot[0] -= take
                qty -= take
            if not qty:
                if not self.lots:
                    self.direction = 0
                return
            self.direction = 0
        if self.direction == 0:
            self.direction = direction
        money = ex.price * ex.instrument.multiplier * qty
        money += direction * per_unit_fee * qty  # a long pays fees, a short nets them
        self.lots.append([qty, money])

    def split(self, action: CorporateAction) -> None:
        """Scale the open lots' quantities by the split's ratio (their money stays)."""
        held = sum((lot[0] for lot in self.lots), _ZERO)
        if not self.direction or not held:
            return
        if action.quantity_delta is not None:
            new_held = held + self.direction * action.quantity_delta
            if new_held <= 0:
                return  # the matcher reports this split; nothing to cover here
            ratio = new_held / held
        else:
            assert action.new_units is not None and action.old_units is not None
            ratio = action.new_units / action.old_units
        for lot in self.lots:
            lot[0] *= ratio


def _synthetic_id(close: Execution, lot: BrokerLot, index: int, quantity: Decimal) -> str:
    parts = (
        close.account,
        close.instrument.key,
        close.timestamp.isoformat(),
        close.side.value,
        format(close.quantity.normalize(), "f"),
        close.broker_execution_id or "",
        lot.opened.isoformat(),
        format(quantity.normalize(), "f"),
        format(lot.basis.normalize(), "f"),
        str(index),
    )
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest()
    return f"closed_lot:{digest}"


def _opening(close: Execution, lot: BrokerLot, quantity: Decimal, index: int) -> Execution:
    basis = lot.basis if quantity == lot.quantity else lot.basis * quantity / lot.quantity
    opened = lot.opened
    if opened >= close.timestamp:  # never after the close it feeds
        opened = close.timestamp - timedelta(microseconds=1)
    raw = {
        "synthetic": "closed_lot",
        "basis_source": lot.source,
        "basis": format(basis, "f"),
        "quantity": format(quantity, "f"),
        "opened": opened.isoformat(),
        "open_time_known": "true" if lot.open_time_known else "false",
        "closing_row": "" if close.row is None else str(close.row),
        "closing_execution_id": close.broker_execution_id or "",
    }
    return Execution(
        account=close.account,
        instrument=close.instrument,
        timestamp=opened,
        side=Side.SELL if close.side is Side.BUY else Side.BUY,
        quantity=quantity,
        price=basis / (quantity * close.instrument.multiplier),
        fees=_ZERO,
        broker=close.broker,
        broker_execution_id=_synthetic_id(close, lot, index, quantity),
        row=lot.row if lot.row is not None else close.row,
        raw=raw,
        fx_rate=close.fx_rate,  # for the currency check; opening rates convert nothing
    )


def _before(lot: BrokerLot, first_fill: datetime) -> bool:
    """Whether `lot` was opened before the file's first fill of its instrument. A lot
    dated by day only counts when that whole day is over before the fill."""
    if lot.date_only:
        return lot.opened + timedelta(days=1) <= first_fill
    return lot.opened < first_fill


def _openings_for(
    close: Execution, info: ClosingBasis, book: _InFileBook, first_fill: datetime
) -> list[Execution]:
    direction = 1 if close.side is Side.BUY else -1
    closed = info.closed_quantity
    if closed <= 0 or closed > close.quantity:
        return []  # nothing closed, or a lot total that does not fit the fill
    chosen: list[tuple[int, BrokerLot, Decimal]] = []
    if info.lots:
        # Lots dated before the file's first fill of the instrument cannot be in it.
        early = [(i, lot) for i, lot in enumerate(info.lots) if _before(lot, first_fill)]
        chosen = [(i, lot, lot.quantity) for i, lot in early]
        early_qty = sum((lot.quantity for _, lot in early), _ZERO)
        covered_qty, _ = book.covered(direction, closed - early_qty)
        remaining = closed - early_qty - covered_qty
        taken = {i for i, _ in early}
        for i, lot in enumerate(info.lots):  # a file that lacks openings of its period
            if remaining <= 0:
                break
            if i in taken:
                continue
            take = min(lot.quantity, remaining)
            chosen.append((i, lot, take))
            remaining -= take
    else:
        covered_qty, covered_money = book.covered(direction, closed)
        shortfall = closed - covered_qty
        basis = info.basis - covered_money
        if shortfall <= 0 or basis < 0 or info.opened is None:
            return []  # covered by the file, or a total that does not fit its lots
        lot = BrokerLot(info.opened, shortfall, basis, open_time_known=info.open_time_known,
                        source=info.source)
        chosen = [(0, lot, shortfall)]
    return [_opening(close, lot, qty, i) for i, lot, qty in chosen]


def with_synthetic_openings(
    items: Iterable[tuple[Execution, ClosingBasis | None]],
    splits: Iterable[CorporateAction] = (),
) -> list[Execution]:
    """The executions in input order, each close preceded by the synthetic openings it
    needs (see the module docstring). Items are replayed in time order (stable), per
    (account, instrument key); `splits` apply before the fills at or after their time."""
    listed = list(items)
    pending = sorted(splits, key=lambda a: a.timestamp)
    next_split = 0
    first_fill: dict[tuple[str, str], datetime] = {}
    for ex, _ in listed:
        key = (ex.account, ex.instrument.key)
        if key not in first_fill or ex.timestamp < first_fill[key]:
            first_fill[key] = ex.timestamp
    books: dict[tuple[str, str], _InFileBook] = {}
    added: dict[int, list[Execution]] = {}
    order = sorted(range(len(listed)), key=lambda i: listed[i][0].timestamp)
    for i in order:
        ex, info = listed[i]
        while next_split < len(pending) and pending[next_split].timestamp <= ex.timestamp:
            action = pending[next_split]
            next_split += 1
            split_book = books.get((action.account, action.instrument.key))
            if split_book is not None:
                split_book.split(action)
        key = (ex.account, ex.instrument.key)
        book = books.get(key)
        if book is None:
            book = books[key] = _InFileBook()
        if info is not None:
            openings = _openings_for(ex, info, book, first_fill[key])
            if openings:
                added[i] = openings
                for opening in openings:
                    book.apply(opening)
        book.apply(ex)
    result: list[Execution] = []
    for i, (ex, _) in enumerate(listed):
        result.extend(added.get(i, ()))
        result.append(ex)
    return result

