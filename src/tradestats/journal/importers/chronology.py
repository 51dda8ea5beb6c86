"""Time order and option removals for exports that give a day per row, not a time.

Schwab, Fidelity and the IBKR Transaction History list rows newest first, dated by day
only. Matching orders fills by timestamp and keeps the input order for ties, so these
presets collect their executions and emit them oldest first: by day, and within one day
in the reverse of the file's order when the file runs newest first.

Some brokers report an option expiration without saying whether the contract was long
or short (Schwab ``Expired``, Fidelity ``EXPIRED``). Such a row becomes an
`OpenRemoval`: once the file is in time order it closes the position the file holds in
that contract at that point, at price 0. If the file holds no such position, or less
than the row removes, the row is rejected rather than guessed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

from tradestats.journal.model import Execution, Rejection, Side

__all__ = ["OpenRemoval", "listed_newest_first", "resolve_removals", "time_ordered"]


@dataclass(frozen=True, slots=True)
class OpenRemoval:
    """An option removal whose side is decided by the position held in the file.

    `execution` carries everything but the side (its `side` is a placeholder);
    `column` is the column a rejection names (the broker's action column).
    """

    execution: Execution
    column: str


Entry = Execution | OpenRemoval


def listed_newest_first(days: Sequence[date], default: bool = True) -> bool:
    """Whether rows dated `days` (in file order) run newest first: more steps back in
    time than forward between neighbours. `default` when no step either way."""
    down = up = 0
    for before, after in pairwise(days):
        if after < before:
            down += 1
        elif after > before:
            up += 1
    if down == up:
        return default
    return down > up


def _timestamp(entry: Entry) -> datetime:
    return (entry.execution if isinstance(entry, OpenRemoval) else entry).timestamp


def time_ordered(entries: Sequence[Entry], newest_first: bool) -> list[Entry]:
    """`entries` (in file order) sorted by timestamp; entries with equal timestamps in
    the order they happened (reverse file order when the file runs newest first)."""
    ordered = list(reversed(entries)) if newest_first else list(entries)
    ordered.sort(key=_timestamp)  # stable
    return ordered


def resolve_removals(entries: Iterable[Entry]) -> Iterator[Execution | Rejection]:
    """Executions in the given (time) order, each `OpenRemoval` turned into the closing
    execution of the position held at that point, or into a `Rejection`."""
    held: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, Execution):
            held[(entry.account, entry.instrument.key)] += entry.signed_quantity
            yield entry
            continue
        ex = entry.execution
        key = (ex.account, ex.instrument.key)
        position = held[key]
        if position == 0:
            yield Rejection(
                ex.row or 0,
                entry.column,
                f"{entry.column}: option expiration, but the file holds no position in "
                f"{ex.instrument.symbol} at that date; cannot tell whether it closed a "
                "long or a short",
                ex.raw,
            )
            continue
        if ex.quantity > abs(position):
            yield Rejection(
                ex.row or 0,
                entry.column,
                f"{entry.column}: option expiration of {ex.quantity} contracts, but the "
                f"file holds only {abs(position)} of {ex.instrument.symbol} at that date",
                ex.raw,
            )
            continue
        side = Side.SELL if position > 0 else Side.BUY
        closing = replace(ex, side=side)
        held[key] += closing.signed_quantity
        yield closing
