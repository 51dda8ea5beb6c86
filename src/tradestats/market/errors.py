"""Precise exceptions every ``MarketData`` provider raises (and the API maps to 4xx/5xx)."""

from __future__ import annotations


class MarketDataError(Exception):
    """Base class of market-data failures."""


class UnknownTicker(MarketDataError):
    """The provider does not know this symbol (a client error, not an outage)."""

    def __init__(self, ticker: str) -> None:
        super().__init__(f"unknown ticker: {ticker!r}")
        self.ticker = ticker


class NoOptions(MarketDataError):
    """The symbol exists but has no listed options (or none usable)."""

    def __init__(self, ticker: str, detail: str = "no listed options") -> None:
        super().__init__(f"{ticker}: {detail}")
        self.ticker = ticker
        self.detail = detail


class UpstreamUnavailable(MarketDataError):
    """The upstream source failed or throttled us; ``retry_after`` seconds if it said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DataError(MarketDataError):
    """The upstream answered but the data is malformed or insufficient for the request."""
