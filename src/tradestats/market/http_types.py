"""The small HTTP interface market-data providers are written against.

Providers never open sockets themselves: they receive one ``JsonGetter`` per upstream,
already bound to that upstream's base URL. In the application that is
``resilience``'s ``UpstreamClient`` (pooled session, timeouts, retries, breaker, rate
limit, cache); in tests it is a plain client pointed at a local fake upstream.

Contract of ``get_json``:

- returns the decoded JSON body of a 2xx answer;
- raises ``UpstreamUnavailable`` for transport failures, timeouts, 429 and 5xx
  (with ``retry_after`` when the upstream sent ``Retry-After``);
- raises ``UnknownTicker`` (or any ``MarketDataError`` with ``status == 404``, like
  resilience's ``UpstreamNotFound``) for 404: the client may not know the symbol, so
  providers re-raise ``UnknownTicker`` with it; ``DataError`` (or a ``MarketDataError``
  with another 4xx ``status``) for other 4xx; ``DataError`` for non-JSON bodies.

Semantic emptiness ("200 OK, no results") is the provider's business, not the client's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class JsonGetter(Protocol):
    """GET ``path`` (relative to a base URL) with query ``params``; the decoded JSON."""

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any: ...
