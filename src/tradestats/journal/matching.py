"""Executions -> round trips, realizations and open positions.

A *round trip* is one position in one (account, instrument.key), from flat back to flat.
A fill that crosses zero (long -> short in one order) is split pro rata to quantity: the
part that brings the position to zero closes the round trip, the remainder opens the next
one; the fill's fees are split the same way.

Inside a round trip, each closing fill *realizes* P&L against the open lots by a lot
method: FIFO (default), LIFO or average cost. The method changes when P&L is realized
(the `Realization` records, used for daily P&L), never the total of a round trip::

    gross = direction * (sum(exit_price * q) - sum(entry_price * q)) * multiplier

Fees are allocated pro rata to matched quantity: a realization carries the closing fill's
fee share plus the fee share of the opening lots it consumed. A round trip's fees are the
sum of the fee shares of all its fills, and `net = gross - fees`.

Everything is `Decimal`. Pro-rata shares are rounded to 1e-12 and the remainder stays
with the lot (or the other part of a split fill), so realizations sum exactly to the
round trips' totals and round-trip fees sum exactly to the fills' fees.

**Currencies**: all of the above is in the instrument's currency. A realization is
converted to the account's base currency with the FX rate of its closing fill
(``Execution.fx_rate``; None = the fill is in the base currency, rate 1)::

    base_gross = round(gross * rate, 1e-12)     base_fees = round(fees * rate, 1e-12)

and a round trip's base figures are the exact sums of its realizations' (so daily P&L
and trade totals agree in the base currency too): a round trip closed by one fill is its
own-currency P&L times that fill's rate. Opening fills' rates are not used. IBKR does
the same: ``fifoPnlRealized`` is in the trade's currency, and its base-currency realized
P&L is each closing trade's figure times that trade's ``fxRateToBase``.

**Splits** (`CorporateAction`) are applied in time order with the fills: at its time a
split scales the open position of its (account, instrument): every lot's quantity x
ratio, per-unit price / ratio, cost basis and fees unchanged, and the round trip's
quantities (closed so far, maximum size) are restated in post-split units, so its
entry/exit prices are split-adjusted and its gross P&L is unchanged cash. A split at the
same timestamp as a fill applies before it (a date-only export dates the split on its
ex-date, when fills are already in new units). A split of a flat position does nothing.
A ratio that does not divide a lot exactly leaves quantities rounded to 1e-12, the
rounding on the last lot so the lots still sum to the position; per-unit prices then
carry Decimal's 28 digits, and realizations may differ from the round trip's exact
total by far less than a cent.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Literal

from tradestats.journal.model import CorporateAction, Execution, Instrument, RoundTrip, Side

__all__ = [
    "Lot",
    "MatchMethod",
    "MatchResult",
    "OpenPosition",
    "Realization",
    "SplitError",
    "group_multi_leg",
    "match_round_trips",
    "to_base",
]

MatchMethod = Literal["fifo", "lifo", "average"]
_METHODS: frozenset[str] = frozenset({"fifo", "lifo", "average"})
_ZERO = Decimal(0)
# Pro-rata shares (fee splits, average-cost basis) are rounded to 1e-12 money units, so
# a share and its remainder always add back up exactly: totals reconcile to the digit.
_SPLIT = Decimal("1e-12")


class SplitError(ValueError):
    """A split cannot apply to the position it meets (it would leave none, or a lot of
    no quantity). The message names the instrument and the source row."""


@dataclass(slots=True)
class Realization:
    """One closing fill (or the closing part of a flipping fill) and the P&L it realized.

    `gross_pnl` is money (multiplier applied), `fees` is the closing fill's share plus
    the share of the opening fills it matched. `round_trip` is the round trip the close
    belongs to (still open, `exit_time is None`, until the position is flat).
    """

    time: datetime
    account: str
    instrument: Instrument
    quantity: Decimal
    gross_pnl: Decimal
    fees: Decimal
    round_trip: RoundTrip
    #: the closing fill's FX rate to the base currency (None: in the base currency)
    fx_rate: Decimal | None = None

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees

    @property
    def base_gross_pnl(self) -> Decimal:
        """`gross_pnl` in the account's base currency (see the module doc)."""
        return to_base(self.gross_pnl, self.fx_rate)

    @property
    def base_fees(self) -> Decimal:
        """`fees` in the account's base currency (see the module doc)."""
        return to_base(self.fees, self.fx_rate)


def to_base(amount: Decimal, rate: Decimal | None) -> Decimal:
    """`amount` converted with `rate` to the base currency: ``round(amount * rate,
    1e-12)``; `amount` itself when `rate` is None (already in the base currency)."""
    return amount if rate is None else (amount * rate).quantize(_SPLIT)


@dataclass(frozen=True, slots=True)
class Lot:
    """An open lot: `quantity` unsigned, `price` per unit, `fees` not yet realized.

    Under average cost there is one pooled lot at the average price, dated by the
    position's first fill.
    """

    time: datetime
    quantity: Decimal
    price: Decimal
    fees: Decimal


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position not yet flat. `quantity` is signed (negative = short).

    `average_price` = cost_basis / |quantity|; `cost_basis` = sum(lot price * lot qty)
    (no multiplier, no fees); `fees` = opening fees not yet realized.
    """

    account: str
    instrument: Instrument
    quantity: Decimal
    average_price: Decimal
    cost_basis: Decimal
    fees: Decimal
    lots: list[Lot]
    round_trip: RoundTrip


@dataclass(slots=True)
class MatchResult:
    round_trips: list[RoundTrip] = field(default_factory=list)  # closed, exit-time order
    open_positions: list[OpenPosition] = field(default_factory=list)
    realizations: list[Realization] = field(default_factory=list)  # time order


class _Book:
    """Matching state of one (account, instrument.key).

    Lots are tuples ``(qty, price, fees, time)`` for FIFO/LIFO, or one pooled
    ``(qty, cost, fees, time)`` for average cost; tuples keep per-fill allocations low.
    `open_cash`/`close_cash` are sum(price * qty) of opening/closing fills; the opening
    quantity of the current round trip is always ``close_qty + size``.
    """

    __slots__ = (
        "close_cash",
        "close_qty",
        "direction",
        "fees",
        "fills",
        "instrument",
        "lots",
        "max_size",
        "multiplier",
        "open_cash",
        "round_trip",
        "size",
    )

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.multiplier = instrument.multiplier
        self.size = _ZERO  # unsigned position size
        self.direction = 0  # +1 long, -1 short, 0 flat
        self.lots: deque[tuple[Decimal, Decimal, Decimal, datetime]] = deque()
        self.open_cash = _ZERO
        self.close_qty = _ZERO
        self.close_cash = _ZERO
        self.fees = _ZERO
        self.max_size = _ZERO
        self.fills: list[Execution] = []
        self.round_trip: RoundTrip | None = None


def _close_lots(
    lots: deque[tuple[Decimal, Decimal, Decimal, datetime]], qty: Decimal, method: str
) -> tuple[Decimal, Decimal]:
    """Remove `qty` from the lots; return (entry cost of it, opening fees of it)."""
    if method == "average":
        lot_qty, lot_cost, lot_fees, time = lots[0]
        if qty == lot_qty:
            lots.clear()
            return lot_cost, lot_fees
        cost = (lot_cost * qty / lot_qty).quantize(_SPLIT)
        fees = (lot_fees * qty / lot_qty).quantize(_SPLIT)
        lots[0] = (lot_qty - qty, lot_cost - cost, lot_fees - fees, time)
        return cost, fees

    fifo = method == "fifo"
    lot_qty, price, lot_fees, time = lots[0] if fifo else lots[-1]
    if lot_qty == qty:  # the common case: one lot, closed whole
        if fifo:
            lots.popleft()
        else:
            lots.pop()
        return qty * price, lot_fees
    cost = _ZERO
    fees = _ZERO
    remaining = qty
    while True:
        if lot_qty <= remaining:
            cost += lot_qty * price
            fees += lot_fees
            remaining -= lot_qty
            if fifo:
                lots.popleft()
            else:
                lots.pop()
            if not remaining:
                return cost, fees
            lot_qty, price, lot_fees, time = lots[0] if fifo else lots[-1]
        else:
            share = (lot_fees * remaining / lot_qty).quantize(_SPLIT)
            lot = (lot_qty - remaining, price, lot_fees - share, time)
            if fifo:
                lots[0] = lot
            else:
                lots[-1] = lot
            return cost + remaining * price, fees + share


def match_round_trips(
    executions: Iterable[Execution],
    method: MatchMethod = "fifo",
    corporate_actions: Iterable[CorporateAction] = (),
) -> MatchResult:
    """Match fills into round trips, realizations and open positions.

    Fills are sorted stably by timestamp (ties keep input order), then processed per
    (account, instrument.key). For a long round trip, realized gross P&L of closing
    quantity q at price p against entry cost C (sum of lot price * qty consumed) is
    ``(p * q - C) * multiplier``; for a short it is the negative. `corporate_actions`
    (splits) are applied in time order with the fills (see the module doc). Raises
    ValueError for a non-positive quantity, an unknown method, or a split that would
    leave a position of zero or of the other sign.
    """
    if method not in _METHODS:
        raise ValueError(f"unknown matching method {method!r}; use fifo, lifo or average")
    ordered = sorted(executions, key=attrgetter("timestamp"))
    actions = sorted(corporate_actions, key=attrgetter("timestamp"))
    # The loop allocates many long-lived, acyclic objects; generational GC passes over
    # them would only cost time (about a third of the run on 1M fills).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _match_sorted(ordered, method, actions)
    finally:
        if gc_was_enabled:
            _make_old()
            gc.enable()


def _make_old() -> None:
    """Move every object the collector tracks into its oldest generation, unscanned.

    The result of a large match is millions of young objects that will live on. Left in
    the youngest generation, the first allocation after the collector is re-enabled
    scans all of them just to promote them (about 0.1 s per 200,000 fills, a fifth of
    the match). `gc.freeze()` followed by `gc.unfreeze()` moves the young generations
    into the oldest one in constant time; they are examined by the next full
    collection like any long-lived data. Skipped when the process has frozen objects
    of its own (a pre-fork server does), which `unfreeze()` would release.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _match_sorted(
    ordered: list[Execution], method: str, actions: list[CorporateAction] | None = None
) -> MatchResult:
    # One flat loop: opening, scaling in, closing and finishing a round trip are inlined,
    # since per-fill calls and book attribute round trips were most of the run time. The
    # Decimal operations are the same, in the same order, as in the formulas above, so
    # every figure (value and exponent) is what the step-by-step version computes.
    average = method == "average"
    fifo = method == "fifo"
    books: dict[tuple[str, str], _Book] = {}
    by_account: dict[str, dict[int, _Book]] = {}  # keyed by id(): no dataclass hash
    by_id: dict[int, _Book] = {}  # the books of `last_account`
    last_account: str | None = None
    round_trips: list[RoundTrip] = []
    realizations: list[Realization] = []
    add_round_trip = round_trips.append
    add_realization = realizations.append
    new_round_trip = RoundTrip
    new_realization = Realization
    buy = Side.BUY
    zero = _ZERO
    split = _SPLIT
    converted = False  # whether any closing fill has an FX rate
    # Without splits the loop reads the list itself: no per-fill cost for the feature.
    source = _with_splits(ordered, actions, books, average) if actions else ordered

    for ex in source:
        qty = ex.quantity
        if qty <= zero:
            where = f" (row {ex.row})" if ex.row is not None else ""
            raise ValueError(f"execution quantity must be positive, got {qty}{where}")
        account = ex.account
        if account is not last_account:
            by_id = by_account.setdefault(account, {})
            last_account = account
        instrument = ex.instrument
        book = by_id.get(id(instrument))
        if book is None:
            key = (account, instrument.key)
            book = books.get(key)
            if book is None:
                book = books[key] = _Book(instrument)
            by_id[id(instrument)] = book
        direction = 1 if ex.side is buy else -1
        price = ex.price
        fee = ex.fees
        time = ex.timestamp
        book_direction = book.direction

        if book_direction == direction:  # scale in
            cash = price * qty
            size = book.size = book.size + qty
            if size > book.max_size:
                book.max_size = size
            book.open_cash += cash
            book.fees += fee
            book.fills.append(ex)
            if average:
                _, lot_cost, lot_fees, lot_time = book.lots[0]
                book.lots[0] = (size, lot_cost + cash, lot_fees + fee, lot_time)
            else:
                book.lots.append((qty, price, fee, time))
            continue

        if book_direction:  # closing (and possibly flipping)
            size = book.size
            if qty <= size:
                close_qty = qty
                close_fee = fee
            else:
                close_qty = size
                close_fee = (fee * size / qty).quantize(split)
            lots = book.lots
            lot = lots[0] if fifo else lots[-1]
            if not average and lot[0] == close_qty:  # the common case: one lot, closed whole
                if fifo:
                    lots.popleft()
                else:
                    lots.pop()
                cost = close_qty * lot[1]
                open_fees = lot[2]
            else:
                cost, open_fees = _close_lots(lots, close_qty, method)
            proceeds = price * close_qty
            gross = (proceeds - cost) * book.multiplier
            if book_direction < 0:
                gross = -gross
            closed = book.close_qty + close_qty
            close_cash = book.close_cash + proceeds
            fees = book.fees + close_fee
            book.fills.append(ex)
            rt: RoundTrip = book.round_trip  # type: ignore[assignment]  # set while not flat
            rate = ex.fx_rate
            if rate is not None:
                converted = True
            add_realization(
                new_realization(
                    time, account, instrument, close_qty, gross, close_fee + open_fees, rt, rate
                )
            )
            if qty < size:
                book.size = size - close_qty
                book.close_qty = closed
                book.close_cash = close_cash
                book.fees = fees
                continue
            # Flat: finish the round trip.
            open_cash = book.open_cash
            gross = (close_cash - open_cash) * book.multiplier
            if book_direction < 0:
                gross = -gross
            rt.exit_time = time
            rt.quantity = book.max_size
            rt.entry_price = open_cash / closed
            rt.exit_price = close_cash / closed
            rt.gross_pnl = gross
            rt.fees = fees
            rt.net_pnl = gross - fees
            add_round_trip(rt)
            if qty == size:
                book.direction = 0
                continue
            # Flip: the rest of the fill opens the next round trip.
            qty = qty - size
            fee = fee - close_fee

        # Open a round trip in a flat book.
        cash = price * qty
        book.direction = direction
        book.size = qty
        book.max_size = qty
        book.open_cash = cash
        book.close_qty = zero
        book.close_cash = zero
        book.fees = fee
        book.fills = fills = [ex]
        lots = book.lots
        lots.clear()
        lots.append((qty, cash if average else price, fee, time))
        book.round_trip = new_round_trip(
            account,
            book.instrument,
            "long" if direction > 0 else "short",
            time,
            None,
            qty,
            price,
            None,
            zero,
            fee,
            -fee,
            fills,
        )

    open_positions = [_open_position(b, average) for b in books.values() if b.direction]
    if converted:
        _convert_to_base(realizations)
    return MatchResult(round_trips, open_positions, realizations)


def _convert_to_base(realizations: list[Realization]) -> None:
    """Set the base-currency P&L of every round trip closed (in part) by a fill with an
    FX rate: the sums of its realizations' base figures (see the module doc)."""
    totals: dict[int, tuple[RoundTrip, Decimal, Decimal]] = {}
    converted: set[int] = set()
    for r in realizations:
        rt = r.round_trip
        key = id(rt)
        if r.fx_rate is not None:
            converted.add(key)
        found = totals.get(key)
        if found is None:
            totals[key] = (rt, r.base_gross_pnl, r.base_fees)
        else:
            totals[key] = (rt, found[1] + r.base_gross_pnl, found[2] + r.base_fees)
    for key in converted:
        rt, gross, fees = totals[key]
        rt.base_gross_pnl = gross
        rt.base_fees = fees


def _with_splits(
    ordered: list[Execution],
    actions: list[CorporateAction],
    books: dict[tuple[str, str], _Book],
    average: bool,
) -> Iterator[Execution]:
    """`ordered`, applying each split to `books` before the first fill at or after it.

    The fills between two splits are handed on in one ``yield from`` of a slice, so
    the per-fill cost is the generator's hand-off only.
    """
    start = 0
    timestamp = attrgetter("timestamp")
    for action in actions:
        end = bisect_left(ordered, action.timestamp, lo=start, key=timestamp)
        if end > start:
            yield from ordered[start:end]
        _apply_split(books, action, average)
        start = end
    yield from ordered[start:] if start else ordered


def _apply_split(
    books: dict[tuple[str, str], _Book], action: CorporateAction, average: bool
) -> None:
    book = books.get((action.account, action.instrument.key))
    if book is None or not book.direction:
        return  # nothing open: a split changes no realized figure
    size = book.size
    if action.quantity_delta is not None:
        new_signed = size * book.direction + action.quantity_delta
        new_size = new_signed * book.direction
        if new_size <= 0:
            where = f" (row {action.row})" if action.row is not None else ""
            raise SplitError(
                f"split of {action.instrument.symbol} by {action.quantity_delta} would "
                f"turn the open position of {size * book.direction} into {new_signed}{where}"
            )
        old_units = size
        new_units = new_size
    else:
        assert action.new_units is not None and action.old_units is not None
        new_units, old_units = action.new_units, action.old_units
        new_size = _scaled(size, new_units, old_units)
    lots = book.lots
    if average:
        _, cost, fees, time = lots[0]
        lots[0] = (new_size, cost, fees, time)
    else:
        scaled = []
        left = new_size
        last = len(lots) - 1
        for n, (qty, price, fees, time) in enumerate(lots):
            new_qty = left if n == last else _scaled(qty, new_units, old_units)
            left -= new_qty
            if new_qty <= 0:
                raise SplitError(
                    f"split of {action.instrument.symbol} {new_units} for {old_units} leaves "
                    f"a lot of {qty} with no quantity"
                )
            # the lot's cost (qty * price) is kept: the price takes the inverse ratio
            scaled.append((new_qty, qty * price / new_qty, fees, time))
        lots.clear()
        lots.extend(scaled)
    book.size = new_size
    book.max_size = _scaled(book.max_size, new_units, old_units)
    book.close_qty = _scaled(book.close_qty, new_units, old_units)


def _scaled(qty: Decimal, new_units: Decimal, old_units: Decimal) -> Decimal:
    value = qty * new_units / old_units
    if value.as_tuple().exponent < -12:  # type: ignore[operator]  # finite here
        value = value.quantize(_SPLIT)
    return value


def _open_position(book: _Book, average: bool) -> OpenPosition:
    rt = book.round_trip
    assert rt is not None
    lots: list[Lot] = []
    cost = _ZERO
    fees = _ZERO
    for qty, value, lot_fees, time in book.lots:
        lot_cost = value if average else value * qty
        lots.append(Lot(time, qty, lot_cost / qty, lot_fees))
        cost += lot_cost
        fees += lot_fees
    # The open round trip reports what is known so far: realized gross, all fees paid.
    realized = (book.close_cash - (book.open_cash - cost)) * book.multiplier
    if book.direction < 0:
        realized = -realized
    rt.quantity = book.max_size
    rt.entry_price = book.open_cash / (book.close_qty + book.size)
    rt.exit_price = book.close_cash / book.close_qty if book.close_qty else None
    rt.gross_pnl = realized
    rt.fees = book.fees
    rt.net_pnl = realized - book.fees
    return OpenPosition(
        account=rt.account,
        instrument=book.instrument,
        quantity=book.size * book.direction,
        average_price=cost / book.size,
        cost_basis=cost,
        fees=fees,
        lots=lots,
        round_trip=rt,
    )


def group_multi_leg(
    round_trips: Iterable[RoundTrip], window_seconds: float = 0
) -> dict[str, list[RoundTrip]]:
    """Group round trips into multi-leg positions (spreads, hedges) for reporting.

    Two round trips share a group when their opening fills share an `order_id`, or
    when they are in the same account and underlying and their entry times are at most
    `window_seconds` apart (chained: each within the window of the previous entry).
    Group ids are ``"{account}:{underlying}:{n}"`` with n counting from 1 per pair.
    """
    ordered = sorted(
        round_trips, key=lambda rt: (rt.account, rt.instrument.underlying, rt.entry_time)
    )
    groups: dict[str, list[RoundTrip]] = {}
    by_order: dict[tuple[str, str], str] = {}
    counters: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], tuple[str, datetime]] = {}
    for rt in ordered:
        pair = (rt.account, rt.instrument.underlying)
        order_id = rt.executions[0].order_id if rt.executions else None
        gid: str | None = None
        if order_id is not None:
            gid = by_order.get((rt.account, order_id))
        if gid is None and pair in last:
            prev_gid, prev_time = last[pair]
            if (rt.entry_time - prev_time).total_seconds() <= window_seconds:
                gid = prev_gid
        if gid is None:
            counters[pair] = n = counters.get(pair, 0) + 1
            gid = f"{rt.account}:{rt.instrument.underlying}:{n}"
        groups.setdefault(gid, []).append(rt)
        if order_id is not None:
            by_order.setdefault((rt.account, order_id), gid)
        last[pair] = (gid, rt.entry_time)
    return groups
