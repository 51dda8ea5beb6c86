from __future__ import annotations

import datetime as dt

import pytest

from tradestats.market.types import Chain, OptionContract, Right
from tradestats.options.expected_move import atm_straddle_mid, expected_move

EXP = dt.date(2026, 11, 27)
ASOF = dt.datetime(2026, 11, 26, 21, tzinfo=dt.UTC)


def opt(strike: float, right: Right, bid: float, ask: float) -> OptionContract:
    return OptionContract(EXP, strike, right, bid, ask, None, 10, 100, 0.5)


def chain(calls: list[OptionContract], puts: list[OptionContract]) -> Chain:
    return Chain("XYZ", EXP, tuple(calls), tuple(puts), "test", ASOF)


def test_expected_move_hand_computed() -> None:
    c = chain(
        [opt(95, "call", 6.0, 6.4), opt(100, "call", 2.9, 3.1), opt(105, "call", 1.0, 1.2)],
        [opt(95, "put", 0.9, 1.1), opt(100, "put", 2.4, 2.6), opt(105, "put", 5.8, 6.2)],
    )
    # (3.0 + 2.5) / 99 (strike 100 nearest 99)
    assert atm_straddle_mid(c, 99.0) == pytest.approx(5.5)
    assert expected_move(c, 99.0) == pytest.approx(5.5 / 99.0)


def test_zero_bid_mid_is_half_ask_like_reference() -> None:
    c = chain([opt(100, "call", 0.0, 0.4)], [opt(100, "put", 0.2, 0.4)])
    assert expected_move(c, 100.0) == pytest.approx((0.2 + 0.3) / 100.0)


def test_missing_side_or_quotes_gives_none() -> None:
    assert expected_move(chain([opt(100, "call", 1, 1.2)], []), 100.0) is None
    no_ask = chain([opt(100, "call", 0, 0)], [opt(100, "put", 1, 1.2)])
    assert expected_move(no_ask, 100.0) is None
    assert expected_move(chain([], []), 100.0) is None
    ok = chain([opt(100, "call", 1, 1.2)], [opt(100, "put", 1, 1.2)])
    assert expected_move(ok, 0.0) is None


def test_partial_chain_uses_nearest_quoted_strike_per_side() -> None:
    c = chain([opt(100, "call", 2, 2.2)], [opt(100, "put", 0, 0), opt(95, "put", 1, 1.2)])
    assert expected_move(c, 100.0) == pytest.approx((2.1 + 1.1) / 100.0)
