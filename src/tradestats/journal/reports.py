"""Statistics reports over the stored journal, cached per data version.

Every surface (API, CLI, HTML report) calls `journal_report`, which calls the one
definition of each metric in `tradestats.stats`. A report is cached in-process keyed by
the journal's data version (bumped by every import, undo, annotation or lot-method
change) and the request's parameters, so repeated dashboard reads do not recompute
statistics over hundreds of thousands of trades; any write invalidates every entry.

Money is in the base currency of the account(s), named by the report's ``currency``
(see `journal_queries.load_for_stats`). A report over all accounts whose trades are in
accounts of different base currencies is refused (`MixedCurrencies`): adding EUR and USD
would be a silent mix; choose an account.
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


class MixedCurrencies(ValueError):
    """The report's accounts have different base currencies (`currencies`: account ->
    base currency, the accounts with trades)."""

    def __init__(self, currencies: dict[str, str]) -> None:
        self.currencies = currencies
        listed = ", ".join(f"{name} ({cur})" for name, cur in sorted(currencies.items()))
        super().__init__(
            f"the accounts have different base currencies: {listed}; their P&L cannot be "
            "added up; choose one account"
        )


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
                trips, realized = journal_queries.load_for_stats(conn, params.account)
                bases = {a.name: a.base_currency for a in journal_repo.list_accounts(conn)}
            loaded = (trips, realized, _currencies(bases, params.account, trips, realized))
            _CACHE.put_loaded((version, params.account), loaded)
        return loaded

    trips, realized, currencies = _FLIGHTS.do(("load", version, params.account), load)
    if len(set(currencies.values())) > 1:
        raise MixedCurrencies(currencies)
    currency = next(iter(currencies.values()), None)
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
    report["currency"] = currency
    report["version"] = version
    _CACHE.put((version, params), report)
    return report


def _currencies(
    bases: dict[str, str], account: str | None, trips: list[Any], realized: list[Any]
) -> dict[str, str]:
    """The base currency of each account the report covers: `account`'s, or, over all
    accounts, those of the accounts with round trips or realizations (only looked up
    when the accounts do not all share one base currency)."""
    if account is not None:
        return {account: bases[account]} if account in bases else {}
    if len(set(bases.values())) <= 1:
        return bases
    used = {t.account for t in trips} | {r.account for r in realized}
    return {name: bases[name] for name in used if name in bases}


def warm_cache(engine: Engine) -> dict[str, Any]:
    """Compute and cache the report the dashboard asks for first: the whole journal,
    net, days in UTC (see `tradestats.server.warm_statistics`). The loaded round trips
    stay cached too, so other filters and zones skip the database load."""
    return journal_report(engine, ReportParams())
