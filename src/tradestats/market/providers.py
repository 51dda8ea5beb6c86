"""The market-data providers `MarketService` fails over between, and how each is wired.

A ``yahoo`` provider talks to two upstreams (Yahoo Finance, Nasdaq), each through its own
``UpstreamClient``: a pooled session, a token-bucket limiter, a circuit breaker and a
retry policy with a retry budget — shared through Redis when a client is given (each of
those falls back to in-process state when Redis errors). Its v7 calls carry the crumb of
a `YahooSession` over the yahoo client's own session (which holds Yahoo's cookie). A
``demo`` provider is the synthetic market of the current market day.

Every upstream call made while serving one request is bounded by that request's
``Deadline``, carried in a context variable set by `request_deadline` (background cache
refreshes run without one and use the client's ``default_deadline``).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tradestats import __version__
from tradestats.market.demo import DemoMarket
from tradestats.market.protocol import MarketData
from tradestats.market.types import Bar, Chain, EarningsEvent, Quote
from tradestats.market.yahoo import CALENDAR_SOURCE, YahooMarket
from tradestats.market.yahoo_auth import DEFAULT_COOKIE_URL, YahooSession
from tradestats.resilience.breaker import CircuitBreaker
from tradestats.resilience.breaker_redis import RedisBreakerStore
from tradestats.resilience.clock import Clock
from tradestats.resilience.deadline import Deadline
from tradestats.resilience.http import UpstreamClient, build_session
from tradestats.resilience.ratelimit import RateLimiter, RedisTokenBucket, TokenBucket
from tradestats.resilience.retry import RetryBudget, RetryPolicy

__all__ = [
    "DeadlineBoundGetter",
    "Provider",
    "RollingDemoMarket",
    "UpstreamPolicy",
    "build_upstream_client",
    "demo_provider",
    "request_deadline",
    "yahoo_provider",
]

_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "tradestats_market_deadline", default=None
)


@contextmanager
def request_deadline(seconds: float, clock: Clock) -> Iterator[Deadline]:
    """The deadline of the current unit of work: a new one of ``seconds``, or the one
    already in force (nested service calls share their caller's budget)."""
    current = _DEADLINE.get()
    if current is not None:
        yield current
        return
    deadline = Deadline(seconds, clock)
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


class DeadlineBoundGetter:
    """A ``JsonGetter`` that passes the current request's deadline to the client."""

    def __init__(self, client: UpstreamClient) -> None:
        self.client = client

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return self.client.get_json(path, params, deadline=_DEADLINE.get())


@dataclass(frozen=True)
class UpstreamPolicy:
    """Resilience settings of one upstream (defaults suit Yahoo's and Nasdaq's public
    endpoints; tests pass small thresholds)."""

    rate: float = 5.0  # requests/s; global across processes when Redis is configured
    burst: float = 10.0
    max_attempts: int = 3  # the first try included
    backoff_base: float = 0.2
    backoff_cap: float = 2.0
    retry_after_cap: float = 5.0  # a longer Retry-After is not waited for: 503 + Retry-After
    budget_ratio: float = 0.2
    budget_min_per_second: float = 1.0
    failure_rate_threshold: float = 0.5
    minimum_calls: int = 10
    window: float = 30.0
    open_duration: float = 15.0
    slow_call_duration: float = 5.0
    half_open_max_calls: int = 2
    connect_timeout: float = 3.05
    read_timeout: float = 10.0


def build_upstream_client(
    name: str,
    base_url: str,
    policy: UpstreamPolicy,
    *,
    clock: Clock,
    pool_size: int,
    deadline: float,
    redis: Any | None = None,
    key_prefix: str = "tradestats:",
) -> UpstreamClient:
    """An ``UpstreamClient`` named ``name`` with every policy of ``policy`` applied."""
    store = RedisBreakerStore(redis, key_prefix=key_prefix, clock=clock) if redis else None
    breaker = CircuitBreaker(
        name,
        failure_rate_threshold=policy.failure_rate_threshold,
        slow_call_duration=policy.slow_call_duration,
        window=policy.window,
        minimum_calls=policy.minimum_calls,
        open_duration=policy.open_duration,
        half_open_max_calls=policy.half_open_max_calls,
        clock=clock,
        store=store,
    )
    limiter: RateLimiter
    if redis is not None:
        limiter = RedisTokenBucket(
            redis,
            f"upstream:{name}",
            policy.rate,
            policy.burst,
            key_prefix=key_prefix,
            clock=clock,
        )
    else:
        limiter = TokenBucket(policy.rate, policy.burst, clock=clock)
    return UpstreamClient(
        name,
        base_url,
        session=build_session(pool_size, user_agent=f"tradestats/{__version__}"),
        retry=RetryPolicy(
            max_attempts=policy.max_attempts,
            base=policy.backoff_base,
            cap=policy.backoff_cap,
            retry_after_cap=policy.retry_after_cap,
        ),
        breaker=breaker,
        limiter=limiter,
        budget=RetryBudget(policy.budget_ratio, policy.budget_min_per_second, clock=clock),
        clock=clock,
        connect_timeout=policy.connect_timeout,
        read_timeout=policy.read_timeout,
        default_deadline=deadline,
    )


@dataclass
class Provider:
    """One entry of the failover chain: a ``MarketData`` and what labels its data."""

    name: str  # the source label of quotes, bars and chains ("yahoo", "demo")
    market: MarketData
    calendar_source: str  # the source label of the earnings calendar ("nasdaq", "demo")
    clients: tuple[UpstreamClient, ...] = ()

    @property
    def breakers(self) -> tuple[CircuitBreaker, ...]:
        return tuple(c.breaker for c in self.clients if c.breaker is not None)

    def close(self) -> None:
        for client in self.clients:
            client.session.close()


class RollingDemoMarket:
    """``DemoMarket`` of the current market day: rebuilt when ``today()`` changes, so a
    long-running server does not keep serving yesterday's synthetic market."""

    source: str = "demo"

    def __init__(self, today: Callable[[], dt.date], seed: int = 7) -> None:
        self._today = today
        self._seed = seed
        self._lock = threading.Lock()
        self._market: DemoMarket | None = None

    def current(self) -> DemoMarket:
        day = self._today()
        with self._lock:
            if self._market is None or self._market.today != day:
                self._market = DemoMarket(seed=self._seed, today=day)
            return self._market

    def quote(self, ticker: str) -> Quote:
        return self.current().quote(ticker)

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        return self.current().history(ticker, start, end)

    def expirations(self, ticker: str) -> list[dt.date]:
        return self.current().expirations(ticker)

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        return self.current().chain(ticker, expiry)

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        return self.current().earnings_calendar(day)

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        return self.current().earnings_dates(ticker)


def demo_provider(today: Callable[[], dt.date]) -> Provider:
    return Provider("demo", RollingDemoMarket(today), "demo")


def yahoo_provider(
    yahoo_url: str,
    nasdaq_url: str,
    *,
    clock: Clock,
    pool_size: int,
    deadline: float,
    policy: UpstreamPolicy | None = None,
    redis: Any | None = None,
    key_prefix: str = "tradestats:",
    cookie_url: str = DEFAULT_COOKIE_URL,
) -> Provider:
    """Yahoo (quotes, bars, chains) + Nasdaq (earnings calendar), one client each; v7
    calls authenticated by the cookie (from ``cookie_url``) + crumb handshake."""
    p = policy or UpstreamPolicy()
    common: dict[str, Any] = {
        "clock": clock,
        "pool_size": pool_size,
        "deadline": deadline,
        "redis": redis,
        "key_prefix": key_prefix,
    }
    yahoo = build_upstream_client("yahoo", yahoo_url, p, **common)
    nasdaq = build_upstream_client("nasdaq", nasdaq_url, p, **common)
    auth = YahooSession(yahoo, cookie_url, deadline=_DEADLINE.get)
    market = YahooMarket(
        DeadlineBoundGetter(yahoo),
        DeadlineBoundGetter(nasdaq),
        crumb=auth.crumb,
        crumb_rejected=auth.invalidate,
        clock=clock.monotonic,
    )
    return Provider("yahoo", market, CALENDAR_SOURCE, (yahoo, nasdaq))
