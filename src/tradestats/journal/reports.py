"""Statistics reports over the stored journal, cached per data version.

Every surface (API, CLI, HTML report) calls `journal_report`, which calls the one
definition of each metric in `tradestats.stats`. A report is cached in-process keyed by
the journal's data version (bumped by every import, undo, annotation or lot-method
change) and the request's parameters, so repeated dashboard reads do not recompute
statistics over hundreds of thousands of trades; any write invalidates every entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from tradestats.journal.model import AssetClass
from tradestats.journal.single_flight import SingleFlight as _SingleFlight
from tradestats.stats.breakdowns import TradeFilter
from tradestats.stats.report import full_report
from tradestats.store import journal_queries, journal_repo


@dataclass(frozen=True)
class ReportParams:
    account: str | None = None
    symbol: str | None = None
    side: str | None = None
    asset_class: str | None = None
    tag: str | None = None
    start: date | None = None
    end: date | None = None
    tz: str = "UTC"
    basis: str = "net"
    capital: Decimal = Decimal(10000)
    annualization: int = 252


class _ReportCache:
    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, ReportParams], dict[str, Any]] = OrderedDict()
        # Loaded trips per (version, account): several filters share one load.
        self._loaded: OrderedDict[tuple[str, str | None], Any] = OrderedDict()

    def get(self, key: tuple[str, ReportParams]) -> dict[str, Any] | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[str, ReportParams], value: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def loaded(self, key: tuple[str, str | None]) -> Any:
        with self._lock:
            return self._loaded.get(key)

    def put_loaded(self, key: tuple[str, str | None], value: Any) -> None:
        with self._lock:
            self._loaded[key] = value
            while len(self._loaded) > 2:
                self._loaded.popitem(last=False)


_CACHE = _ReportCache()
_FLIGHTS = _SingleFlight()


def journal_report(engine: Engine, params: ReportParams) -> dict[str, Any]:
    """KPIs, breakdowns, equity curve and calendar for `params` (see stats.report)."""
    with engine.connect() as conn:
        version = journal_repo.journal_version(conn)
    cached = _CACHE.get((version, params))
    if cached is not None:
        return cached
    return _FLIGHTS.do(("report", version, params), lambda: _compute(engine, version, params))


def _compute(engine: Engine, version: str, params: ReportParams) -> dict[str, Any]:
    cached = _CACHE.get((version, params))
    if cached is not None:  # another caller's computation ended just before this one began
        return cached

    def load() -> Any:
        loaded = _CACHE.loaded((version, params.account))
        if loaded is None:
            with engine.connect() as conn:
                loaded = journal_queries.load_for_stats(conn, params.account)
            _CACHE.put_loaded((version, params.account), loaded)
        return loaded

    trips, realized = _FLIGHTS.do(("load", version, params.account), load)
    tz = ZoneInfo(params.tz)
    trade_filter = TradeFilter(
        account=params.account,
        symbol=params.symbol,
        side=params.side,
        asset_class=AssetClass(params.asset_class) if params.asset_class else None,
        tag=params.tag,
        start=params.start,
        end=params.end,
        tz=tz,
    )
    report = full_report(
        trips,
        realized,
        trade_filter,
        tz=tz,
        starting_capital=params.capital,
        basis=params.basis,  # type: ignore[arg-type]
        annualization=params.annualization,
    )
    report["version"] = version
    _CACHE.put((version, params), report)
    return report


def warm_cache(engine: Engine) -> dict[str, Any]:
    """Compute and cache the report the dashboard asks for first: the whole journal,
    net, days in UTC (see `tradestats.server.warm_statistics`). The loaded round trips
    stay cached too, so other filters and zones skip the database load."""
    return journal_report(engine, ReportParams())
