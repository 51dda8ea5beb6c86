"""The one interface the rest of the application uses to read market data."""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from tradestats.market.errors import (
    DataError,
    MarketDataError,
    NoOptions,
    UnknownTicker,
    UpstreamUnavailable,
)
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote

__all__ = [
    "DataError",
    "MarketData",
    "MarketDataError",
    "NoOptions",
    "UnknownTicker",
    "UpstreamUnavailable",
]


@runtime_checkable
class MarketData(Protocol):
    """A market-data provider. ``source`` labels every object it returns ("demo", ...).

    Errors: ``UnknownTicker`` for a symbol the provider does not know, ``NoOptions`` when
    the symbol has no listed options, ``UpstreamUnavailable`` for outages/throttling,
    ``DataError`` for malformed or insufficient upstream data.
    """

    source: str

    def quote(self, ticker: str) -> Quote:
        """Latest price of ``ticker``."""
        ...

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        """Daily bars with ``start <= date <= end``, oldest first."""
        ...

    def expirations(self, ticker: str) -> list[dt.date]:
        """Listed option expiries, ascending; raises ``NoOptions`` when there are none."""
        ...

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        """The option chain of one listed expiry."""
        ...

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        """All earnings announcements scheduled on ``day``."""
        ...

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        """Known past and upcoming earnings announcements of ``ticker``, ascending."""
        ...
