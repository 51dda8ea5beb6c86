"""Which listed expiries the earnings screen looks at."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

TARGET_DTE = 45


def days_to_expiry(expiry: dt.date, today: dt.date) -> int:
    """DTE in calendar days: ``(expiry - today).days``."""
    return (expiry - today).days


def select_expirations(
    expiries: Iterable[dt.date], today: dt.date, target_dte: int = TARGET_DTE
) -> list[dt.date]:
    """Every future expiry up to and including the first one at least ``target_dte`` out.

    ``{e : 0 < DTE(e) <= DTE(e*)}`` where ``e*`` is the first expiry with
    ``DTE >= target_dte`` (calendar days). Today's expiry and past ones are dropped
    (DTE 0 would make the term structure meaningless). Input order and duplicates do not
    matter; the result is ascending.

    If no expiry reaches ``target_dte`` every future expiry is returned (the reference
    calculator raises instead): the term structure is then extrapolated flat beyond its
    last point, which callers can see from the points they get back. Empty in, empty out.
    """
    future = sorted({e for e in expiries if days_to_expiry(e, today) > 0})
    for i, expiry in enumerate(future):
        if days_to_expiry(expiry, today) >= target_dte:
            return future[: i + 1]
    return future
