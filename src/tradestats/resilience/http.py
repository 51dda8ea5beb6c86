"""Pooled HTTP sessions and ``UpstreamClient``: one upstream call through the whole
pipeline — rate limit → circuit breaker → GET with deadline-capped timeouts → outcome
classification → retry per policy and budget.

Outcomes counted in ``UPSTREAM_CALLS{upstream,outcome}``, one per attempt:
``ok`` (2xx with valid JSON), ``timeout`` (connect/read timeout), ``ratelimited`` (HTTP
429), ``rejected`` (not sent: breaker open or our own rate limit had no token in time),
``error`` (everything else: connection errors, 5xx, 4xx, invalid JSON).

What the breaker sees: timeouts, connection errors, 429, 5xx and invalid JSON are
failures; 2xx and 4xx (the upstream is up and answered; a bad ticker must not open the
breaker for everyone) are successes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from tradestats.market.errors import DataError, MarketDataError, UpstreamUnavailable
from tradestats.resilience.breaker import CircuitBreaker, Permit
from tradestats.resilience.clock import SYSTEM_CLOCK, Clock
from tradestats.resilience.deadline import Deadline
from tradestats.resilience.errors import (
    CircuitOpen,
    RateLimited,
    UpstreamError,
    UpstreamNotFound,
)
from tradestats.resilience.ratelimit import RateLimiter
from tradestats.resilience.retry import RetryBudget, RetryPolicy, parse_retry_after
from tradestats.telemetry.metrics import UPSTREAM_CALLS, UPSTREAM_RETRIES

__all__ = ["UpstreamClient", "build_session"]

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | float]


def build_session(
    pool_size: int = 10, *, pool_connections: int = 10, user_agent: str | None = None
) -> requests.Session:
    """A ``requests.Session`` with ``pool_size`` keep-alive connections per host and no
    transport-level retries (``max_retries=0``): retries live in ``RetryPolicy`` only,
    so they are counted, jittered, budgeted and bounded by the deadline."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_connections, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if user_agent:
        session.headers["User-Agent"] = user_agent
    return session


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ValueError("invalid JSON") from None


def _text_body(response: requests.Response) -> str:
    try:
        return response.content.decode(response.encoding or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise ValueError("undecodable text") from None


@dataclass(frozen=True)
class _Failed:
    error: MarketDataError
    retryable: bool
    retry_after: float | None = None


@dataclass(frozen=True)
class _Done:
    value: Any


class UpstreamClient:
    """JSON (`get_json`) or plain text (`get_text`) over HTTP GET from one named upstream,
    with every resilience policy applied.

    Raises ``UpstreamUnavailable`` (``retry_after`` when known; subclasses
    ``CircuitOpen``/``RateLimited``) when data cannot be had now, ``UpstreamNotFound`` for
    404/410, ``UpstreamError`` for other non-retryable statuses and ``DataError`` for a
    2xx body that is not JSON. ``limiter``, ``breaker`` and ``budget`` may be ``None``.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        limiter: RateLimiter | None = None,
        budget: RetryBudget | None = None,
        clock: Clock = SYSTEM_CLOCK,
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        default_deadline: float = 30.0,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.session = session if session is not None else build_session()
        self.retry = retry if retry is not None else RetryPolicy()
        self.breaker = breaker
        self.limiter = limiter
        self.budget = budget
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.default_deadline = default_deadline

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def get_json(
        self,
        path: str,
        params: Params | None = None,
        *,
        deadline: Deadline | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET ``path`` (relative to ``base_url``) and decode its JSON body.

        GET is idempotent, so retryable failures (timeouts, connection errors, statuses
        in ``retry.retry_on_status``) are retried while the policy, the retry budget and
        ``deadline`` (default: ``default_deadline`` seconds) all allow it.
        """
        return self._get(path, params, deadline, headers, _json_body)

    def get_text(
        self,
        path: str,
        params: Params | None = None,
        *,
        deadline: Deadline | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Like `get_json`, for a plain-text body (returned as decoded text)."""
        text: str = self._get(path, params, deadline, headers, _text_body)
        return text

    def _get(
        self,
        path: str,
        params: Params | None,
        deadline: Deadline | None,
        headers: Mapping[str, str] | None,
        decode: Callable[[requests.Response], Any],
    ) -> Any:
        if deadline is None:
            deadline = Deadline(self.default_deadline, self.clock)
        url = self.url(path)
        if self.budget is not None:
            self.budget.record_call()
        attempts = 0
        while True:
            attempts += 1
            result = self._attempt(url, params, headers, deadline, decode)
            if isinstance(result, _Done):
                return result.value
            if not result.retryable:
                raise result.error
            delay = self.retry.next_delay(
                attempts, retry_after=result.retry_after, deadline=deadline
            )
            if delay is None or (self.budget is not None and not self.budget.try_spend()):
                raise result.error
            UPSTREAM_RETRIES.labels(upstream=self.name).inc()
            log.debug(
                "%s: retry %d of %s in %.3fs: %s", self.name, attempts, url, delay, result.error
            )
            self.clock.sleep(delay)

    def _count(self, outcome: str) -> None:
        UPSTREAM_CALLS.labels(upstream=self.name, outcome=outcome).inc()

    def _unavailable(self, what: str, retry_after: float | None = None) -> UpstreamUnavailable:
        return UpstreamUnavailable(f"{self.name}: {what}", retry_after=retry_after)

    def _attempt(
        self,
        url: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        deadline: Deadline,
        decode: Callable[[requests.Response], Any],
    ) -> _Done | _Failed:
        if deadline.expired:
            return _Failed(self._unavailable("deadline exceeded"), retryable=False)
        if self.limiter is not None and not self.limiter.acquire(timeout=deadline.remaining()):
            self._count("rejected")
            wait = self.limiter.wait_time()
            error = RateLimited(f"{self.name}: local rate limit", retry_after=wait or None)
            return _Failed(error, retryable=False)
        if deadline.expired:
            return _Failed(self._unavailable("deadline exceeded"), retryable=False)
        permit: Permit | None = None
        if self.breaker is not None:
            try:
                permit = self.breaker.allow()
            except CircuitOpen as exc:
                self._count("rejected")
                return _Failed(exc, retryable=False)
        try:
            result = self._send(url, params, headers, deadline, permit, decode)
        except BaseException:
            if permit is not None:
                permit.failure()
            raise
        return result

    def _send(
        self,
        url: str,
        params: Params | None,
        headers: Mapping[str, str] | None,
        deadline: Deadline,
        permit: Permit | None,
        decode: Callable[[requests.Response], Any],
    ) -> _Done | _Failed:
        def report(ok: bool) -> None:
            if permit is not None:
                duration = self.clock.monotonic() - start
                (permit.success if ok else permit.failure)(duration)

        timeout = (deadline.timeout(self.connect_timeout), deadline.timeout(self.read_timeout))
        start = self.clock.monotonic()
        try:
            response = self.session.get(
                url, params=params, headers=dict(headers or {}), timeout=timeout
            )
        except requests.Timeout:
            report(False)
            self._count("timeout")
            return _Failed(self._unavailable(f"timed out after {max(timeout):.2f}s"), True)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            report(False)
            self._count("error")
            return _Failed(self._unavailable(f"connection failed: {type(exc).__name__}"), True)
        except requests.RequestException as exc:
            report(False)
            self._count("error")
            return _Failed(self._unavailable(f"request failed: {exc}"), False)
        with response:
            return self._classify(response, url, report, decode)

    def _classify(
        self,
        response: requests.Response,
        url: str,
        report: Callable[[bool], None],
        decode: Callable[[requests.Response], Any],
    ) -> _Done | _Failed:
        status = response.status_code
        if 200 <= status < 300:
            try:
                value = decode(response)
            except ValueError as exc:
                report(False)
                self._count("error")
                return _Failed(DataError(f"{self.name}: {exc} from {url}"), False)
            report(True)
            self._count("ok")
            return _Done(value)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.time())
        if status == 429:
            report(False)
            self._count("ratelimited")
            error: MarketDataError = RateLimited(
                f"{self.name}: HTTP 429 (rate limited)", retry_after=retry_after
            )
            return _Failed(error, self.retry.retryable_status(status), retry_after)
        if 400 <= status < 500 and not self.retry.retryable_status(status):
            report(True)
            self._count("error")
            cls = UpstreamNotFound if status in (404, 410) else UpstreamError
            return _Failed(cls(self.name, status, url), False)
        report(False)
        self._count("error")
        error = self._unavailable(f"HTTP {status}", retry_after)
        return _Failed(error, self.retry.retryable_status(status), retry_after)
