"""Using Redis without depending on it: every Redis-backed policy falls back to its
in-process twin when Redis errors, and a request never fails because Redis is down."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import redis

from tradestats.resilience.clock import SYSTEM_CLOCK, Clock

__all__ = ["RedisFallback", "redis_client"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors that mean "Redis is not usable now" (connection refused/reset, timeouts, OOM,
# script errors). OSError covers socket errors raised outside redis-py's wrappers.
REDIS_ERRORS: tuple[type[BaseException], ...] = (redis.RedisError, OSError)


def redis_client(url: str, *, socket_timeout: float = 0.5) -> redis.Redis:
    """A client for shared resilience state: short timeouts, since a slow Redis must
    cost a request milliseconds, not seconds."""
    return redis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=30,
    )


class RedisFallback:
    """Runs a Redis operation, or its in-process fallback when Redis fails.

    The first failure of an outage logs one warning; later failures are only counted
    (``fallbacks``). After a failure Redis is not tried again for ``cooldown`` seconds,
    so a dead Redis costs one connect attempt per cooldown, not one per call.
    """

    def __init__(self, what: str, *, cooldown: float = 5.0, clock: Clock = SYSTEM_CLOCK) -> None:
        self.what = what
        self.cooldown = cooldown
        self.fallbacks = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until = float("-inf")
        self._warned = False

    @property
    def degraded(self) -> bool:
        """True while Redis is being skipped after a failure."""
        with self._lock:
            return self._clock.monotonic() < self._down_until

    def run(self, op: Callable[[], T], fallback: Callable[[], T]) -> T:
        if self.degraded:
            with self._lock:
                self.fallbacks += 1
            return fallback()
        try:
            result = op()
        except REDIS_ERRORS as exc:
            with self._lock:
                self.fallbacks += 1
                self._down_until = self._clock.monotonic() + self.cooldown
                warn = not self._warned
                self._warned = True
            if warn:
                log.warning("redis unavailable for %s, using in-process state: %s", self.what, exc)
            return fallback()
        if self._warned:
            with self._lock:
                recovered, self._warned = self._warned, False
            if recovered:
                log.info("redis available again for %s", self.what)
        return result
