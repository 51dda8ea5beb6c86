"""Token-bucket rate limits per upstream: in-process, or global across processes via Redis.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens/s; each call takes
one. ``try_acquire()`` never waits; ``acquire(timeout)`` sleeps on the clock until a token
is due, but gives up at once (``False``) if it would not be due within ``timeout``.
"""

from __future__ import annotations

import threading
from typing import Protocol

import redis

from tradestats.resilience.clock import SYSTEM_CLOCK, Clock
from tradestats.resilience.redis_support import RedisFallback

__all__ = ["RateLimiter", "RedisTokenBucket", "TokenBucket"]


class RateLimiter(Protocol):
    def try_acquire(self) -> bool:
        """Take a token if one is available now."""
        ...

    def acquire(self, timeout: float) -> bool:
        """Take a token, waiting at most ``timeout`` seconds; ``False`` if none came."""
        ...

    def wait_time(self) -> float:
        """Seconds until a token would be available (0 if one is available now)."""
        ...


# Float refill can land a hair below a whole token after sleeping exactly the computed
# wait; without this tolerance the next wait is too small to move the clock.
_EPSILON = 1e-9


def _check(rate: float, burst: float) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError("rate must be > 0 and burst >= 1")


class _BucketAcquire:
    """``acquire`` in terms of ``_take(commit) -> seconds until due (0 = taken)``."""

    clock: Clock

    def _take(self, commit: bool) -> float:
        raise NotImplementedError

    def try_acquire(self) -> bool:
        return self._take(True) == 0.0

    def wait_time(self) -> float:
        return self._take(False)

    def acquire(self, timeout: float) -> bool:
        start = self.clock.monotonic()
        while True:
            wait = self._take(True)
            if wait == 0.0:
                return True
            left = timeout - (self.clock.monotonic() - start)
            if wait > left:
                return False
            # Other callers may take the token first; then we loop and wait again.
            self.clock.sleep(wait)


class TokenBucket(_BucketAcquire):
    """A token bucket in this process's memory (thread-safe; time from ``clock``)."""

    def __init__(self, rate: float, burst: float, *, clock: Clock = SYSTEM_CLOCK) -> None:
        _check(rate, burst)
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens = burst
        self._stamp = clock.monotonic()

    def _take(self, commit: bool) -> float:
        with self._lock:
            now = self.clock.monotonic()
            if now > self._stamp:
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
            if self._tokens >= 1.0 - _EPSILON:
                if commit:
                    self._tokens = max(0.0, self._tokens - 1.0)
                return 0.0
            return (1.0 - self._tokens) / self.rate


_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local commit = ARGV[4] == '1'
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1] or '')
local ts = tonumber(v[2] or '')
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
local wait = 0
if tokens >= 1 - 1e-9 then
  if commit then tokens = math.max(0, tokens - 1) end
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisTokenBucket(_BucketAcquire):
    """One bucket shared by every process using ``key`` (a global rate), updated by an
    atomic Lua script on the callers' wall clocks.

    If Redis errors, tokens come from an in-process bucket with the same rate and burst
    (so during a Redis outage each process gets the full rate on its own).
    """

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        rate: float,
        burst: float,
        *,
        key_prefix: str = "tradestats:",
        clock: Clock = SYSTEM_CLOCK,
        fallback_cooldown: float = 5.0,
    ) -> None:
        _check(rate, burst)
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.key = f"{key_prefix}ratelimit:{key}"
        self.fallback_bucket = TokenBucket(rate, burst, clock=clock)
        self.guard = RedisFallback("rate limits", cooldown=fallback_cooldown, clock=clock)
        self._script = client.register_script(_TAKE)

    @property
    def fallbacks(self) -> int:
        return self.guard.fallbacks

    def _take(self, commit: bool) -> float:
        def op() -> float:
            wait = self._script(
                keys=[self.key],
                args=[repr(self.rate), repr(self.burst), repr(self.clock.time()), int(commit)],
            )
            text = wait.decode() if isinstance(wait, bytes) else str(wait)
            return max(0.0, float(text))

        return self.guard.run(op, lambda: self.fallback_bucket._take(commit))
