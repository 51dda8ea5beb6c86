"""Plain value types shared by every market-data provider and the options analytics.

Conventions: prices in the quote currency per share; option prices per share (not per
contract of 100); implied volatility as an annualized decimal (0.35 == 35%); a missing
bid or ask is ``0.0`` (what exchanges and Yahoo report), a missing last/IV is ``None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Right = Literal["call", "put"]
Timing = Literal["BMO", "AMC", "unknown"]


@dataclass(frozen=True, slots=True)
class Quote:
    ticker: str
    price: float
    asof: dt.datetime
    source: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One daily session: open/high/low/close prices and share volume."""

    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(frozen=True, slots=True)
class OptionContract:
    expiry: dt.date
    strike: float
    right: Right
    bid: float
    ask: float
    last: float | None
    volume: int
    open_interest: int
    iv: float | None

    @property
    def mid(self) -> float | None:
        """``(bid + ask) / 2`` when ``ask > 0`` and ``0 <= bid <= ask``, else ``None``.

        A zero bid still yields ``ask / 2``, as the reference calculator does; callers
        that care (spread tickets) look at ``has_bid``.
        """
        if self.ask <= 0.0 or self.bid < 0.0 or self.bid > self.ask:
            return None
        return (self.bid + self.ask) / 2.0

    @property
    def has_bid(self) -> bool:
        return self.bid > 0.0


@dataclass(frozen=True, slots=True)
class Chain:
    """Calls and puts of one expiry, each list sorted by strike ascending."""

    ticker: str
    expiry: dt.date
    calls: Sequence[OptionContract]
    puts: Sequence[OptionContract]
    source: str
    asof: dt.datetime

    @property
    def is_empty(self) -> bool:
        return not self.calls and not self.puts


@dataclass(frozen=True, slots=True)
class EarningsEvent:
    """A scheduled (or, with ``inferred=True``, estimated) earnings announcement.

    ``timing``: ``BMO`` before market open (the move is in session ``date``), ``AMC``
    after market close (the move is in the next session), ``unknown`` when not published.
    """

    ticker: str
    date: dt.date
    timing: Timing
    inferred: bool = False
    source: str = field(default="unknown")
