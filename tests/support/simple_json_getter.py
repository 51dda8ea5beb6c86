"""A minimal ``JsonGetter`` for tests: one ``requests`` session, no retries, no cache.

Maps answers the way ``tradestats.market.http_types`` documents for the real client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from tradestats.market.errors import DataError, UnknownTicker, UpstreamUnavailable


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class SimpleJsonGetter:
    """GET ``base_url + path`` and decode JSON; errors per the ``JsonGetter`` contract."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        url = self.base_url + path
        try:
            response = self.session.get(url, params=dict(params or {}), timeout=self.timeout)
        except requests.Timeout as exc:
            raise UpstreamUnavailable(f"timeout: GET {path}") from exc
        except requests.ConnectionError as exc:
            raise UpstreamUnavailable(f"connection failed: GET {path}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise UpstreamUnavailable(f"HTTP {status}: GET {path}", _retry_after(response))
        if status == 404:
            raise UnknownTicker(path)
        if status >= 400:
            raise DataError(f"HTTP {status}: GET {path}")
        try:
            return response.json()
        except ValueError as exc:
            raise DataError(f"not JSON: GET {path}") from exc

    def close(self) -> None:
        self.session.close()
