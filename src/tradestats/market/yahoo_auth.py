"""Yahoo's cookie + crumb handshake, which the v7 quote and options endpoints require.

1. GET the cookie URL (default ``https://fc.yahoo.com/``) with the yahoo
   ``UpstreamClient``'s own pooled session. Any answer will do (Yahoo answers 404 there):
   it sets Yahoo's ``A3`` cookie (``Domain=.yahoo.com``) in the session's jar;
2. GET ``{yahoo base}/v1/test/getcrumb`` through that client (same session, so the cookie
   goes along; rate limit, breaker and retries apply): a short plain-text crumb;
3. v7 calls carry ``crumb=<crumb>`` with the same cookie jar. A 401/403 ("Invalid
   Crumb"/"Invalid Cookie") means the pair expired: ``YahooMarket`` calls
   `YahooSession.invalidate` with the crumb it used and retries once with a fresh one.

The crumb is cached until invalidated. Concurrent callers share one handshake
(single-flight); a failed handshake is an ``UpstreamUnavailable`` (never an empty crumb),
remembered for ``failure_ttl`` seconds so an outage is not hammered by every request.
The v8 chart endpoint needs no crumb and never waits for this handshake.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable

import requests

from tradestats.market.errors import MarketDataError, UpstreamUnavailable
from tradestats.resilience.breaker_store import BreakerState
from tradestats.resilience.deadline import Deadline
from tradestats.resilience.errors import CircuitOpen
from tradestats.resilience.http import UpstreamClient
from tradestats.resilience.retry import parse_retry_after

__all__ = ["CRUMB_PATH", "DEFAULT_COOKIE_URL", "YahooSession"]

log = logging.getLogger(__name__)

DEFAULT_COOKIE_URL = "https://fc.yahoo.com/"
CRUMB_PATH = "/v1/test/getcrumb"
# A crumb is short printable ASCII (letters, digits, '.', '/', ...); an HTML page, JSON
# error or empty body is not one.
_CRUMB = re.compile(r"[!#-;=?-~]{1,64}")


class _Flight:
    """One handshake in progress; waiters read its outcome once ``done`` is set."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.crumb: str | None = None
        self.error: UpstreamUnavailable | None = None


class YahooSession:
    """Cookie + crumb of one yahoo ``UpstreamClient`` (whose session holds the cookie).

    ``crumb()`` returns the cached crumb or performs the handshake; ``invalidate(crumb)``
    drops it when Yahoo rejected it (only if it is still the current one, so many
    concurrent rejections of one crumb cause one refresh). ``deadline`` returns the
    current request's ``Deadline`` (``None``: the client's default). Thread-safe.
    """

    def __init__(
        self,
        client: UpstreamClient,
        cookie_url: str = DEFAULT_COOKIE_URL,
        *,
        deadline: Callable[[], Deadline | None] = lambda: None,
        crumb_path: str = CRUMB_PATH,
        failure_ttl: float = 1.0,
    ) -> None:
        self.client = client
        self.cookie_url = cookie_url
        self.crumb_path = crumb_path
        self.failure_ttl = failure_ttl
        self._deadline = deadline
        self._lock = threading.Lock()
        self._crumb: str | None = None
        self._flight: _Flight | None = None
        self._failure: UpstreamUnavailable | None = None
        self._failed_at = -math.inf
        self.handshakes = 0  # handshakes started (observability, tests)

    @property
    def current(self) -> str | None:
        """The cached crumb, if any (no network)."""
        with self._lock:
            return self._crumb

    def crumb(self) -> str:
        """The crumb; performs (or joins) the handshake when none is cached."""
        with self._lock:
            if self._crumb is not None:
                return self._crumb
            failure = self._recent_failure()
            if failure is not None:
                raise failure
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = _Flight()
                self.handshakes += 1
        if leader:
            return self._lead(flight)
        return self._follow(flight)

    def invalidate(self, crumb: str) -> bool:
        """Forget ``crumb`` (Yahoo rejected it); ``False`` if it was already replaced."""
        with self._lock:
            if self._crumb != crumb:
                return False
            self._crumb = None
        log.info("%s: crumb rejected; the next v7 call renews cookie and crumb", self.name)
        return True

    @property
    def name(self) -> str:
        return self.client.name

    # -- single flight -------------------------------------------------------------------

    def _recent_failure(self) -> UpstreamUnavailable | None:
        if self._failure is None:
            return None
        left = self.failure_ttl - (self.client.clock.monotonic() - self._failed_at)
        if left <= 0:
            return None
        hint = max(left, self._failure.retry_after or 0.0, 1.0)
        return UpstreamUnavailable(str(self._failure), retry_after=hint)

    def _lead(self, flight: _Flight) -> str:
        try:
            flight.crumb = self._handshake()
        except UpstreamUnavailable as exc:
            flight.error = exc
        except BaseException as exc:  # an unexpected bug: never leave followers hanging
            flight.error = UpstreamUnavailable(f"{self.name}: crumb handshake failed: {exc!r}")
            raise
        finally:
            with self._lock:
                self._flight = None
                if flight.crumb is not None:
                    self._crumb, self._failure = flight.crumb, None
                else:
                    self._failure, self._failed_at = flight.error, self.client.clock.monotonic()
            flight.done.set()
        if flight.error is not None:
            raise flight.error
        assert flight.crumb is not None
        return flight.crumb

    def _follow(self, flight: _Flight) -> str:
        remaining = self._current_deadline().remaining()
        if not flight.done.wait(None if math.isinf(remaining) else remaining):
            raise UpstreamUnavailable(f"{self.name}: deadline exceeded waiting for a crumb")
        if flight.error is not None:
            error = flight.error
            raise UpstreamUnavailable(str(error), retry_after=error.retry_after)
        assert flight.crumb is not None
        return flight.crumb

    # -- the handshake -------------------------------------------------------------------

    def _current_deadline(self) -> Deadline:
        deadline = self._deadline()
        if deadline is None:
            deadline = Deadline(self.client.default_deadline, self.client.clock)
        return deadline

    def _handshake(self) -> str:
        deadline = self._current_deadline()
        breaker = self.client.breaker
        if breaker is not None:
            # The cookie GET bypasses the client's breaker: while the upstream's breaker is
            # open (maybe opened by another process, shared through Redis) send nothing.
            snapshot = breaker.snapshot()
            if snapshot.state is BreakerState.OPEN:
                raise CircuitOpen(breaker.name, snapshot.retry_after)
        self._fetch_cookie(deadline)
        try:
            text = self.client.get_text(self.crumb_path, deadline=deadline)
        except UpstreamUnavailable:
            raise
        except MarketDataError as exc:  # 401/403 without a valid cookie, 404, bad body
            raise UpstreamUnavailable(f"{self.name}: no crumb: {exc}") from exc
        crumb = text.strip()
        if not _CRUMB.fullmatch(crumb):
            raise UpstreamUnavailable(f"{self.name}: {self.crumb_path} answered no usable crumb")
        log.info("%s: obtained a crumb", self.name)
        return crumb

    def _fetch_cookie(self, deadline: Deadline) -> None:
        """GET the cookie URL with the client's session; any answer that reached us is
        fine unless it is a 429/5xx that set no cookie."""
        if deadline.expired:
            raise UpstreamUnavailable(f"{self.name}: deadline exceeded before the cookie")
        client = self.client
        timeout = (deadline.timeout(client.connect_timeout), deadline.timeout(client.read_timeout))
        try:
            with client.session.get(self.cookie_url, timeout=timeout) as response:
                status = response.status_code
                got_cookie = bool(response.cookies) or any(r.cookies for r in response.history)
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), client.clock.time()
                )
        except requests.Timeout as exc:
            raise UpstreamUnavailable(
                f"{self.name}: cookie endpoint {self.cookie_url} timed out"
            ) from exc
        except requests.RequestException as exc:
            raise UpstreamUnavailable(
                f"{self.name}: cookie endpoint {self.cookie_url} failed: {type(exc).__name__}"
            ) from exc
        if not got_cookie and (status == 429 or status >= 500):
            raise UpstreamUnavailable(
                f"{self.name}: cookie endpoint {self.cookie_url} answered HTTP {status}",
                retry_after=retry_after,
            )
        if not got_cookie:
            log.warning("%s: %s set no cookie (HTTP %d)", self.name, self.cookie_url, status)
