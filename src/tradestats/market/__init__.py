"""Market data: the ``MarketData`` protocol, its value types and providers."""

from tradestats.market.errors import (
    DataError,
    MarketDataError,
    NoOptions,
    UnknownTicker,
    UpstreamUnavailable,
)
from tradestats.market.protocol import MarketData
from tradestats.market.types import Bar, Chain, EarningsEvent, OptionContract, Quote

__all__ = [
    "Bar",
    "Chain",
    "DataError",
    "EarningsEvent",
    "MarketData",
    "MarketDataError",
    "NoOptions",
    "OptionContract",
    "Quote",
    "UnknownTicker",
    "UpstreamUnavailable",
]
