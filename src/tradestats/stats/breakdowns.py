"""Filters and group-by breakdowns of round trips; a P&L calendar.

Every breakdown group reports the same trade metrics (`TradeSummary`), computed with the
definitions in `tradestats.stats.trades`. Time-based groups use the user's timezone:
month, ISO week and weekday by exit time (the day P&L is realized, as in daily P&L),
hour of day by entry time. Per-trade columns and cell aggregation live in
`tradestats.stats.table`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from operator import attrgetter
from typing import TypedDict

from tradestats.journal.matching import Realization
from tradestats.journal.model import AssetClass, RoundTrip
from tradestats.stats import trades as tm
from tradestats.stats.daily import DailyPnl
from tradestats.stats.localtime import local_dates
from tradestats.stats.table import (
    CELL_PASSES,
    HOLDING_BUCKETS,
    TradeSummary,
    TradeTable,
    bucket_label,
    holding_bucket,
)

__all__ = [
    "GROUPINGS",
    "HOLDING_BUCKETS",
    "UNTAGGED",
    "WEEKDAYS",
    "CalendarDay",
    "TradeFilter",
    "TradeSummary",
    "TradeTable",
    "breakdown",
    "breakdown_table",
    "calendar",
    "group_indices",
    "holding_bucket",
    "summarize",
    "summarize_values",
]

UNTAGGED = "(untagged)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_FEES = attrgetter("fees")
_EXIT = attrgetter("exit_time")


@dataclass(frozen=True, slots=True)
class TradeFilter:
    """Which round trips a report covers. None means "any".

    `symbol` matches the instrument symbol or its underlying; `side` is "long"/"short";
    `start`/`end` are inclusive calendar dates of the exit time in `tz` (for a
    realization, of its time).
    """

    account: str | None = None
    symbol: str | None = None
    side: str | None = None
    asset_class: AssetClass | None = None
    tag: str | None = None
    start: date | None = None
    end: date | None = None
    tz: tzinfo = UTC

    def _in_range(self, when: datetime | None) -> bool:
        if self.start is None and self.end is None:
            return True
        if when is None:
            return False
        day = when.astimezone(self.tz).date()
        if self.start is not None and day < self.start:
            return False
        return self.end is None or day <= self.end

    def _attributes_match(self, rt: RoundTrip) -> bool:
        inst = rt.instrument
        return (
            (self.account is None or rt.account == self.account)
            and (self.symbol is None or self.symbol in (inst.symbol, inst.underlying))
            and (self.side is None or rt.direction == self.side)
            and (self.asset_class is None or inst.asset_class == self.asset_class)
            and (self.tag is None or self.tag in rt.tags)
        )

    def matches(self, rt: RoundTrip) -> bool:
        """True when the round trip passes every criterion (date: its exit date)."""
        return self._attributes_match(rt) and self._in_range(rt.exit_time)

    def _is_everything(self) -> bool:
        return (
            self.account is None
            and self.symbol is None
            and self.side is None
            and self.asset_class is None
            and self.tag is None
            and self.start is None
            and self.end is None
        )

    def apply(self, round_trips: Iterable[RoundTrip]) -> list[RoundTrip]:
        """The round trips that pass, in input order."""
        if self._is_everything():
            return list(round_trips)
        return [rt for rt in round_trips if self.matches(rt)]

    def apply_realizations(self, realizations: Iterable[Realization]) -> list[Realization]:
        """Realizations whose round trip passes the attribute criteria and whose own time
        falls in the date range."""
        if self._is_everything():
            return list(realizations)
        return [
            r
            for r in realizations
            if self._attributes_match(r.round_trip) and self._in_range(r.time)
        ]


def summarize_values(
    pnls: Sequence[Decimal],
    nets: Sequence[Decimal],
    grosses: Sequence[Decimal],
    fees: Sequence[Decimal],
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> TradeSummary:
    """`TradeSummary` from per-trade columns; `pnls` is the basis (net or gross) P&L."""
    wins, losses, breakevens = tm.outcome_counts(pnls, tolerance)
    profit, loss = tm.profit_and_loss(pnls)
    return TradeSummary(
        count=tm.trade_count(pnls),
        wins=wins,
        losses=losses,
        breakevens=breakevens,
        win_rate=tm.win_rate(wins, losses),
        net_pnl=tm.total_pnl(nets),
        gross_pnl=tm.total_pnl(grosses),
        fees=tm.total_pnl(fees),
        profit_factor=tm.profit_factor(profit, loss),
        expectancy=tm.expectancy(tm.total_pnl(pnls), len(pnls)),
    )


def summarize(
    round_trips: Iterable[RoundTrip],
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> TradeSummary:
    """Trade metrics of the closed round trips; wins/losses/PF/expectancy on `basis`."""
    closed = tm.closed_trips(round_trips)
    nets = tm.trade_pnls(closed, "net")
    grosses = tm.trade_pnls(closed, "gross")
    pnls = nets if basis == "net" else tm.trade_pnls(closed, basis)
    return summarize_values(pnls, nets, grosses, list(map(_FEES, closed)), tolerance)


GROUPINGS: tuple[str, ...] = (
    "symbol",
    "asset_class",
    "side",
    "account",
    "tag",
    "month",
    "iso_week",
    "weekday",
    "hour",
    "holding_time",
)
"""Breakdown groupings. Month, ISO week ("YYYY-Www") and weekday ("Mon".."Sun") are of
the exit in the user's timezone; hour ("00".."23") of the entry; symbol is the
underlying; tag puts a trade with several tags in each of them ("(untagged)" if none);
holding_time uses `HOLDING_BUCKETS`."""

_ORDERS: dict[str, Sequence[str]] = {
    "weekday": WEEKDAYS,
    "holding_time": [label for _, label in HOLDING_BUCKETS],
}
_PASS_OF: dict[str, str] = {g: name for name, gs in CELL_PASSES.items() for g in gs}
# position of each grouping's raw key in the cell key of its pass
_ATTRIBUTE_INDEX = {"symbol": 0, "asset_class": 1, "side": 2, "account": 3, "tag": 4}
# the part of a cell key its labels depend on (the whole key for exit days)
_RAW_INDEX = {**_ATTRIBUTE_INDEX, "hour": 0, "holding_time": 1}


def _pass_of(grouping: str) -> str:
    name = _PASS_OF.get(grouping)
    if name is None:
        raise ValueError(f"unknown grouping {grouping!r}; use one of {', '.join(GROUPINGS)}")
    return name


def _cell_labels(grouping: str, cell: Hashable) -> tuple[str, ...]:
    """Group label(s) of a cell key of the grouping's pass."""
    if grouping in _ATTRIBUTE_INDEX:
        assert isinstance(cell, tuple)
        raw = cell[_ATTRIBUTE_INDEX[grouping]]
        if grouping == "tag":
            return tuple(dict.fromkeys(str(t) for t in raw)) or (UNTAGGED,)
        return (str(raw.value if grouping == "asset_class" else raw),)
    if grouping == "hour":
        assert isinstance(cell, tuple)
        return (f"{cell[0]:02d}",)
    if grouping == "holding_time":
        assert isinstance(cell, tuple)
        return (bucket_label(cell[1]),)
    assert isinstance(cell, date)
    if grouping == "month":
        return (f"{cell.year:04d}-{cell.month:02d}",)
    if grouping == "iso_week":
        year, week, _ = cell.isocalendar()
        return (f"{year}-W{week:02d}",)
    return (WEEKDAYS[cell.weekday()],)


def group_indices(table: TradeTable, grouping: str) -> dict[str, list[int]]:
    """Row indices of `table` per group label (in row order)."""
    by_cell: dict[Hashable, list[int]] = {}
    for i, cell in enumerate(table.cell_keys(_pass_of(grouping))):
        by_cell.setdefault(cell, []).append(i)
    groups: dict[str, list[int]] = {}
    for cell, rows in by_cell.items():
        for label in _cell_labels(grouping, cell):
            groups.setdefault(label, []).extend(rows)
    for rows in groups.values():
        rows.sort()
    return groups


def breakdown_table(table: TradeTable, grouping: str) -> dict[str, TradeSummary]:
    """`TradeSummary` per group, labels sorted (weekday and holding time in their
    natural order).

    A group's aggregate is the sum of the aggregates of its cells (exact: integers).
    """
    cells = table.cells(_pass_of(grouping))
    index = _RAW_INDEX.get(grouping)
    labels_of: dict[Hashable, tuple[str, ...]] = {}  # raw key -> labels: few distinct
    members: dict[str, list[list[int]]] = {}
    for cell, agg in cells.items():
        raw = cell if index is None else cell[index]  # type: ignore[index]
        labels = labels_of.get(raw)
        if labels is None:
            labels = labels_of[raw] = _cell_labels(grouping, cell)
        for label in labels:
            group = members.get(label)
            if group is None:
                members[label] = [agg]
            else:
                group.append(agg)
    order = _ORDERS.get(grouping)
    names = [k for k in order if k in members] if order is not None else sorted(members)
    return {
        label: table.summary_of([sum(column) for column in zip(*members[label], strict=True)])
        for label in names
    }


def breakdown(
    round_trips: Iterable[RoundTrip],
    grouping: str,
    tz: tzinfo = UTC,
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> dict[str, TradeSummary]:
    """`TradeSummary` per group of closed round trips for one of `GROUPINGS`."""
    _pass_of(grouping)
    return breakdown_table(TradeTable(round_trips, tz, basis, tolerance), grouping)


class CalendarDay(TypedDict):
    date: date
    pnl: Decimal
    trades: int


def calendar(
    daily: Iterable[DailyPnl],
    round_trips: Iterable[RoundTrip] = (),
    tz: tzinfo = UTC,
    *,
    trades_per_day: Mapping[date, int] | None = None,
) -> list[CalendarDay]:
    """One entry per day with realized P&L: {date, pnl, trades}, sorted by date.

    `trades` = round trips whose exit falls on that day in `tz` (0 for a day that only
    had partial closes). Days with closed trades but no realization cannot occur.
    `trades_per_day`, when given, is that count already made (`TradeTable.
    exit_day_counts`) and `round_trips` is not read.
    """
    closed: Mapping[date, int]
    if trades_per_day is not None:
        closed = trades_per_day
    else:
        exits = list(filter(None, map(_EXIT, round_trips)))  # closed ones (truthy)
        closed = Counter(local_dates(exits, tz))
    return [
        CalendarDay(date=p.day, pnl=p.pnl, trades=closed.get(p.day, 0))
        for p in sorted(daily, key=lambda p: p.day)
    ]
