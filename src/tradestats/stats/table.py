"""Per-trade columns of closed round trips, computed once and shared by every metric.

`TradeTable` reads each closed round trip once (one C-level pass over the objects: at a
million fills they do not fit in any cache, so every pass over them is paid in memory
stalls) and keeps plain columns: basis P&L, the other P&L (gross under a net basis, net
under a gross basis) and fees as exact integers in units of ``10**-scale`` money, the
win/loss flags (`tradestats.stats.trades.outcomes`), times and attributes.

The integers are exact, not rounded (`tradestats.stats.fixed.fixed_columns`). Sums,
comparisons and extremes of integers can be taken in any order and cost a fraction of
their Decimal counterparts; a sum converted back to `Decimal` is the exact sum of the
Decimals, so every figure equals the Decimal definition in `trades`.

A group's `TradeSummary` only needs sums of those columns, so breakdowns aggregate
*cells* first -- one per distinct (symbol, asset class, side, account, tags), one per
local exit day, one per (entry hour, holding bucket) -- and then add the few cell totals
into group labels (month, ISO week and weekday are functions of the exit day, and so
on). Rows are gathered into cells with one integer sort per pass (none for exit days
when exits are in time order, the usual case: each day is then a slice).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from itertools import accumulate, compress, repeat
from operator import add, attrgetter, itemgetter, mul, sub, truediv
from typing import Any, cast

from tradestats.journal.model import AssetClass, Instrument, RoundTrip
from tradestats.stats import trades as tm
from tradestats.stats.fixed import fixed_columns
from tradestats.stats.localtime import LocalClock, day_runs, local_dates

_TZINFO = attrgetter("tzinfo")
_UNDERLYING = attrgetter("underlying")
_ASSET_CLASS = attrgetter("asset_class")
_HOUR = attrgetter("hour")
#: everything the report needs from a round trip, read in one pass (see `TradeTable`)
_ROW = attrgetter(
    "exit_time",
    "entry_time",
    "net_pnl",
    "gross_pnl",
    "fees",
    "risk",
    "instrument",
    "direction",
    "account",
    "tags",
)
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


def _gather(column: Sequence[Any], rows: Sequence[int]) -> Sequence[Any]:
    if len(rows) == 1:
        return (column[rows[0]],)
    return itemgetter(*rows)(column) if rows else ()


def _positive(units: Iterable[int]) -> Iterator[int]:
    return filter((0).__lt__, units)


def _negative(units: Iterable[int]) -> Iterator[int]:
    return filter((0).__gt__, units)


class TradeTable:
    """Closed round trips with per-trade columns computed once (outcome flags, fixed-point
    money, times and attributes), so that metrics and groups are C-level passes.

    An aggregate is ``[count, wins, losses, profit, loss, other, fees]`` in fixed-point
    units: profit and loss are the sums of the positive and negative basis P&L (their sum
    is the basis total), `other` is the gross total under a net basis and the net total
    under a gross basis.
    """

    __slots__ = (
        "_accounts",
        "_cells",
        "_directions",
        "_instruments",
        "_seconds",
        "_tags",
        "_total",
        "columns",
        "entries",
        "exits",
        "fee_units",
        "fees",
        "net_basis",
        "other_units",
        "others",
        "pnl_units",
        "pnls",
        "risks",
        "scale",
        "tolerance",
        "tolerance_units",
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
        if basis not in ("net", "gross"):
            raise ValueError(f"basis must be 'net' or 'gross', got {basis!r}")
        self.tz = tz
        self.tolerance = tolerance
        trips = round_trips if isinstance(round_trips, list) else list(round_trips)
        rows = list(map(_ROW, trips))
        if rows and None in map(itemgetter(0), rows):  # drop open round trips
            keep = [row[0] is not None for row in rows]
            trips = list(compress(trips, keep))
            rows = list(compress(rows, keep))
        self.trips: list[RoundTrip] = trips
        cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 10
        self.exits: Sequence[datetime] = cols[0]
        self.entries: Sequence[datetime] = cols[1]
        nets: Sequence[Decimal] = cols[2]
        grosses: Sequence[Decimal] = cols[3]
        self.risks: Sequence[Decimal | None] = cols[5]
        self._instruments: Sequence[Instrument] = cols[6]
        self._directions: Sequence[str] = cols[7]
        self._accounts: Sequence[str] = cols[8]
        self._tags: Sequence[list[str]] = cols[9]
        self.net_basis = basis == "net"
        #: basis P&L, the other P&L (gross under net, net under gross) and fees, Decimal
        self.pnls: Sequence[Decimal] = nets if self.net_basis else grosses
        self.others: Sequence[Decimal] = grosses if self.net_basis else nets
        self.fees: Sequence[Decimal] = cols[4]
        self.scale, (pnl, other, fees, (tol,)) = fixed_columns(
            [self.pnls, self.others, self.fees, (tolerance,)]
        )
        self.pnl_units = pnl
        self.other_units = other
        self.fee_units = fees
        self.tolerance_units = tol
        self.columns: tuple[list[Any], ...] = (
            list(map(tol.__lt__, pnl)),  # win: pnl > tolerance
            list(map((-tol).__gt__, pnl)),  # loss: pnl < -tolerance
            list(map(max, pnl, repeat(0))),
            list(map(min, pnl, repeat(0))),
            other,
            fees,
        )
        self._cells: dict[str, dict[Hashable, list[int]]] = {}
        self._seconds: list[float] | None = None
        self._total: list[int] | None = None

    # -- columns -------------------------------------------------------------------

    def money(self, units: int) -> Decimal:
        """Fixed-point units of this table -> Decimal money (exact within 28 digits)."""
        return Decimal(units).scaleb(-self.scale)

    def floats(self) -> list[float]:
        """Basis P&L as floats (each the correctly rounded value of the Decimal)."""
        return list(map(truediv, self.pnl_units, repeat(10**self.scale)))

    def holding_seconds(self) -> list[float]:
        """`tradestats.stats.trades.holding_seconds` of the rows, computed once."""
        if self._seconds is None:
            self._seconds = list(map(timedelta.total_seconds, map(sub, self.exits, self.entries)))
        return self._seconds

    # -- round-trip metrics over all rows (definitions in `trades`) ------------------

    def win_units(self) -> list[int]:
        """Basis P&L of the wins (pnl > tolerance), in row order."""
        return list(compress(self.pnl_units, self.columns[0]))

    def loss_units(self) -> list[int]:
        """Basis P&L of the losses (pnl < -tolerance), in row order."""
        return list(compress(self.pnl_units, self.columns[1]))

    def largest_win(self) -> Decimal | None:
        """`trades.largest_win`: max basis P&L > 0."""
        best = max(_positive(self.pnl_units), default=None)
        return None if best is None else self.money(best)

    def largest_loss(self) -> Decimal | None:
        """`trades.largest_loss`: min basis P&L < 0."""
        worst = min(_negative(self.pnl_units), default=None)
        return None if worst is None else self.money(worst)

    def gross_turnover(self) -> Decimal:
        """sum(|gross_pnl|), the denominator of `trades.fees_pct_of_gross`."""
        gross = self.other_units if self.net_basis else self.pnl_units
        return self.money(sum(map(abs, gross)))

    # -- aggregates ----------------------------------------------------------------

    def aggregate(self, rows: Sequence[int] | None = None) -> list[int]:
        """The aggregate of the given row indices (all rows when None, computed once)."""
        if rows is None and self._total is not None:
            return list(self._total)
        wins, losses, *sums = (
            self.columns if rows is None else [_gather(c, rows) for c in self.columns]
        )
        agg = [len(wins), wins.count(True), losses.count(True), *map(sum, sums)]
        if rows is None:
            self._total = agg
            return list(agg)
        return agg

    def _aggregate_slice(self, start: int, stop: int) -> list[int]:
        wins, losses, *sums = (c[start:stop] for c in self.columns)
        return [stop - start, wins.count(True), losses.count(True), *map(sum, sums)]

    def summary(self, rows: Sequence[int] | None = None) -> TradeSummary:
        """`TradeSummary` of the given row indices (all rows when None)."""
        return self.summary_of(self.aggregate(rows))

    def summary_of(self, agg: Sequence[int]) -> TradeSummary:
        """`TradeSummary` of an aggregate (see the class docstring)."""
        count, wins, losses, profit, loss, other, fees = agg
        money = self.money
        total = money(profit + loss)
        other_total = money(other)
        return TradeSummary(
            count=count,
            wins=wins,
            losses=losses,
            breakevens=count - wins - losses,
            win_rate=tm.win_rate(wins, losses),
            net_pnl=total if self.net_basis else other_total,
            gross_pnl=other_total if self.net_basis else total,
            fees=money(fees),
            profit_factor=tm.profit_factor(money(profit), money(loss)),
            expectancy=tm.expectancy(total, count),
        )

    def cells(self, name: str) -> dict[Hashable, list[int]]:
        """Aggregate per distinct cell key of pass `name` (one of `CELL_PASSES`)."""
        cells = self._cells.get(name)
        if cells is None:
            if name == "attributes":
                cells = self._attribute_cells()
            elif name == "exit_day":
                cells = self._exit_day_cells()
            elif name == "entry_hold":
                # (hour, bucket) as one small integer: hour * 8 + bucket (buckets 0-7)
                codes: list[Hashable] = list(
                    map(add, map(mul, self.entry_hours(), repeat(8)), self._buckets())
                )
                cells = {
                    divmod(cast(int, code), 8): agg
                    for code, agg in self._aggregate_by(codes).items()
                }
            else:
                raise ValueError(f"unknown cell pass {name!r}")
            self._cells[name] = cells
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

    def _attribute_cells(self) -> dict[Hashable, list[int]]:
        # Rows are keyed by small integers -- (symbol, asset class) code of the
        # instrument object, side, account, tags -- so that hashing never calls into
        # Python (enum and dataclass hashes do); cells are relabelled once at the end.
        inst_ids = list(map(id, self._instruments))
        by_id = dict(zip(inst_ids, self._instruments, strict=True))
        distinct = list(by_id.values())
        names: list[str] = list(map(_UNDERLYING, distinct))
        if not all(names):  # the underlying or, failing that, the symbol
            names = [i.underlying or i.symbol for i in distinct]
        classes: list[AssetClass] = list(map(_ASSET_CLASS, distinct))
        # enum members are singletons: their id() stands for them in the key
        pair_keys = list(zip(names, map(id, classes), strict=True))
        pair_of = dict(zip(pair_keys, zip(names, classes, strict=True), strict=True))
        code_of_pair = dict(zip(pair_of, range(len(pair_of)), strict=True))
        code_of = dict(zip(by_id, map(code_of_pair.__getitem__, pair_keys), strict=True))
        pairs = list(pair_of.values())
        tags = self._tags
        tag_keys = map(tuple, tags) if any(tags) else repeat((), len(tags))
        keys: list[Hashable] = list(
            zip(
                map(code_of.__getitem__, inst_ids),
                self._directions,
                self._accounts,
                tag_keys,
                strict=True,
            )
        )
        cells: dict[Hashable, list[int]] = {}
        for key, agg in self._aggregate_by(keys).items():
            code, side, account, tag = cast(tuple[int, str, str, tuple[str, ...]], key)
            cells[(*pairs[code], side, account, tag)] = agg
        return cells

    def _exit_day_cells(self) -> dict[Hashable, list[int]]:
        runs = day_runs(self.exits, self.tz)
        if len(runs) > 64 and len(runs) > 2 * len({day for _, _, day in runs}):
            # exits far from time order: one sort beats a slice per run
            days: list[Hashable] = []
            for start, stop, day in runs:
                days.extend(repeat(day, stop - start))
            return self._aggregate_by(days)
        out: dict[Hashable, list[int]] = {}
        for start, stop, day in runs:  # in exit order: each day is one slice
            agg = self._aggregate_slice(start, stop)
            acc = out.get(day)
            out[day] = agg if acc is None else list(map(add, acc, agg))
        return out

    def _buckets(self) -> Iterator[int]:
        return map(bisect_right, repeat(HOLDING_BOUNDS), self.holding_seconds())

    def cell_keys(self, name: str) -> list[Hashable]:
        """Per-row cell key of pass `name` (one of `CELL_PASSES`)."""
        trips = self.trips
        if name == "attributes":
            return [
                (
                    rt.instrument.underlying or rt.instrument.symbol,
                    rt.instrument.asset_class,
                    rt.direction,
                    rt.account,
                    tuple(rt.tags),
                )
                for rt in trips
            ]
        if name == "exit_day":
            return list(local_dates(self.exits, self.tz))
        if name == "entry_hold":
            return list(zip(self.entry_hours(), self._buckets(), strict=True))
        raise ValueError(f"unknown cell pass {name!r}")

    def entry_hours(self) -> Iterator[int]:
        """Hour of day (0-23) of each entry time in the table's timezone."""
        entries = self.entries
        if set(map(_TZINFO, entries)) <= {self.tz}:
            return map(_HOUR, entries)  # already local: astimezone would return them as is
        return map(LocalClock(self.tz).hour, entries)

    def exit_day_counts(self) -> dict[date, int]:
        """Closed round trips per local exit date."""
        return {cast(date, day): agg[0] for day, agg in self.cells("exit_day").items()}


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
