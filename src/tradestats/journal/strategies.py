"""Round trips -> multi-leg strategy positions (spreads, straddles, condors, covered calls).

A *leg* is one round trip (one instrument, flat to flat). Legs opened together form one
`StrategyPosition`:

- by **order id**: legs whose opening fills share an order id (a broker's multi-leg
  order: IBKR ``ibOrderID``, Tastytrade ``Order #``, thinkorswim's spread rows, Webull's
  multi-leg parent) are one position;
- otherwise (no order id, or one no other leg shares) by **time**: in the same account
  and underlying, a leg opened at most `window_seconds` after the first leg of the
  latest position joins it (legging in: a stock bought and a call sold a second later
  by two orders are one covered call). The window counts from the position's first leg,
  so a busy underlying does not chain into one endless position.

A position never holds two legs of one instrument (a closed and re-opened leg starts a
new position). Its P&L is the sum of its legs' gross P&L, fees and net P&L; it opens at
its first leg's entry and closes at its last leg's exit (open while any leg is open).

The strategy is recognised from the legs' structure alone (option right, strike,
expiry, quantity ratio, side, and a stock leg), never from prices; see `strategy_kinds.classify`.
`direction` is "long" when the position was opened for a net debit (money paid) and
"short" for a net credit; a single leg keeps its own direction.

Pure: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import compress, islice
from math import gcd
from operator import attrgetter, eq

from tradestats.journal.model import RoundTrip
from tradestats.journal.strategy_kinds import (
    Leg,
    StrategyKind,
    classify,
    is_option,
    single_kind,
)

__all__ = [
    "DEFAULT_WINDOW_SECONDS",
    "Leg",
    "StrategyKind",
    "StrategyPosition",
    "classify",
    "group_legs",
    "legs_of",
    "strategy_positions",
]

#: Default time window linking legs that carry no common order id.
DEFAULT_WINDOW_SECONDS = 2.0
_ZERO = Decimal(0)


@dataclass(slots=True)
class StrategyPosition:
    """Legs opened together, as one trade. Money fields are sums over the legs."""

    id: str | None
    account: str
    underlying: str
    strategy: StrategyKind
    direction: str  # "long" (net debit at open) or "short" (net credit)
    entry_time: datetime  # first leg's entry
    exit_time: datetime | None  # last leg's exit; None while any leg is open
    gross_pnl: Decimal
    fees: Decimal
    net_pnl: Decimal
    legs: list[Leg] = field(default_factory=list)
    units: int | None = None  # how many of the strategy (contracts per ratio unit)

    @property
    def is_open(self) -> bool:
        return self.exit_time is None

    @property
    def holding_seconds(self) -> float | None:
        if self.exit_time is None:
            return None
        return (self.exit_time - self.entry_time).total_seconds()

    @property
    def order_ids(self) -> list[str]:
        """The distinct opening order ids of the legs, in leg order."""
        return list(dict.fromkeys(leg.order_id for leg in self.legs if leg.order_id))


def legs_of(round_trips: Iterable[RoundTrip]) -> list[Leg]:
    """Legs of in-memory round trips: the order id is that of the first (opening) fill."""
    return [Leg(rt, rt.executions[0].order_id if rt.executions else None) for rt in round_trips]


def strategy_positions(
    round_trips: Iterable[RoundTrip], window_seconds: float = DEFAULT_WINDOW_SECONDS
) -> list[StrategyPosition]:
    """`group_legs(legs_of(round_trips), window_seconds)`."""
    return group_legs(legs_of(round_trips), window_seconds)


def _deadline(entry: datetime, window: timedelta) -> datetime:
    """The latest entry time a leg may have to join a position whose first leg entered
    at `entry` (the window counts from the first leg)."""
    try:
        return entry + window
    except OverflowError:  # every later entry is within the window
        return datetime.max.replace(tzinfo=entry.tzinfo)


def group_legs(
    legs: Iterable[Leg], window_seconds: float = DEFAULT_WINDOW_SECONDS
) -> list[StrategyPosition]:
    """Group legs into positions (rules in the module docstring), classify each.

    Positions are returned in order of entry time (ties: account, underlying). Raises
    ValueError for a negative window.
    """
    if window_seconds < 0:
        raise ValueError(f"window_seconds must be >= 0, got {window_seconds}")
    # Many long-lived objects and no cycles: generational GC passes would only cost time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        groups = _groups(legs, window_seconds)
        singles = _Singles()
        return [
            singles.position(group) if len(group) == 1 else _position(group) for group in groups
        ]
    finally:
        if gc_was_enabled:
            gc.enable()


def _groups(legs: Iterable[Leg], window_seconds: float) -> list[list[Leg]]:
    """The legs of each position, each list in entry order; positions in order of entry
    time, then account, then underlying (ties: the order they were formed in).

    Legs are visited in order of (entry time, account, underlying, id, instrument): each
    (account, underlying) sees its own legs in order of (entry time, id, instrument),
    which is all the grouping rules depend on, and a position is formed at its first
    leg, so positions come out already sorted.
    """
    inst_keys: dict[int, str] = {}  # id(instrument) -> Instrument.key (built per call)
    ordered = _visit_order(legs, inst_keys)
    window = timedelta(seconds=window_seconds)
    groups: list[list[Leg]] = []
    # A forming position: (its legs, the deadline for joining it, its instruments'
    # keys); plain tuples, as most positions end up with their first leg only.
    by_order: dict[tuple[tuple[str, str], str], tuple[list[Leg], datetime, set[str]]] = {}
    latest: dict[tuple[str, str], tuple[list[Leg], datetime, set[str]]] = {}
    for leg in ordered:
        trip = leg.trip
        instrument = trip.instrument
        pair = (trip.account, instrument.underlying)
        inst = inst_keys.get(id(instrument))
        if inst is None:
            inst = inst_keys[id(instrument)] = instrument.key
        order_id = leg.order_id
        group = None
        if order_id:
            order_key = (pair, order_id)
            group = by_order.get(order_key)
            if group is not None and inst in group[2]:
                group = None
        if group is None:
            last = latest.get(pair)
            if last is not None and trip.entry_time <= last[1] and inst not in last[2]:
                group = last
        if group is None:
            group = ([leg], _deadline(trip.entry_time, window), {inst})
            groups.append(group[0])
            latest[pair] = group
        else:
            group[0].append(leg)
            group[2].add(inst)
        if order_id:
            by_order.setdefault(order_key, group)
    return groups


_ENTRY = attrgetter("trip.entry_time")


def _visit_order(legs: Iterable[Leg], inst_keys: dict[int, str]) -> list[Leg]:
    """Legs sorted by (entry time, account, underlying, id or "", instrument key).

    Entry times rarely tie: legs are sorted by entry time alone, then each run of equal
    entry times by the whole key (the same order as sorting by the whole key at once).
    """
    ordered = sorted(legs, key=_ENTRY)
    times = list(map(_ENTRY, ordered))
    tied = list(compress(range(len(times) - 1), map(eq, times, islice(times, 1, None))))
    if not tied:
        return ordered

    def whole_key(leg: Leg) -> tuple[datetime, str, str, str, str]:
        trip = leg.trip
        inst = trip.instrument
        key = inst_keys.get(id(inst))
        if key is None:
            key = inst_keys[id(inst)] = inst.key
        return (trip.entry_time, trip.account, inst.underlying, leg.key or "", key)

    start = tied[0]
    for prev, here in zip(tied, [*tied[1:], None], strict=True):
        if here is not None and here == prev + 1:
            continue  # the run goes on
        ordered[start : prev + 2] = sorted(ordered[start : prev + 2], key=whole_key)
        if here is not None:
            start = here
    return ordered


class _Singles:
    """Positions of one leg (most of them): the leg's own figures, no sums or sorting.
    Its kind (`classify` of one leg) depends only on the instrument and the side, its
    units only on the quantity: each is worked out once per distinct value."""

    __slots__ = ("kinds", "units")

    def __init__(self) -> None:
        self.kinds: dict[int, tuple[StrategyKind, StrategyKind]] = {}  # id(instrument)
        self.units: dict[Decimal, int | None] = {}

    def position(self, legs: list[Leg]) -> StrategyPosition:
        leg = legs[0]
        trip = leg.trip
        inst = trip.instrument
        kinds = self.kinds.get(id(inst))
        if kinds is None:  # the instrument outlives this call: its id stays its own
            kinds = self.kinds[id(inst)] = (single_kind(inst, True), single_kind(inst, False))
        qty = trip.quantity
        try:
            units = self.units[qty]
        except KeyError:
            units = self.units[qty] = int(qty) if qty == qty.to_integral_value() else None
        return StrategyPosition(
            leg.key,
            trip.account,
            inst.underlying,
            kinds[0] if trip.direction == "long" else kinds[1],
            trip.direction,
            trip.entry_time,
            trip.exit_time,
            trip.gross_pnl,
            trip.fees,
            trip.net_pnl,
            legs,
            units,
        )


def _position(legs: list[Leg]) -> StrategyPosition:
    first = legs[0]  # earliest entry (legs arrive in entry order)
    exits = [leg.trip.exit_time for leg in legs]
    ordered = sorted(legs, key=_display_order)
    kind = classify(ordered)
    return StrategyPosition(
        id=first.key,
        account=first.trip.account,
        underlying=first.instrument.underlying,
        strategy=kind,
        direction=_direction(ordered),
        entry_time=min(leg.trip.entry_time for leg in legs),
        exit_time=None if None in exits else max(e for e in exits if e is not None),
        gross_pnl=sum((leg.trip.gross_pnl for leg in legs), _ZERO),
        fees=sum((leg.trip.fees for leg in legs), _ZERO),
        net_pnl=sum((leg.trip.net_pnl for leg in legs), _ZERO),
        legs=ordered,
        units=_units(ordered),
    )


def _display_order(leg: Leg) -> tuple[int, str, Decimal, str, str]:
    """Underlying legs first, then options by expiry, strike, right."""
    inst = leg.instrument
    if not is_option(inst):
        return (0, "", _ZERO, "", inst.key)
    assert inst.expiry is not None and inst.strike is not None and inst.right is not None
    return (1, inst.expiry.isoformat(), inst.strike, inst.right.value, inst.key)


def _direction(legs: Sequence[Leg]) -> str:
    """A single leg's own direction; else "long" for a net debit at open (opening cash
    sum(sign * entry_price * quantity * multiplier) >= 0), "short" for a net credit."""
    if len(legs) == 1:
        return legs[0].trip.direction
    paid = sum(
        (
            leg.sign * leg.trip.entry_price * leg.trip.quantity * leg.instrument.multiplier
            for leg in legs
        ),
        _ZERO,
    )
    return "long" if paid >= 0 else "short"


def _units(legs: Sequence[Leg]) -> int | None:
    """Greatest common divisor of the option legs' contract counts (of the only leg's
    quantity for a single leg); None when a quantity is not whole."""
    options = [leg for leg in legs if is_option(leg.instrument)] or list(legs)
    quantities = [leg.trip.quantity for leg in options]
    if any(q != q.to_integral_value() for q in quantities):
        return None
    return gcd(*(int(q) for q in quantities))
