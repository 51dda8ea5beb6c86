"""Resilience: the one place that knows about retries, breakers, rate limits, caching
and pooled HTTP sessions. Policies are values composed by the caller, with an
injectable ``Clock``; nothing here reads configuration or sleeps on its own."""

from tradestats.resilience.breaker import (
    BreakerSnapshot,
    BreakerState,
    BreakerStore,
    CircuitBreaker,
    InProcessBreakerStore,
    Permit,
)
from tradestats.resilience.breaker_redis import RedisBreakerStore
from tradestats.resilience.cache import CacheBackend, CacheResult, TTLCache
from tradestats.resilience.cache_redis import RedisCacheBackend
from tradestats.resilience.clock import SYSTEM_CLOCK, Clock, FakeClock, SystemClock
from tradestats.resilience.deadline import Deadline
from tradestats.resilience.errors import CircuitOpen, RateLimited, UpstreamError, UpstreamNotFound
from tradestats.resilience.http import UpstreamClient, build_session
from tradestats.resilience.ratelimit import RateLimiter, RedisTokenBucket, TokenBucket
from tradestats.resilience.redis_support import redis_client
from tradestats.resilience.retry import RetryBudget, RetryPolicy, parse_retry_after

__all__ = [
    "SYSTEM_CLOCK",
    "BreakerSnapshot",
    "BreakerState",
    "BreakerStore",
    "CacheBackend",
    "CacheResult",
    "CircuitBreaker",
    "CircuitOpen",
    "Clock",
    "Deadline",
    "FakeClock",
    "InProcessBreakerStore",
    "Permit",
    "RateLimited",
    "RateLimiter",
    "RedisBreakerStore",
    "RedisCacheBackend",
    "RedisTokenBucket",
    "RetryBudget",
    "RetryPolicy",
    "SystemClock",
    "TTLCache",
    "TokenBucket",
    "UpstreamClient",
    "UpstreamError",
    "UpstreamNotFound",
    "build_session",
    "parse_retry_after",
    "redis_client",
]
