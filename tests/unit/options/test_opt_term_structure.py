from __future__ import annotations

import datetime as dt

import pytest

from tradestats.market.types import Chain, OptionContract, Right
from tradestats.options.term_structure import (
    TermStructure,
    atm_iv,
    iv30,
    nearest_strike,
    term_structure_slope,
)

EXP = dt.date(2026, 12, 18)
ASOF = dt.datetime(2026, 11, 26, 21, tzinfo=dt.UTC)


def opt(
    strike: float, right: Right, iv: float | None, bid: float = 1.0, ask: float = 1.2
) -> OptionContract:
    return OptionContract(EXP, strike, right, bid, ask, None, 10, 100, iv)


def chain(calls: list[OptionContract], puts: list[OptionContract]) -> Chain:
    return Chain("XYZ", EXP, tuple(calls), tuple(puts), "test", ASOF)


def test_interpolation_and_flat_ends() -> None:
    ts = TermStructure.from_points([(40, 0.30), (10, 0.50), (20, 0.40)])
    assert ts.dtes == (10, 20, 40)
    assert ts(15) == pytest.approx(0.45)
    assert ts(30) == pytest.approx(0.35)
    assert ts(20) == pytest.approx(0.40)
    assert ts(1) == pytest.approx(0.50)  # flat before the first point
    assert ts(400) == pytest.approx(0.30)  # flat after the last
    assert iv30(ts) == pytest.approx(0.35)


def test_duplicate_dtes_are_averaged_and_empty_raises() -> None:
    ts = TermStructure.from_points([(10, 0.2), (10, 0.4)])
    assert ts(10) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        TermStructure.from_points([])


def test_slope_hand_computed() -> None:
    ts = TermStructure.from_points([(5, 0.80), (25, 0.50), (50, 0.40)])
    # TS(45) = 0.50 + (0.40 - 0.50) * 20 / 25 = 0.42; slope = (0.42 - 0.80) / 40
    assert term_structure_slope(ts) == pytest.approx((0.42 - 0.80) / 40)


def test_slope_dte0_at_or_beyond_45_is_zero() -> None:
    assert term_structure_slope(TermStructure.from_points([(45, 0.3)])) == 0.0
    assert term_structure_slope(TermStructure.from_points([(45, 0.3), (80, 0.2)])) == 0.0
    assert term_structure_slope(TermStructure.from_points([(60, 0.3)])) == 0.0


def test_single_point_before_45_is_flat() -> None:
    ts = TermStructure.from_points([(7, 0.6)])
    assert term_structure_slope(ts) == 0.0
    assert iv30(ts) == pytest.approx(0.6)


def test_atm_iv_mean_of_nearest_call_and_put() -> None:
    c = chain(
        [opt(95, "call", 0.50), opt(100, "call", 0.40), opt(105, "call", 0.38)],
        [opt(95, "put", 0.46), opt(100, "put", 0.44), opt(105, "put", 0.42)],
    )
    assert atm_iv(c, 101.0) == pytest.approx((0.40 + 0.44) / 2)


def test_atm_iv_partial_chains() -> None:
    calls_only = chain([opt(100, "call", 0.40)], [])
    assert atm_iv(calls_only, 100.0) == pytest.approx(0.40)
    # the put at the ATM strike has no IV: the nearest put with one is used
    c = chain([opt(100, "call", 0.40)], [opt(100, "put", None), opt(105, "put", 0.5)])
    assert atm_iv(c, 100.0) == pytest.approx(0.45)
    assert atm_iv(chain([], []), 100.0) is None
    assert atm_iv(chain([opt(100, "call", None)], [opt(100, "put", 0.0)]), 100.0) is None


def test_nearest_strike_tie_takes_lower() -> None:
    picked = nearest_strike([opt(105, "call", 0.3), opt(95, "call", 0.3)], 100.0)
    assert picked is not None and picked.strike == 95
