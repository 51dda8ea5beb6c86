from __future__ import annotations

import datetime as dt
import math

import pytest

from tradestats.market.types import Chain, OptionContract, Right
from tradestats.options.calendar_spread import (
    NoCalendarSpread,
    back_expiry,
    build_calendar_spread,
    calendar_spread,
    front_expiry,
    leg_liquidity_score,
    select_strike,
)

ASOF = dt.datetime(2026, 11, 26, 21, tzinfo=dt.UTC)
THU = dt.date(2026, 11, 26)
FRI = dt.date(2026, 11, 27)
EXPIRIES = [
    THU,
    FRI,
    dt.date(2026, 12, 4),
    dt.date(2026, 12, 18),
    dt.date(2026, 12, 31),
    dt.date(2027, 1, 15),
]


def opt(
    expiry: dt.date,
    strike: float,
    right: Right,
    bid: float,
    ask: float,
    oi: int = 500,
    volume: int = 100,
) -> OptionContract:
    return OptionContract(expiry, strike, right, bid, ask, None, volume, oi, 0.5)


def chain(expiry: dt.date, strikes: list[float], base: float) -> Chain:
    calls = tuple(opt(expiry, k, "call", base, base + 0.2) for k in strikes)
    puts = tuple(opt(expiry, k, "put", base, base + 0.2) for k in strikes)
    return Chain("XYZ", expiry, calls, puts, "test", ASOF)


def test_front_expiry_bmo_vs_amc() -> None:
    # BMO Thursday: the move is Thursday's session, Thursday's expiry spans it
    assert front_expiry(THU, "BMO", EXPIRIES) == THU
    # AMC Thursday: the move is Friday, so the front must be >= Friday
    assert front_expiry(THU, "AMC", EXPIRIES) == FRI
    assert front_expiry(THU, "unknown", EXPIRIES) == FRI
    assert front_expiry(dt.date(2027, 2, 1), "BMO", EXPIRIES) is None


def test_back_expiry_nearest_front_plus_30() -> None:
    assert back_expiry(FRI, EXPIRIES) == dt.date(2026, 12, 31)  # target Dec 27: 4 days off
    assert back_expiry(dt.date(2026, 12, 4), EXPIRIES) == dt.date(2026, 12, 31)  # Jan 3: 3 vs 12
    assert back_expiry(dt.date(2026, 12, 18), EXPIRIES) == dt.date(2027, 1, 15)  # Jan 17
    assert back_expiry(dt.date(2027, 1, 15), EXPIRIES) is None
    # tie (target +-3 days): the earlier expiry
    tie = [dt.date(2026, 1, 2), dt.date(2026, 1, 28), dt.date(2026, 2, 3)]
    assert back_expiry(dt.date(2026, 1, 1), tie) == dt.date(2026, 1, 28)


def test_strike_selection_common_and_side() -> None:
    f = chain(FRI, [95, 100, 105, 110], 1.0)
    b = chain(dt.date(2026, 12, 31), [90, 100, 110], 2.0)
    assert select_strike(f, b, 101.0, "call") == 110  # 105 not listed in back
    assert select_strike(f, b, 101.0, "put") == 100
    assert select_strike(f, b, 100.0, "call") == 100  # at spot counts for calls
    assert select_strike(f, b, 100.0, "put") == 100  # none common below: nearest common
    assert select_strike(f, b, 120.0, "call") == 110  # nothing above: nearest common
    assert select_strike(f, chain(FRI, [], 1.0), 100.0, "call") is None


def test_put_strictly_below_spot() -> None:
    f = chain(FRI, [95, 100, 105], 1.0)
    b = chain(dt.date(2026, 12, 31), [95, 100, 105], 2.0)
    assert select_strike(f, b, 100.0, "put") == 95


def test_debits_mid_and_fill() -> None:
    f = Chain("XYZ", FRI, (opt(FRI, 100, "call", 2.00, 2.20),), (), "test", ASOF)
    back = dt.date(2026, 12, 31)
    b = Chain("XYZ", back, (opt(back, 100, "call", 3.50, 3.80),), (), "test", ASOF)
    s = build_calendar_spread(f, b, 99.0, "call")
    assert s.strike == 100
    assert s.debit_mid == pytest.approx(3.65 - 2.10)
    assert s.debit_fill == pytest.approx(3.80 - 2.00)
    assert (s.front_expiry, s.back_expiry) == (FRI, back)
    assert s.liquidity_score == min(s.front_liquidity.score, s.back_liquidity.score)


def test_liquidity_score_formula() -> None:
    c = opt(FRI, 100, "call", 1.90, 2.10, oi=999, volume=99)
    spread = 0.2 / 2.0
    expected = 50 * (1 - spread / 0.5) + 30 * math.log10(1000) / 4 + 20 * math.log10(100) / 3
    assert leg_liquidity_score(c) == pytest.approx(round(expected, 1))
    full = opt(FRI, 100, "call", 2.0, 2.0, oi=10**5, volume=10**4)
    assert leg_liquidity_score(full) == 100.0
    zero_bid = opt(FRI, 100, "call", 0.0, 0.10, oi=0, volume=0)
    assert leg_liquidity_score(zero_bid) == 0.0  # spread 200% of mid, no OI, no volume
    assert 0 <= leg_liquidity_score(opt(FRI, 1, "call", 0.0, 5.0, oi=10**5)) <= 100


def test_warnings_no_bid_wide_and_low_oi() -> None:
    f = Chain("XYZ", FRI, (opt(FRI, 100, "call", 0.0, 0.30, oi=20),), (), "test", ASOF)
    back = dt.date(2026, 12, 31)
    b = Chain("XYZ", back, (opt(back, 100, "call", 1.0, 1.5, oi=5000),), (), "test", ASOF)
    s = build_calendar_spread(f, b, 100.0, "call")
    assert "front leg has no bid" in s.warnings
    assert any(w.startswith("front leg spread is wide") for w in s.warnings)
    assert "front leg open interest is low (20)" in s.warnings
    assert any(w.startswith("back leg spread is wide (40%") for w in s.warnings)
    assert not any("back leg open interest" in w for w in s.warnings)
    assert s.front_liquidity.zero_bid and s.debit_fill == pytest.approx(1.5)


def test_calendar_spread_end_to_end_and_errors() -> None:
    chains = [chain(e, [95, 100, 105], 1.0 + i) for i, e in enumerate(EXPIRIES)]
    s = calendar_spread(THU, "AMC", 101.0, chains, "call")
    assert (s.front_expiry, s.back_expiry, s.strike) == (FRI, dt.date(2026, 12, 31), 105)
    assert s.debit_mid == pytest.approx(3.0)  # (5.1) - (2.1)
    with pytest.raises(NoCalendarSpread):
        calendar_spread(dt.date(2027, 1, 15), "AMC", 101.0, chains)
    with pytest.raises(NoCalendarSpread):
        calendar_spread(dt.date(2027, 1, 15), "BMO", 101.0, chains)  # no back month
    empty = [Chain("XYZ", e, (), (), "test", ASOF) for e in EXPIRIES]
    with pytest.raises(NoCalendarSpread, match="no common call strike"):
        calendar_spread(THU, "AMC", 101.0, empty)
