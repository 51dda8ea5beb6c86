"""Strategy kinds and how a set of legs opened together is recognised as one.

`classify` looks at the legs' structure alone (option right, strike, expiry, quantity
ratio, side, and a stock leg), never at prices. Grouping legs into positions is
`tradestats.journal.strategies`.

Pure: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tradestats.journal.model import AssetClass, Instrument, OptionRight, RoundTrip

__all__ = ["Leg", "StrategyKind", "classify", "is_option", "single_kind"]

_OPTION_CLASSES = frozenset({AssetClass.OPTION, AssetClass.FUTURE_OPTION})


class StrategyKind(StrEnum):
    """What a position is. Single legs have their own kinds so that a breakdown by
    strategy covers every trade."""

    LONG_CALL = "long_call"
    SHORT_CALL = "short_call"
    LONG_PUT = "long_put"
    SHORT_PUT = "short_put"
    LONG_STOCK = "long_stock"
    SHORT_STOCK = "short_stock"
    OUTRIGHT = "outright"  # one leg of anything else: a future, a coin, a currency pair
    CALL_DEBIT_VERTICAL = "call_debit_vertical"  # bull call spread
    CALL_CREDIT_VERTICAL = "call_credit_vertical"  # bear call spread
    PUT_DEBIT_VERTICAL = "put_debit_vertical"  # bear put spread
    PUT_CREDIT_VERTICAL = "put_credit_vertical"  # bull put spread
    CALENDAR = "calendar"
    DIAGONAL = "diagonal"
    STRADDLE = "straddle"
    STRANGLE = "strangle"
    IRON_CONDOR = "iron_condor"
    IRON_BUTTERFLY = "iron_butterfly"
    BUTTERFLY = "butterfly"
    COVERED_CALL = "covered_call"
    PROTECTIVE_PUT = "protective_put"
    COLLAR = "collar"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Leg:
    """One round trip as a leg: `order_id` is the order of its opening fill (None when
    the broker gives none), `key` the stored round-trip id (None in memory)."""

    trip: RoundTrip
    order_id: str | None = None
    key: str | None = None

    @property
    def instrument(self) -> Instrument:
        return self.trip.instrument

    @property
    def sign(self) -> int:
        """+1 for a long leg (bought to open), -1 for a short leg."""
        return 1 if self.trip.direction == "long" else -1


def is_option(inst: Instrument) -> bool:
    """An option (or future option) with its right, strike and expiry known."""
    return (
        inst.asset_class in _OPTION_CLASSES
        and inst.right is not None
        and inst.strike is not None
        and inst.expiry is not None
    )


@dataclass(frozen=True, slots=True)
class _OptionLeg:
    right: OptionRight
    strike: Decimal
    expiry: object  # a date; only compared for equality and order
    sign: int
    quantity: Decimal


def classify(legs: Sequence[Leg]) -> StrategyKind:
    """The strategy of legs opened together, from their structure.

    Option legs (all with one multiplier; ``q`` = contracts, equal unless stated):

    - one leg: long/short call/put;
    - vertical: same right and expiry, two strikes, one long one short; a call vertical
      is a debit spread when the long strike is the lower one, a put vertical when it is
      the higher one (credit otherwise);
    - calendar: same right and strike, two expiries, one long one short; diagonal: same
      right, different strikes and expiries, one long one short;
    - straddle: a call and a put, same strike and expiry, same side; strangle: the same
      with different strikes;
    - butterfly: one right and expiry, strikes k1 < k2 < k3 equally spaced, q at k1 and
      k3 on one side and 2q at k2 on the other;
    - iron condor / iron butterfly: one expiry, a put vertical below a call vertical,
      both short (short strikes inside: sold for a credit) or both long; iron butterfly
      when the two inner strikes are equal;

    with a stock leg (coverage: contracts x multiplier = shares):

    - covered call: long stock + short call; protective put: long stock + long put;
      collar: long stock + long put + short call, put strike <= call strike.

    A single stock leg is long/short stock, any other single leg an outright; everything
    else (ratio spreads, mixed multipliers, risk reversals, broken wings...) is custom.
    """
    if not legs:
        raise ValueError("a strategy needs at least one leg")
    if len(legs) == 1:
        return _single(legs[0])
    options = [leg for leg in legs if is_option(leg.instrument)]
    stocks = [leg for leg in legs if leg.instrument.asset_class is AssetClass.STOCK]
    if len(options) + len(stocks) != len(legs):
        return StrategyKind.CUSTOM
    if len({leg.instrument.multiplier for leg in options}) > 1:
        return StrategyKind.CUSTOM
    parsed = [_parse(leg) for leg in options]
    if not stocks:
        return _options_only(parsed)
    if len(stocks) == 1 and stocks[0].sign > 0:
        return _with_stock(stocks[0], options[0].instrument.multiplier, parsed)
    return StrategyKind.CUSTOM


def _single(leg: Leg) -> StrategyKind:
    return single_kind(leg.trip.instrument, leg.trip.direction == "long")


def single_kind(inst: Instrument, long: bool) -> StrategyKind:
    """The kind of a position of one leg of `inst`, long (bought to open) or short."""
    if is_option(inst):
        if inst.right is OptionRight.CALL:
            return StrategyKind.LONG_CALL if long else StrategyKind.SHORT_CALL
        return StrategyKind.LONG_PUT if long else StrategyKind.SHORT_PUT
    if inst.asset_class is AssetClass.STOCK:
        return StrategyKind.LONG_STOCK if long else StrategyKind.SHORT_STOCK
    return StrategyKind.OUTRIGHT


def _parse(leg: Leg) -> _OptionLeg:
    inst = leg.instrument
    assert inst.right is not None and inst.strike is not None
    return _OptionLeg(inst.right, inst.strike, inst.expiry, leg.sign, leg.trip.quantity)


def _options_only(legs: list[_OptionLeg]) -> StrategyKind:
    if len({leg.quantity for leg in legs}) == 1:
        if len(legs) == 2:
            return _two(legs[0], legs[1])
        if len(legs) == 4:
            return _four(legs)
    if len(legs) == 3:
        return _butterfly(legs)
    return StrategyKind.CUSTOM


def _two(a: _OptionLeg, b: _OptionLeg) -> StrategyKind:
    same_expiry = a.expiry == b.expiry
    same_strike = a.strike == b.strike
    if a.right is b.right:
        if a.sign == b.sign:
            return StrategyKind.CUSTOM
        if same_expiry and not same_strike:
            return _vertical(a, b)
        if same_strike and not same_expiry:
            return StrategyKind.CALENDAR
        if not same_strike and not same_expiry:
            return StrategyKind.DIAGONAL
        return StrategyKind.CUSTOM
    if a.sign != b.sign or not same_expiry:
        return StrategyKind.CUSTOM
    return StrategyKind.STRADDLE if same_strike else StrategyKind.STRANGLE


def _vertical(a: _OptionLeg, b: _OptionLeg) -> StrategyKind:
    long, short = (a, b) if a.sign > 0 else (b, a)
    if long.right is OptionRight.CALL:
        if long.strike < short.strike:
            return StrategyKind.CALL_DEBIT_VERTICAL
        return StrategyKind.CALL_CREDIT_VERTICAL
    if long.strike > short.strike:
        return StrategyKind.PUT_DEBIT_VERTICAL
    return StrategyKind.PUT_CREDIT_VERTICAL


def _butterfly(legs: list[_OptionLeg]) -> StrategyKind:
    if len({leg.right for leg in legs}) != 1 or len({leg.expiry for leg in legs}) != 1:
        return StrategyKind.CUSTOM
    low, mid, high = sorted(legs, key=lambda leg: leg.strike)
    if not low.strike < mid.strike < high.strike:
        return StrategyKind.CUSTOM
    if (
        low.sign == high.sign != mid.sign
        and low.quantity == high.quantity
        and mid.quantity == 2 * low.quantity
        and mid.strike - low.strike == high.strike - mid.strike
    ):
        return StrategyKind.BUTTERFLY
    return StrategyKind.CUSTOM


def _four(legs: list[_OptionLeg]) -> StrategyKind:
    if len({leg.expiry for leg in legs}) != 1:
        return StrategyKind.CUSTOM
    puts = sorted((leg for leg in legs if leg.right is OptionRight.PUT), key=_strike)
    calls = sorted((leg for leg in legs if leg.right is OptionRight.CALL), key=_strike)
    if len(puts) != 2 or len(calls) != 2:
        return StrategyKind.CUSTOM
    (put_low, put_high), (call_low, call_high) = puts, calls
    if put_low.strike == put_high.strike or call_low.strike == call_high.strike:
        return StrategyKind.CUSTOM
    # Inner strikes (higher put, lower call) on one side, wings on the other.
    if not (put_high.sign == call_low.sign != put_low.sign == call_high.sign):
        return StrategyKind.CUSTOM
    if put_high.strike > call_low.strike:
        return StrategyKind.CUSTOM
    if put_high.strike == call_low.strike:
        return StrategyKind.IRON_BUTTERFLY
    return StrategyKind.IRON_CONDOR


def _strike(leg: _OptionLeg) -> Decimal:
    return leg.strike


def _with_stock(stock: Leg, multiplier: Decimal, options: list[_OptionLeg]) -> StrategyKind:
    shares = stock.trip.quantity
    if any(leg.quantity * multiplier != shares for leg in options):
        return StrategyKind.CUSTOM
    calls = [leg for leg in options if leg.right is OptionRight.CALL]
    puts = [leg for leg in options if leg.right is OptionRight.PUT]
    if len(options) == 1:
        if calls and calls[0].sign < 0:
            return StrategyKind.COVERED_CALL
        if puts and puts[0].sign > 0:
            return StrategyKind.PROTECTIVE_PUT
    if len(options) == 2 and len(calls) == 1 and len(puts) == 1:
        call, put = calls[0], puts[0]
        if call.sign < 0 < put.sign and put.strike <= call.strike:
            return StrategyKind.COLLAR
    return StrategyKind.CUSTOM
