"""Exceptions of the resilience layer.

Everything that means "cannot get the data now" is an ``UpstreamUnavailable`` (from
``tradestats.market.errors``) carrying ``retry_after`` when known, so the API layer maps
one exception type to 503 + ``Retry-After``. Client errors the upstream reports
authoritatively (404, other non-retryable 4xx) are ``UpstreamError`` subclasses instead.
"""

from __future__ import annotations

from tradestats.market.errors import MarketDataError, UpstreamUnavailable

__all__ = ["CircuitOpen", "RateLimited", "UpstreamError", "UpstreamNotFound"]


class CircuitOpen(UpstreamUnavailable):
    """The circuit breaker rejected the call without trying (open, or probes busy)."""

    def __init__(self, name: str, retry_after: float | None) -> None:
        super().__init__(f"circuit breaker {name!r} is open", retry_after=retry_after)
        self.name = name


class RateLimited(UpstreamUnavailable):
    """No rate-limit token within the allowed wait (our limit or the upstream's 429)."""


class UpstreamError(MarketDataError):
    """The upstream answered with a non-retryable HTTP error status."""

    def __init__(self, upstream: str, status: int, url: str = "") -> None:
        super().__init__(f"{upstream}: HTTP {status}" + (f" for {url}" if url else ""))
        self.upstream = upstream
        self.status = status
        self.url = url


class UpstreamNotFound(UpstreamError):
    """The upstream says the resource does not exist (404/410)."""
