from __future__ import annotations

import itertools

import pytest

from tradestats.options.verdict import Checks, Thresholds, evaluate_checks, verdict

# (volume, iv30/rv30, slope) -> verdict, all 8 rows
TRUTH = {
    (True, True, True): "Recommended",
    (True, False, True): "Consider",
    (False, True, True): "Consider",
    (False, False, True): "Avoid",
    (True, True, False): "Avoid",
    (True, False, False): "Avoid",
    (False, True, False): "Avoid",
    (False, False, False): "Avoid",
}


@pytest.mark.parametrize("flags", list(itertools.product([True, False], repeat=3)))
def test_full_truth_table(flags: tuple[bool, bool, bool]) -> None:
    vol, ratio, slope = flags
    assert verdict(Checks(vol, ratio, slope)) == TRUTH[flags]


def test_threshold_boundaries_inclusive() -> None:
    t = Thresholds()
    assert (t.min_avg_volume, t.min_iv30_rv30, t.max_slope) == (1_500_000, 1.25, -0.00406)
    assert evaluate_checks(1_500_000, 1.25, -0.00406) == Checks(True, True, True)
    assert evaluate_checks(1_499_999, 1.2499, -0.00405) == Checks(False, False, False)


def test_none_fails_and_custom_thresholds() -> None:
    assert evaluate_checks(None, None, None) == Checks(False, False, False)
    t = Thresholds(min_avg_volume=10, min_iv30_rv30=1.0, max_slope=0.0)
    assert evaluate_checks(10, 1.0, 0.0, t) == Checks(True, True, True)
    assert isinstance(evaluate_checks(2e6, 2.0, -0.01).slope, bool)
