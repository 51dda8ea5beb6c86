"""Past earnings reactions: next-session close-to-close moves and their summary."""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tradestats.market.types import Bar, EarningsEvent

PRICE_BASIS = "close-to-close, using the bars' close as supplied by the provider"


@dataclass(frozen=True, slots=True)
class EarningsMove:
    """Reaction to one event; ``move`` is ``None`` with a ``reason`` when not measurable."""

    event: EarningsEvent
    before_date: dt.date | None
    after_date: dt.date | None
    before_close: float | None
    after_close: float | None
    move: float | None  # fraction: 0.05 == +5%
    reason: str | None = None

    @property
    def inferred(self) -> bool:
        return self.event.inferred


@dataclass(frozen=True, slots=True)
class EarningsMoveSummary:
    """Over measured moves only; statistics are ``None`` when ``count == 0``."""

    count: int
    skipped: int
    mean: float | None
    median: float | None
    min: float | None
    max: float | None
    mean_abs_move: float | None
    up_share: float | None  # share of moves > 0
    price_basis: str = PRICE_BASIS


def earnings_move(event: EarningsEvent, bars: Sequence[Bar]) -> EarningsMove:
    """Next-session reaction to ``event`` (``bars`` ascending by date, one per session).

    - BMO on ``D``: ``close(D) / close(previous session) - 1``
    - AMC on ``D``: ``close(next session) / close(D) - 1``

    The announcement day must be a session in ``bars``. Unknown timing, a missing
    session, or an event whose reaction has not traded yet gives ``move=None`` with a
    reason: dates are never guessed. ``event`` (incl. ``inferred``) is kept as given.
    """
    dates = [b.date for b in bars]
    i = bisect.bisect_left(dates, event.date)
    on_day = i < len(dates) and dates[i] == event.date

    def skip(reason: str) -> EarningsMove:
        return EarningsMove(event, None, None, None, None, None, reason)

    if event.timing == "unknown":
        return skip("timing unknown: cannot tell which session reacted")
    if not on_day:
        if i >= len(dates):
            return skip("no session on or after the announcement yet")
        return skip("announcement day is not a session in the bars")
    if event.timing == "BMO":
        if i == 0:
            return skip("no session before the announcement")
        before, after = bars[i - 1], bars[i]
    else:
        if i + 1 >= len(bars):
            return skip("the reaction session has not closed yet")
        before, after = bars[i], bars[i + 1]
    if before.close <= 0.0:
        return skip("non-positive close")
    return EarningsMove(
        event, before.date, after.date, before.close, after.close, after.close / before.close - 1
    )


def earnings_moves(events: Iterable[EarningsEvent], bars: Sequence[Bar]) -> list[EarningsMove]:
    """``earnings_move`` for each event, in date order."""
    ordered = sorted(bars, key=lambda b: b.date)
    return [earnings_move(e, ordered) for e in sorted(events, key=lambda e: e.date)]


def summarize_moves(moves: Iterable[EarningsMove]) -> EarningsMoveSummary:
    """count, mean, median, min, max of measured moves; ``mean_abs_move = mean(|m|)``;
    ``up_share = #(m > 0) / count``. Unmeasured moves are counted in ``skipped``."""
    all_moves = list(moves)
    ms = [m.move for m in all_moves if m.move is not None]
    skipped = len(all_moves) - len(ms)
    if not ms:
        return EarningsMoveSummary(0, skipped, None, None, None, None, None, None)
    return EarningsMoveSummary(
        count=len(ms),
        skipped=skipped,
        mean=statistics.fmean(ms),
        median=statistics.median(ms),
        min=min(ms),
        max=max(ms),
        mean_abs_move=statistics.fmean(abs(m) for m in ms),
        up_share=sum(1 for m in ms if m > 0) / len(ms),
    )
