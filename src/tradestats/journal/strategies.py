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
from math import gcd

from tradestats.journal.model import RoundTrip
from tradestats.journal.strategy_kinds import Leg, StrategyKind, classify, is_option

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


class _Group:
    __slots__ = ("first_entry", "instruments", "legs")

    def __init__(self, leg: Leg) -> None:
        self.legs = [leg]
        self.first_entry = leg.trip.entry_time
        self.instruments = {leg.instrument.key}

    def add(self, leg: Leg) -> None:
        self.legs.append(leg)
        self.instruments.add(leg.instrument.key)


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
        positions = [_position(legs) for legs in _groups(legs, window_seconds)]
    finally:
        if gc_was_enabled:
            gc.enable()
    positions.sort(key=lambda p: (p.entry_time, p.account, p.underlying))
    return positions


def _groups(legs: Iterable[Leg], window_seconds: float) -> list[list[Leg]]:
    """The legs of each position, each list in entry order."""
    ordered = sorted(
        legs,
        key=lambda leg: (
            leg.trip.account,
            leg.instrument.underlying,
            leg.trip.entry_time,
            leg.key or "",
            leg.instrument.key,
        ),
    )
    window = timedelta(seconds=window_seconds)
    groups: list[_Group] = []
    by_order: dict[tuple[str, str, str], _Group] = {}
    latest: dict[tuple[str, str], _Group] = {}
    for leg in ordered:
        pair = (leg.trip.account, leg.instrument.underlying)
        inst = leg.instrument.key
        group: _Group | None = None
        if leg.order_id:
            group = by_order.get((*pair, leg.order_id))
            if group is not None and inst in group.instruments:
                group = None
        if group is None:
            last = latest.get(pair)
            if (
                last is not None
                and inst not in last.instruments
                and leg.trip.entry_time - last.first_entry <= window
            ):
                group = last
        if group is None:
            group = _Group(leg)
            groups.append(group)
            latest[pair] = group
        else:
            group.add(leg)
        if leg.order_id:
            by_order.setdefault((*pair, leg.order_id), group)
    return [g.legs for g in groups]


def _position(legs: list[Leg]) -> StrategyPosition:
    first = legs[0]  # earliest entry (legs arrive in entry order)
    if len(legs) == 1:  # most positions: the leg's own figures, no sums or sorting
        trip = first.trip
        qty = trip.quantity
        return StrategyPosition(
            id=first.key,
            account=trip.account,
            underlying=trip.instrument.underlying,
            strategy=classify(legs),
            direction=trip.direction,
            entry_time=trip.entry_time,
            exit_time=trip.exit_time,
            gross_pnl=trip.gross_pnl,
            fees=trip.fees,
            net_pnl=trip.net_pnl,
            legs=legs,
            units=int(qty) if qty == qty.to_integral_value() else None,
        )
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
