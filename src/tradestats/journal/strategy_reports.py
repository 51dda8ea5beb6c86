"""Strategy positions of the stored journal: loaded, grouped, cached, filtered.

Grouping needs every leg of an account (a filter must not split a spread), so positions
are built from all stored round trips of the account and the filters then select whole
positions. Built positions are cached in-process per (database, journal version, account,
window); any write to the journal bumps the version and retires them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from tradestats.journal.strategies import (
    DEFAULT_WINDOW_SECONDS,
    StrategyKind,
    StrategyPosition,
    group_legs,
)
from tradestats.store import journal_repo, strategy_queries


@dataclass(frozen=True)
class PositionFilter:
    """Which positions a read covers; None means "any".

    `symbol` matches the underlying or any leg's symbol; `side` the position's direction
    (long = opened for a net debit); `asset_class` and `tag` match when any leg has
    them; `start`/`end` bound the exit time (UTC, start inclusive, end exclusive).
    """

    symbol: str | None = None
    side: str | None = None
    asset_class: str | None = None
    tag: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    strategy: StrategyKind | None = None

    def matches(self, p: StrategyPosition) -> bool:
        if p.exit_time is None:
            return False
        if self.start is not None and p.exit_time < self.start:
            return False
        if self.end is not None and p.exit_time >= self.end:
            return False
        legs = [leg.trip for leg in p.legs]
        return (
            (self.strategy is None or p.strategy is self.strategy)
            and (self.side is None or p.direction == self.side)
            and (
                self.symbol is None
                or p.underlying == self.symbol
                or any(self.symbol in (t.instrument.symbol, t.instrument.underlying) for t in legs)
            )
            and (
                self.asset_class is None
                or any(t.instrument.asset_class.value == self.asset_class for t in legs)
            )
            and (self.tag is None or any(self.tag in t.tags for t in legs))
        )

    def apply(self, positions: Iterable[StrategyPosition]) -> list[StrategyPosition]:
        """The closed positions that pass, in input order."""
        return [p for p in positions if self.matches(p)]


def _holding(p: StrategyPosition) -> float:
    return p.holding_seconds or 0.0


SORT_KEYS: dict[str, Callable[[StrategyPosition], Any]] = {
    "exit_time": lambda p: p.exit_time,
    "entry_time": lambda p: p.entry_time,
    "net_pnl": lambda p: p.net_pnl,
    "holding_seconds": _holding,
    "underlying": lambda p: p.underlying,
}


def sort_positions(
    positions: list[StrategyPosition], sort: str, descending: bool
) -> list[StrategyPosition]:
    """Positions ordered by `sort` (a key of SORT_KEYS), ties by entry time then id."""
    key = SORT_KEYS[sort]
    ordered = sorted(positions, key=lambda p: (p.entry_time, p.id or ""), reverse=descending)
    ordered.sort(key=key, reverse=descending)  # stable: keeps the tie order
    return ordered


class _PositionsCache:
    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, str | None, float], list[StrategyPosition]] = (
            OrderedDict()
        )

    def get(self, key: tuple[str, str, str | None, float]) -> list[StrategyPosition] | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[str, str, str | None, float], value: list[StrategyPosition]) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_CACHE = _PositionsCache()


def load_positions(
    engine: Engine, account: str | None, window_seconds: float = DEFAULT_WINDOW_SECONDS
) -> list[StrategyPosition]:
    """Every strategy position (open ones included) of `account` (None = all accounts),
    in entry order. Callers must not mutate the returned list or its positions."""
    with engine.connect() as conn:
        version = journal_repo.journal_version(conn)
        key = (engine.url.render_as_string(), version, account, float(window_seconds))
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        legs = strategy_queries.load_legs(conn, account)
    positions = group_legs(legs, window_seconds)
    _CACHE.put(key, positions)
    return positions
