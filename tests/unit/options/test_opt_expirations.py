from __future__ import annotations

import datetime as dt

from tradestats.options.expirations import days_to_expiry, select_expirations

TODAY = dt.date(2026, 11, 26)


def d(days: int) -> dt.date:
    return TODAY + dt.timedelta(days=days)


def test_through_first_expiry_at_least_45_days() -> None:
    expiries = [d(30), d(1), d(8), d(44), d(45), d(52), d(80)]
    assert select_expirations(expiries, TODAY) == [d(1), d(8), d(30), d(44), d(45)]


def test_first_beyond_45_is_included() -> None:
    assert select_expirations([d(50), d(3), d(90)], TODAY) == [d(3), d(50)]


def test_today_and_past_are_excluded_duplicates_removed() -> None:
    assert select_expirations([d(0), d(-7), d(2), d(2), d(60)], TODAY) == [d(2), d(60)]


def test_none_reaching_45_returns_all_future() -> None:
    assert select_expirations([d(3), d(10)], TODAY) == [d(3), d(10)]
    assert select_expirations([], TODAY) == []
    assert select_expirations([d(0), d(-1)], TODAY) == []


def test_dte_calendar_days() -> None:
    assert days_to_expiry(dt.date(2026, 12, 18), TODAY) == 22
