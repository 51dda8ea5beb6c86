"""Filters and group-by breakdowns of round trips; a P&L calendar.

Every breakdown group reports the same trade metrics (`TradeSummary`), computed with the
definitions in `tradestats.stats.trades`. Time-based groups use the user's timezone:
month, ISO week and weekday by exit time (the day P&L is realized, as in daily P&L),
hour of day by entry time.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from operator import itemgetter
from typing import Any, TypedDict

from tradestats.journal.matching import Realization
from tradestats.journal.model import AssetClass, RoundTrip
from tradestats.stats import trades as tm
from tradestats.stats.daily import DailyPnl
from tradestats.stats.localtime import LocalClock

_ZERO = Decimal(0)
UNTAGGED = "(untagged)"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# (upper bound in seconds, exclusive; label)
HOLDING_BUCKETS: tuple[tuple[float, str], ...] = (
    (60, "<1m"),
    (300, "1-5m"),
    (1800, "5-30m"),
    (7200, "30m-2h"),
    (86400, "2h-1d"),
    (604800, "1-7d"),
    (float("inf"), ">7d"),
)


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

    def apply(self, round_trips: Iterable[RoundTrip]) -> list[RoundTrip]:
        """The round trips that pass, in input order."""
        return [rt for rt in round_trips if self.matches(rt)]

    def apply_realizations(self, realizations: Iterable[Realization]) -> list[Realization]:
        """Realizations whose round trip passes the attribute criteria and whose own time
        falls in the date range."""
        return [
            r
            for r in realizations
            if self._attributes_match(r.round_trip) and self._in_range(r.time)
        ]


@dataclass(frozen=True, slots=True)
class TradeSummary:
    """The per-group trade metrics (money in `Decimal`, ratios as floats)."""

    count: int
    wins: int
    losses: int
    breakevens: int
    win_rate: float | None
    net_pnl: Decimal
    gross_pnl: Decimal
    fees: Decimal
    profit_factor: float | None
    expectancy: Decimal | None


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
    closed = [rt for rt in round_trips if rt.exit_time is not None]
    nets = [rt.net_pnl for rt in closed]
    grosses = [rt.gross_pnl for rt in closed]
    pnls = nets if basis == "net" else tm.trade_pnls(closed, basis)
    return summarize_values(pnls, nets, grosses, [rt.fees for rt in closed], tolerance)


_FIXED = Decimal(10) ** 9


def _to_fixed(values: Iterable[Decimal]) -> list[int]:
    """Money -> integer units of 1e-9 (round half even)."""
    scale = _FIXED
    return [int((v * scale).to_integral_value()) for v in values]


def _from_fixed(units: int) -> Decimal:
    return Decimal(units) / _FIXED


def _exit(rt: RoundTrip) -> datetime:
    assert rt.exit_time is not None
    return rt.exit_time


class TradeTable:
    """Closed round trips with per-trade columns computed once (P&L, outcome, local
    times), so that each breakdown group is summarized with C-level gathers and sums."""

    __slots__ = (
        "codes",
        "entry_hours",
        "exit_days",
        "fees",
        "grosses",
        "losses",
        "net_basis",
        "nets",
        "pnls",
        "profits",
        "trips",
        "tz",
    )

    def __init__(
        self,
        round_trips: Iterable[RoundTrip],
        tz: tzinfo = UTC,
        basis: tm.Basis = "net",
        tolerance: Decimal = tm.DEFAULT_TOLERANCE,
    ) -> None:
        self.tz = tz
        self.trips = [rt for rt in round_trips if rt.exit_time is not None]
        # Money columns are fixed-point integers in units of 1e-9 (exact for any price
        # with up to 9 decimals; sums of ints are ~20x cheaper than sums of Decimals).
        self.net_basis = basis == "net"
        pnls = tm.trade_pnls(self.trips, basis)
        self.codes = tm.outcomes(pnls, tolerance)
        self.pnls = _to_fixed(pnls)
        self.nets = self.pnls if self.net_basis else _to_fixed(rt.net_pnl for rt in self.trips)
        self.grosses = _to_fixed(rt.gross_pnl for rt in self.trips) if self.net_basis else self.pnls
        self.fees = _to_fixed(rt.fees for rt in self.trips)
        self.profits = [p if p > 0 else 0 for p in self.pnls]
        self.losses = [p if p < 0 else 0 for p in self.pnls]
        clock = LocalClock(tz)
        self.exit_days = [clock.date(_exit(rt)) for rt in self.trips]
        self.entry_hours = [clock.hour(rt.entry_time) for rt in self.trips]

    def summary(self, rows: Sequence[int] | None = None) -> TradeSummary:
        """`TradeSummary` of the given row indices (all rows when None)."""
        if rows is None:
            cols: list[Sequence[Any]] = [
                self.codes,
                self.pnls,
                self.nets,
                self.grosses,
                self.fees,
                self.profits,
                self.losses,
            ]
        elif len(rows) == 1:
            i = rows[0]
            cols = [(c[i],) for c in self._columns()]
        else:
            get = itemgetter(*rows)
            cols = [get(c) for c in self._columns()]
        codes, pnls, nets, grosses, fees, profits, losses = cols
        wins = codes.count(1)
        n_losses = codes.count(-1)
        total_net = _from_fixed(sum(nets))
        total = total_net if self.net_basis else _from_fixed(sum(pnls))
        return TradeSummary(
            count=len(codes),
            wins=wins,
            losses=n_losses,
            breakevens=len(codes) - wins - n_losses,
            win_rate=tm.win_rate(wins, n_losses),
            net_pnl=total_net,
            gross_pnl=_from_fixed(sum(grosses)),
            fees=_from_fixed(sum(fees)),
            profit_factor=tm.profit_factor(_from_fixed(sum(profits)), _from_fixed(sum(losses))),
            expectancy=tm.expectancy(total, len(codes)),
        )

    def _columns(self) -> list[list[Any]]:
        return [
            self.codes,
            self.pnls,
            self.nets,
            self.grosses,
            self.fees,
            self.profits,
            self.losses,
        ]

    def raw_keys(self, grouping: str) -> list[Hashable]:
        """A cheap per-trade key that determines the group label(s)."""
        trips = self.trips
        if grouping == "symbol":
            return [rt.instrument.underlying or rt.instrument.symbol for rt in trips]
        if grouping == "asset_class":
            return [rt.instrument.asset_class.value for rt in trips]
        if grouping == "side":
            return [rt.direction for rt in trips]
        if grouping == "account":
            return [rt.account for rt in trips]
        if grouping == "tag":
            return [tuple(rt.tags) for rt in trips]
        if grouping in ("month", "iso_week", "weekday"):
            return list(self.exit_days)
        if grouping == "hour":
            return list(self.entry_hours)
        if grouping == "holding_time":
            return [holding_bucket((_exit(rt) - rt.entry_time).total_seconds()) for rt in trips]
        raise ValueError(f"unknown grouping {grouping!r}; use one of {', '.join(GROUPINGS)}")


def _labels(grouping: str, raw: Hashable) -> tuple[str, ...]:
    if grouping == "tag":
        assert isinstance(raw, tuple)
        return tuple(dict.fromkeys(str(t) for t in raw)) or (UNTAGGED,)
    if grouping == "month":
        assert isinstance(raw, date)
        return (f"{raw.year:04d}-{raw.month:02d}",)
    if grouping == "iso_week":
        assert isinstance(raw, date)
        year, week, _ = raw.isocalendar()
        return (f"{year}-W{week:02d}",)
    if grouping == "weekday":
        assert isinstance(raw, date)
        return (WEEKDAYS[raw.weekday()],)
    if grouping == "hour":
        return (f"{raw:02d}",)
    return (str(raw),)


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


def holding_bucket(seconds: float) -> str:
    """Label of the holding-time bucket: <1m, 1-5m, 5-30m, 30m-2h, 2h-1d, 1-7d, >7d
    (lower bounds inclusive)."""
    for bound, label in HOLDING_BUCKETS:
        if seconds < bound:
            return label
    return HOLDING_BUCKETS[-1][1]


def group_indices(table: TradeTable, grouping: str) -> dict[str, list[int]]:
    """Row indices of `table` per group label."""
    by_raw: dict[Hashable, list[int]] = {}
    for i, raw in enumerate(table.raw_keys(grouping)):
        rows = by_raw.get(raw)
        if rows is None:
            by_raw[raw] = [i]
        else:
            rows.append(i)
    groups: dict[str, list[int]] = {}
    for raw, rows in by_raw.items():
        for label in _labels(grouping, raw):
            groups.setdefault(label, []).extend(rows)
    for rows in groups.values():
        rows.sort()  # keep exit-time order inside a group
    return groups


def breakdown_table(table: TradeTable, grouping: str) -> dict[str, TradeSummary]:
    """`TradeSummary` per group, labels sorted (weekday and holding time in their
    natural order)."""
    groups = group_indices(table, grouping)
    order = _ORDERS.get(grouping)
    labels = [k for k in order if k in groups] if order is not None else sorted(groups)
    return {label: table.summary(groups[label]) for label in labels}


def breakdown(
    round_trips: Iterable[RoundTrip],
    grouping: str,
    tz: tzinfo = UTC,
    basis: tm.Basis = "net",
    tolerance: Decimal = tm.DEFAULT_TOLERANCE,
) -> dict[str, TradeSummary]:
    """`TradeSummary` per group of closed round trips for one of `GROUPINGS`."""
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}; use one of {', '.join(GROUPINGS)}")
    return breakdown_table(TradeTable(round_trips, tz, basis, tolerance), grouping)


class CalendarDay(TypedDict):
    date: date
    pnl: Decimal
    trades: int


def calendar(
    daily: Iterable[DailyPnl], round_trips: Iterable[RoundTrip] = (), tz: tzinfo = UTC
) -> list[CalendarDay]:
    """One entry per day with realized P&L: {date, pnl, trades}, sorted by date.

    `trades` = round trips whose exit falls on that day in `tz` (0 for a day that only
    had partial closes). Days with closed trades but no realization cannot occur.
    """
    closed: dict[date, int] = {}
    clock = LocalClock(tz)
    for rt in round_trips:
        if rt.exit_time is not None:
            day = clock.date(rt.exit_time)
            closed[day] = closed.get(day, 0) + 1
    return [
        CalendarDay(date=p.day, pnl=p.pnl, trades=closed.get(p.day, 0))
        for p in sorted(daily, key=lambda p: p.day)
    ]
