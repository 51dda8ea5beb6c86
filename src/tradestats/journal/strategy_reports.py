"""Strategy positions of the stored journal: loaded, grouped, cached, filtered.

Grouping needs every leg of an account (a filter must not split a spread), so positions
are built from all stored round trips of the account and the filters then select whole
positions. Built positions are cached in-process per (database, journal version, account,
window), and so are the selections and statistics read from them; any write to the
journal bumps the version and retires them. Concurrent callers asking for the same
thing share one computation (`SingleFlight`): on a large journal a cold one takes
seconds and the browser retries slow requests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine

from tradestats.journal.reports import MixedCurrencies
from tradestats.journal.single_flight import SingleFlight
from tradestats.journal.strategies import (
    DEFAULT_WINDOW_SECONDS,
    StrategyKind,
    StrategyPosition,
    group_legs,
)
from tradestats.stats import trades as tm
from tradestats.stats.strategies import StrategyStatistics
from tradestats.stats.strategies import strategy_statistics as position_statistics
from tradestats.store import journal_repo, strategy_queries

T = TypeVar("T")


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
        if self.strategy is not None and p.strategy is not self.strategy:
            return False
        if self.side is not None and p.direction != self.side:
            return False
        symbol = self.symbol
        if (
            symbol is not None
            and p.underlying != symbol
            and not any(
                symbol in (leg.trip.instrument.symbol, leg.trip.instrument.underlying)
                for leg in p.legs
            )
        ):
            return False
        if self.asset_class is not None and not any(
            leg.trip.instrument.asset_class.value == self.asset_class for leg in p.legs
        ):
            return False
        return self.tag is None or any(self.tag in leg.trip.tags for leg in p.legs)

    def apply(self, positions: Iterable[StrategyPosition]) -> list[StrategyPosition]:
        """The closed positions that pass, in input order."""
        if self == _EVERY_CLOSED:  # the dashboard's default: no per-position call
            return [p for p in positions if p.exit_time is not None]
        return [p for p in positions if self.matches(p)]


_EVERY_CLOSED = PositionFilter()


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


_Key = tuple[Any, ...]


class _LruCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Key, Any] = OrderedDict()

    def get(self, key: _Key) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: _Key, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_CACHE = _LruCache(8)  # positions per (database, version, account, window)
_SELECTIONS = _LruCache(8)  # sorted selections of those positions (up to one list each)
_RESULTS = _LruCache(64)  # statistics of those positions (small)
_FLIGHTS = SingleFlight()


def _version(engine: Engine) -> str:
    with engine.connect() as conn:
        return journal_repo.journal_version(conn)


def _positions(
    engine: Engine, version: str, account: str | None, window_seconds: float
) -> list[StrategyPosition]:
    key = (engine.url.render_as_string(), version, account, float(window_seconds))
    cached: list[StrategyPosition] | None = _CACHE.get(key)
    if cached is not None:
        return cached

    def compute() -> list[StrategyPosition]:
        again: list[StrategyPosition] | None = _CACHE.get(key)
        if again is not None:  # another caller's computation ended just before this one
            return again
        with engine.connect() as conn:
            current = journal_repo.journal_version(conn)
            legs = strategy_queries.load_legs(conn, account)  # (each step pauses the GC)
        positions = group_legs(legs, window_seconds)
        _CACHE.put((*key[:1], current, *key[2:]), positions)
        return positions

    return _FLIGHTS.do(("positions", key), compute)


def _cached(cache: _LruCache, key: _Key, compute: Callable[[], T]) -> T:
    """`compute()` once per key: cached, and shared by concurrent callers."""
    cached: T | None = cache.get(key)
    if cached is not None:
        return cached

    def run() -> T:
        again: T | None = cache.get(key)
        if again is not None:
            return again
        value = compute()
        cache.put(key, value)
        return value

    return _FLIGHTS.do(key, run)


def load_positions(
    engine: Engine, account: str | None, window_seconds: float = DEFAULT_WINDOW_SECONDS
) -> list[StrategyPosition]:
    """Every strategy position (open ones included) of `account` (None = all accounts),
    in entry order. Callers must not mutate the returned list or its positions."""
    return _positions(engine, _version(engine), account, window_seconds)


def select_positions(
    engine: Engine,
    account: str | None,
    window_seconds: float,
    selection: PositionFilter,
    sort: str,
    descending: bool,
) -> list[StrategyPosition]:
    """The closed positions of `account` that pass `selection`, ordered as
    `sort_positions` orders them. Callers must not mutate the returned list."""
    version = _version(engine)

    def compute() -> list[StrategyPosition]:
        positions = _positions(engine, version, account, window_seconds)
        return sort_positions(selection.apply(positions), sort, descending)

    key = ("selection", engine.url.render_as_string(), version, account, float(window_seconds))
    return _cached(_SELECTIONS, (*key, selection, sort, descending), compute)


def strategy_statistics(
    engine: Engine,
    account: str | None,
    window_seconds: float,
    selection: PositionFilter,
    basis: tm.Basis = "net",
) -> StrategyStatistics:
    """Metrics of the closed positions of `account` that pass `selection`."""
    version = _version(engine)

    def compute() -> StrategyStatistics:
        positions = _positions(engine, version, account, window_seconds)
        return position_statistics(selection.apply(positions), basis)

    key = ("statistics", engine.url.render_as_string(), version, account, float(window_seconds))
    return _cached(_RESULTS, (*key, selection, basis), compute)


def strategy_currency(engine: Engine, account: str | None, window_seconds: float) -> str | None:
    """The base currency the strategy figures of `account` (None: all accounts) are in:
    the one base currency of the accounts that have positions. Raises `MixedCurrencies`
    when those accounts' base currencies differ (their P&L cannot be added up); None
    when there is no position."""
    positions = _positions(engine, _version(engine), account, window_seconds)
    with engine.connect() as conn:
        bases = {a.name: a.base_currency for a in journal_repo.list_accounts(conn)}
    names = {p.account for p in positions} if account is None else {account}
    currencies = {name: bases[name] for name in names if name in bases}
    if len(set(currencies.values())) > 1:
        raise MixedCurrencies(currencies)
    return next(iter(currencies.values()), None)


def warm_cache(engine: Engine) -> StrategyStatistics:
    """Compute and cache what the dashboard's Performance view asks for first: the
    whole journal's strategy statistics (net, default window). The positions stay
    cached too, so other filters skip the database load and the grouping."""
    return strategy_statistics(engine, None, DEFAULT_WINDOW_SECONDS, PositionFilter(), "net")
