"""Per-trade columns of closed round trips, computed once and shared by every breakdown.

`TradeTable` turns each closed round trip into a row of plain columns: win/loss flags
(`tradestats.stats.trades.outcomes`), basis P&L split into its positive and negative
part, the other P&L (gross under a net basis, net under a gross basis) and fees, all as
fixed-point integers in units of 1e-9 money (exact for amounts with up to 9 decimals;
integer sums are exact and ~20x cheaper than Decimal sums).

A group's `TradeSummary` only needs sums of those columns, and sums of integers can be
taken in any order, so breakdowns aggregate *cells* first -- one per distinct
(symbol, asset class, side, account, tags), one per local exit day, one per
(entry hour, holding bucket) -- and then add the few cell totals into group labels
(month, ISO week and weekday are functions of the exit day, and so on). Rows are
gathered into cells with one integer sort instead of one Python loop per grouping.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from decimal import Decimal
from itertools import accumulate, repeat
from operator import attrgetter, itemgetter
from typing import Any

from tradestats.journal.model import RoundTrip
from tradestats.stats import trades as tm
from tradestats.stats.localtime import LocalClock, local_dates

_FIXED = Decimal(10) ** 9
_INSTRUMENT = attrgetter("instrument")
_UNDERLYING = attrgetter("underlying")
_ASSET_CLASS = attrgetter("asset_class")
_DIRECTION = attrgetter("direction")
_ACCOUNT = attrgetter("account")
_TAGS = attrgetter("tags")
_TZINFO = attrgetter("tzinfo")
_HOUR = attrgetter("hour")
_FEES = attrgetter("fees")
_EXIT = attrgetter("exit_time")
_ENTRY = attrgetter("entry_time")

#: the cell passes and the groupings each one serves
CELL_PASSES: dict[str, tuple[str, ...]] = {
    "attributes": ("symbol", "asset_class", "side", "account", "tag"),
    "exit_day": ("month", "iso_week", "weekday"),
    "entry_hold": ("hour", "holding_time"),
}


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


def to_fixed(values: Iterable[Decimal]) -> list[int]:
    """Money -> integer units of 1e-9 (round half even)."""
    return list(map(int, map(Decimal.to_integral_value, map(_FIXED.__mul__, values))))


def from_fixed(units: int) -> Decimal:
    return Decimal(units) / _FIXED


def _gather(column: Sequence[Any], rows: Sequence[int]) -> Sequence[Any]:
    if len(rows) == 1:
        return (column[rows[0]],)
    return itemgetter(*rows)(column) if rows else ()


class TradeTable:
    """Closed round trips with per-trade columns computed once (outcome flags, fixed-point
    money, local times), so that groups are summarized with C-level gathers and sums.

    An aggregate is ``[count, wins, losses, profit, loss, other, fees]``: profit and loss
    are the sums of the positive and negative basis P&L (their sum is the basis total),
    `other` is the gross total under a net basis and the net total under a gross basis.
    """

    __slots__ = (
        "_cells",
        "_seconds",
        "columns",
        "fees",
        "net_basis",
        "others",
        "pnls",
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
        self.trips = trips = tm.closed_trips(round_trips)
        #: basis P&L, the other P&L (gross under net, net under gross) and fees, Decimal
        self.pnls = pnls = tm.trade_pnls(trips, basis)
        self.net_basis = basis == "net"
        fixed = to_fixed(pnls)
        self.others = other = tm.trade_pnls(trips, "gross" if self.net_basis else "net")
        self.fees = fees = list(map(_FEES, trips))
        self.columns: tuple[list[Any], ...] = (
            list(map(tolerance.__lt__, pnls)),  # win: pnl > tolerance
            list(map((-tolerance).__gt__, pnls)),  # loss: pnl < -tolerance
            list(map(max, fixed, repeat(0))),
            list(map(min, fixed, repeat(0))),
            to_fixed(other),
            to_fixed(fees),
        )
        self._cells: dict[str, dict[Hashable, list[int]]] = {}
        self._seconds: list[float] | None = None

    def holding_seconds(self) -> list[float]:
        """`tradestats.stats.trades.holding_seconds` of the rows, computed once."""
        if self._seconds is None:
            self._seconds = tm.holding_seconds(self.trips)
        return self._seconds

    def aggregate(self, rows: Sequence[int] | None = None) -> list[int]:
        """The aggregate of the given row indices (all rows when None)."""
        wins, losses, *sums = (
            self.columns if rows is None else [_gather(c, rows) for c in self.columns]
        )
        return [len(wins), wins.count(True), losses.count(True), *map(sum, sums)]

    def summary(self, rows: Sequence[int] | None = None) -> TradeSummary:
        """`TradeSummary` of the given row indices (all rows when None)."""
        return self.summary_of(self.aggregate(rows))

    def summary_of(self, agg: Sequence[int]) -> TradeSummary:
        """`TradeSummary` of an aggregate (see the class docstring)."""
        count, wins, losses, profit, loss, other, fees = agg
        total = from_fixed(profit + loss)
        other_total = from_fixed(other)
        return TradeSummary(
            count=count,
            wins=wins,
            losses=losses,
            breakevens=count - wins - losses,
            win_rate=tm.win_rate(wins, losses),
            net_pnl=total if self.net_basis else other_total,
            gross_pnl=other_total if self.net_basis else total,
            fees=from_fixed(fees),
            profit_factor=tm.profit_factor(from_fixed(profit), from_fixed(loss)),
            expectancy=tm.expectancy(total, count),
        )

    def cells(self, name: str) -> dict[Hashable, list[int]]:
        """Aggregate per distinct cell key of pass `name` (one of `CELL_PASSES`)."""
        cells = self._cells.get(name)
        if cells is None:
            cells = self._cells[name] = self._aggregate_by(self.cell_keys(name))
        return cells

    def _aggregate_by(self, keys: list[Hashable]) -> dict[Hashable, list[int]]:
        n = len(keys)
        distinct = list(dict.fromkeys(keys))
        if len(distinct) <= 1:
            return {k: self.aggregate() for k in distinct}
        ids = dict(zip(distinct, range(len(distinct)), strict=True))
        row_ids = list(map(ids.__getitem__, keys))
        order = sorted(range(n), key=row_ids.__getitem__)  # rows grouped by cell
        counts = Counter(row_ids)
        wins, losses, *sums = [_gather(c, order) for c in self.columns]
        out: dict[Hashable, list[int]] = {}
        start = 0
        for key, stop in zip(
            distinct, accumulate(map(counts.__getitem__, range(len(ids)))), strict=True
        ):
            out[key] = [
                stop - start,
                wins[start:stop].count(True),
                losses[start:stop].count(True),
                *(sum(s[start:stop]) for s in sums),
            ]
            start = stop
        return out

    def cell_keys(self, name: str) -> list[Hashable]:
        """Per-row cell key of pass `name` (one of `CELL_PASSES`)."""
        trips = self.trips
        if name == "attributes":
            instruments = list(map(_INSTRUMENT, trips))
            symbols: list[str] = list(map(_UNDERLYING, instruments))
            if not all(symbols):  # underlying or, failing that, the symbol
                symbols = [i.underlying or i.symbol for i in instruments]
            return list(
                zip(
                    symbols,
                    map(_ASSET_CLASS, instruments),
                    map(_DIRECTION, trips),
                    map(_ACCOUNT, trips),
                    map(tuple, map(_TAGS, trips)),
                    strict=True,
                )
            )
        if name == "exit_day":
            return list(local_dates(list(map(_EXIT, trips)), self.tz))
        if name == "entry_hold":
            seconds = self.holding_seconds()
            buckets = map(bisect_right, repeat(HOLDING_BOUNDS), seconds)
            return list(zip(self.entry_hours(), buckets, strict=True))
        raise ValueError(f"unknown cell pass {name!r}")

    def entry_hours(self) -> Iterator[int]:
        """Hour of day (0-23) of each entry time in the table's timezone."""
        entries = list(map(_ENTRY, self.trips))
        if set(map(_TZINFO, entries)) <= {self.tz}:
            return map(_HOUR, entries)  # already local: astimezone would return them as is
        return map(LocalClock(self.tz).hour, entries)


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
HOLDING_BOUNDS: tuple[float, ...] = tuple(bound for bound, _ in HOLDING_BUCKETS)


def holding_bucket(seconds: float) -> str:
    """Label of the holding-time bucket: <1m, 1-5m, 5-30m, 30m-2h, 2h-1d, 1-7d, >7d
    (lower bounds inclusive)."""
    return bucket_label(bisect_right(HOLDING_BOUNDS, seconds))


def bucket_label(index: int) -> str:
    """Label of the bucket whose bound is the first one above the holding time."""
    return HOLDING_BUCKETS[min(index, len(HOLDING_BUCKETS) - 1)][1]
