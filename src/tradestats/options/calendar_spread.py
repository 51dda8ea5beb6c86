"""Earnings calendar-spread ticket: sell the event expiry, buy ~30 days later, same strike."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tradestats.market.types import Chain, OptionContract, Right, Timing


class NoCalendarSpread(ValueError):
    """No valid spread: no expiry after the move, no back month, or no common strike."""


@dataclass(frozen=True, slots=True)
class LiquidityLimits:
    """Warning limits for a leg; also the scales of the liquidity score."""

    wide_spread_pct: float = 0.10  # (ask - bid) / mid above this warns
    low_open_interest: int = 100  # OI below this warns


@dataclass(frozen=True, slots=True)
class LegLiquidity:
    spread_pct: float | None  # (ask - bid) / mid; None without a two-sided quote
    volume: int
    open_interest: int
    zero_bid: bool
    score: float  # 0..100, see leg_liquidity_score


@dataclass(frozen=True, slots=True)
class CalendarSpread:
    right: Right
    strike: float
    front: OptionContract
    back: OptionContract
    debit_mid: float | None  # back.mid - front.mid
    debit_fill: float | None  # back.ask - front.bid
    front_liquidity: LegLiquidity
    back_liquidity: LegLiquidity
    liquidity_score: float  # min of the two legs
    warnings: tuple[str, ...]

    @property
    def front_expiry(self) -> dt.date:
        return self.front.expiry

    @property
    def back_expiry(self) -> dt.date:
        return self.back.expiry


def move_session(earnings_date: dt.date, timing: Timing) -> dt.date:
    """First day whose session trades on the news: ``D`` for BMO, ``D + 1`` for AMC.

    ``unknown`` is treated as AMC (``D + 1``) so the front leg spans the move either way.
    """
    return earnings_date if timing == "BMO" else earnings_date + dt.timedelta(days=1)


def front_expiry(
    earnings_date: dt.date, timing: Timing, expiries: Iterable[dt.date]
) -> dt.date | None:
    """First expiry ``>= move_session(D, timing)`` (BMO: ``>= D``; AMC/unknown: ``>= D+1``)."""
    first = move_session(earnings_date, timing)
    later = sorted(e for e in expiries if e >= first)
    return later[0] if later else None


def back_expiry(
    front: dt.date, expiries: Iterable[dt.date], target_days: int = 30
) -> dt.date | None:
    """Expiry after ``front`` nearest ``front + target_days`` (earlier one on a tie)."""
    target = front + dt.timedelta(days=target_days)
    later = sorted(e for e in expiries if e > front)
    if not later:
        return None
    return min(later, key=lambda e: (abs((e - target).days), e))


def select_strike(front_chain: Chain, back_chain: Chain, spot: float, right: Right) -> float | None:
    """Strike listed in both chains for ``right``: calls the lowest ``K >= spot``, puts the
    highest ``K < spot``; if that side has none, the common strike nearest ``spot``."""
    front_side = front_chain.calls if right == "call" else front_chain.puts
    back_side = back_chain.calls if right == "call" else back_chain.puts
    common = sorted({c.strike for c in front_side} & {c.strike for c in back_side})
    if not common:
        return None
    if right == "call":
        preferred = [k for k in common if k >= spot]
        if preferred:
            return preferred[0]
    else:
        preferred = [k for k in common if k < spot]
        if preferred:
            return preferred[-1]
    return min(common, key=lambda k: (abs(k - spot), k))


def leg_liquidity_score(contract: OptionContract) -> float:
    """Liquidity of one leg on 0..100.

    ``score = 50 * S + 30 * O + 20 * V``, halved when the bid is zero, where
    ``S = clamp(1 - spread_pct / 0.5, 0, 1)`` (0 with no two-sided quote; a 50%-of-mid
    spread scores nothing), ``O = min(1, log10(1 + OI) / 4)`` (10k OI is full marks) and
    ``V = min(1, log10(1 + volume) / 3)`` (1k contracts today is full marks).
    """
    spread = spread_pct(contract)
    s = 0.0 if spread is None else min(1.0, max(0.0, 1.0 - spread / 0.5))
    o = min(1.0, math.log10(1 + max(contract.open_interest, 0)) / 4.0)
    v = min(1.0, math.log10(1 + max(contract.volume, 0)) / 3.0)
    score = 50.0 * s + 30.0 * o + 20.0 * v
    if not contract.has_bid:
        score *= 0.5
    return round(score, 1)


def spread_pct(contract: OptionContract) -> float | None:
    """Bid/ask spread as a fraction of mid: ``(ask - bid) / mid``; ``None`` without a mid."""
    mid = contract.mid
    if mid is None or mid <= 0.0:
        return None
    return (contract.ask - contract.bid) / mid


def leg_liquidity(contract: OptionContract) -> LegLiquidity:
    return LegLiquidity(
        spread_pct=spread_pct(contract),
        volume=contract.volume,
        open_interest=contract.open_interest,
        zero_bid=not contract.has_bid,
        score=leg_liquidity_score(contract),
    )


def leg_warnings(leg: str, contract: OptionContract, limits: LiquidityLimits) -> list[str]:
    """Human-readable warnings for one leg (``leg`` is "front" or "back")."""
    out: list[str] = []
    if not contract.has_bid:
        out.append(f"{leg} leg has no bid")
    spread = spread_pct(contract)
    if spread is None:
        out.append(f"{leg} leg has no two-sided quote")
    elif spread > limits.wide_spread_pct:
        out.append(f"{leg} leg spread is wide ({spread:.0%} of mid)")
    if contract.open_interest < limits.low_open_interest:
        out.append(f"{leg} leg open interest is low ({contract.open_interest})")
    return out


def build_calendar_spread(
    front_chain: Chain,
    back_chain: Chain,
    spot: float,
    right: Right = "call",
    limits: LiquidityLimits | None = None,
) -> CalendarSpread:
    """Ticket for selling ``front_chain``'s and buying ``back_chain``'s option at one strike.

    ``debit_mid = mid(back) - mid(front)``; ``debit_fill = ask(back) - bid(front)``
    (pay the ask on the long leg, receive the bid on the short one: what a market order
    pays). Each is ``None`` when its quotes are missing. Raises ``NoCalendarSpread`` when
    the chains share no strike for ``right``.
    """
    lim = limits or LiquidityLimits()
    strike = select_strike(front_chain, back_chain, spot, right)
    if strike is None:
        raise NoCalendarSpread(
            f"no common {right} strike in {front_chain.expiry} and {back_chain.expiry}"
        )
    front = _at_strike(front_chain.calls if right == "call" else front_chain.puts, strike)
    back = _at_strike(back_chain.calls if right == "call" else back_chain.puts, strike)
    f_mid, b_mid = front.mid, back.mid
    debit_mid = None if f_mid is None or b_mid is None else b_mid - f_mid
    debit_fill = back.ask - front.bid if back.ask > 0.0 else None
    f_liq, b_liq = leg_liquidity(front), leg_liquidity(back)
    warnings = leg_warnings("front", front, lim) + leg_warnings("back", back, lim)
    if debit_mid is not None and debit_mid <= 0.0:
        warnings.append("back month is not more expensive than front at mid (check quotes)")
    return CalendarSpread(
        right=right,
        strike=strike,
        front=front,
        back=back,
        debit_mid=debit_mid,
        debit_fill=debit_fill,
        front_liquidity=f_liq,
        back_liquidity=b_liq,
        liquidity_score=min(f_liq.score, b_liq.score),
        warnings=tuple(warnings),
    )


def calendar_spread(
    earnings_date: dt.date,
    timing: Timing,
    spot: float,
    chains: Sequence[Chain],
    right: Right = "call",
    target_days: int = 30,
    limits: LiquidityLimits | None = None,
) -> CalendarSpread:
    """Pick front (first expiry on/after the move session) and back (nearest front + 30
    days) among ``chains``' expiries, then ``build_calendar_spread``.

    The liquidity score of the spread is the lower leg's: a spread fills only as well as
    its worst leg. Raises ``NoCalendarSpread`` when an expiry or strike is missing.
    """
    by_expiry = {c.expiry: c for c in chains}
    front = front_expiry(earnings_date, timing, by_expiry)
    if front is None:
        raise NoCalendarSpread(f"no expiry on or after the move session of {earnings_date}")
    back = back_expiry(front, by_expiry, target_days)
    if back is None:
        raise NoCalendarSpread(f"no expiry after the front expiry {front}")
    return build_calendar_spread(by_expiry[front], by_expiry[back], spot, right, limits)


def _at_strike(contracts: Sequence[OptionContract], strike: float) -> OptionContract:
    for c in contracts:
        if c.strike == strike:
            return c
    raise NoCalendarSpread(f"strike {strike} missing")  # unreachable via select_strike
