from __future__ import annotations

import datetime as dt

import pytest

from tradestats.market.types import Bar, EarningsEvent
from tradestats.options.earnings_history import earnings_moves, summarize_moves

# Mon..Fri sessions with closes 100, 110, 99, 99, 108.9
DAYS = [dt.date(2026, 11, 2) + dt.timedelta(days=i) for i in range(5)]
CLOSES = [100.0, 110.0, 99.0, 99.0, 108.9]
BARS = [Bar(d, c, c, c, c, 1) for d, c in zip(DAYS, CLOSES, strict=True)]


def ev(day: int, timing: str, inferred: bool = False) -> EarningsEvent:
    return EarningsEvent("XYZ", DAYS[0] + dt.timedelta(days=day), timing, inferred, "t")  # type: ignore[arg-type]


def test_bmo_and_amc_moves() -> None:
    bmo, amc = earnings_moves([ev(1, "BMO"), ev(3, "AMC", inferred=True)], BARS)
    assert bmo.move == pytest.approx(110 / 100 - 1)
    assert (bmo.before_date, bmo.after_date) == (DAYS[0], DAYS[1])
    assert amc.move == pytest.approx(108.9 / 99 - 1)
    assert (amc.before_date, amc.after_date) == (DAYS[3], DAYS[4])
    assert amc.inferred and not bmo.inferred


def test_unmeasurable_events_are_skipped_not_guessed() -> None:
    moves = earnings_moves(
        [ev(0, "BMO"), ev(4, "AMC"), ev(5, "BMO"), ev(2, "unknown"), ev(30, "AMC"), ev(-10, "AMC")],
        BARS,
    )
    assert all(m.move is None and m.reason for m in moves)
    assert [m.event.date for m in moves] == sorted(m.event.date for m in moves)


def test_summary() -> None:
    moves = earnings_moves([ev(1, "BMO"), ev(2, "BMO"), ev(3, "AMC"), ev(2, "unknown")], BARS)
    s = summarize_moves(moves)
    ms = [0.10, 99 / 110 - 1, 108.9 / 99 - 1]
    assert s.count == 3 and s.skipped == 1
    assert s.mean == pytest.approx(sum(ms) / 3)
    assert s.median == pytest.approx(0.10)
    assert s.min == pytest.approx(min(ms)) and s.max == pytest.approx(max(ms))
    assert s.mean_abs_move == pytest.approx(sum(abs(m) for m in ms) / 3)
    assert s.up_share == pytest.approx(2 / 3)
    assert "close-to-close" in s.price_basis


def test_empty_summary() -> None:
    s = summarize_moves([])
    assert s.count == 0 and s.mean is None and s.up_share is None
