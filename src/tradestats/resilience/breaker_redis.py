"""``RedisBreakerStore``: one breaker state shared by every process that names it.

Each operation is one atomic Lua script over two keys per breaker, both under the hash
tag ``{name}`` (same cluster slot):

- ``<prefix>breaker:{name}:state`` — hash: state, gen, opened_at, half_open_at, probes,
  probe_ok (expires a day after the last change; absent means closed).
- ``<prefix>breaker:{name}:window`` — hash of per-bucket counters ``c:<bucket>``,
  ``f:<bucket>``, ``s:<bucket>`` (calls, failures, slow calls); buckets older than the
  window are deleted as the script runs, and the key expires one window after its last
  write.

Times are the callers' wall clocks (hosts must be NTP-synced; skew of a second or two
only blurs bucket edges). When Redis errors, the call uses an in-process store instead
(``RedisFallback``): a request never fails because Redis is down.
"""

from __future__ import annotations

import math
from typing import Any

import redis

from tradestats.resilience.breaker_store import (
    Admission,
    BreakerConfig,
    BreakerState,
    InProcessBreakerStore,
    StoredBreaker,
)
from tradestats.resilience.clock import SYSTEM_CLOCK, Clock
from tradestats.resilience.redis_support import RedisFallback

__all__ = ["RedisBreakerStore"]

STATE_TTL_SECONDS = 86_400

_ACQUIRE = """
local now = tonumber(ARGV[1])
local open_duration = tonumber(ARGV[2])
local max_probes = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'state', 'gen', 'opened_at', 'half_open_at', 'probes')
local state = s[1] or 'closed'
local gen = tonumber(s[2] or '0')
local opened_at = tonumber(s[3] or '')
local half_open_at = tonumber(s[4] or '0')
local probes = tonumber(s[5] or '0')
if state == 'closed' then
  return {1, 0, gen, state, ''}
end
if state == 'open' then
  local open_until = (opened_at or now) + open_duration
  if now < open_until then
    return {0, 0, gen, state, tostring(open_until - now)}
  end
  gen = gen + 1
  state = 'half_open'
  probes = 0
  redis.call('HSET', KEYS[1], 'state', state, 'gen', gen, 'half_open_at', ARGV[1],
             'probes', 0, 'probe_ok', 0)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
elseif probes >= max_probes and now - half_open_at >= lease then
  gen = gen + 1
  probes = 0
  redis.call('HSET', KEYS[1], 'gen', gen, 'half_open_at', ARGV[1], 'probes', 0, 'probe_ok', 0)
end
if probes < max_probes then
  redis.call('HINCRBY', KEYS[1], 'probes', 1)
  return {1, 1, gen, state, ''}
end
return {0, 0, gen, state, ARGV[5]}
"""

_RECORD = """
local now = tonumber(ARGV[1])
local permit_gen = tonumber(ARGV[2])
local probe = ARGV[3] == '1'
local failed = ARGV[4] == '1'
local slow = ARGV[5] == '1'
local s = redis.call('HMGET', KEYS[1], 'state', 'gen')
local state = s[1] or 'closed'
local gen = tonumber(s[2] or '0')
if permit_gen ~= gen then
  return state
end
local ttl = tonumber(ARGV[12])
if probe then
  if state == 'half_open' then
    if failed or slow then
      redis.call('HSET', KEYS[1], 'state', 'open', 'gen', gen + 1, 'opened_at', ARGV[1],
                 'probes', 0, 'probe_ok', 0)
      redis.call('EXPIRE', KEYS[1], ttl)
      return 'open'
    end
    local ok = redis.call('HINCRBY', KEYS[1], 'probe_ok', 1)
    if ok >= tonumber(ARGV[11]) then
      redis.call('HSET', KEYS[1], 'state', 'closed', 'gen', gen + 1, 'probes', 0, 'probe_ok', 0)
      redis.call('HDEL', KEYS[1], 'opened_at')
      redis.call('EXPIRE', KEYS[1], ttl)
      redis.call('DEL', KEYS[2])
      return 'closed'
    end
  end
  return state
end
local width = tonumber(ARGV[6])
local n = tonumber(ARGV[7])
local b = math.floor(now / width)
redis.call('HINCRBY', KEYS[2], 'c:' .. b, 1)
if failed then redis.call('HINCRBY', KEYS[2], 'f:' .. b, 1) end
if slow then redis.call('HINCRBY', KEYS[2], 's:' .. b, 1) end
redis.call('PEXPIRE', KEYS[2], math.ceil(width * n * 1000) + 1000)
local oldest = b - n + 1
local all = redis.call('HGETALL', KEYS[2])
local calls, fails, slows = 0, 0, 0
for i = 1, #all, 2 do
  local kind, idx = string.match(all[i], '^(%a):(-?%d+)$')
  idx = tonumber(idx)
  if idx == nil or idx < oldest then
    redis.call('HDEL', KEYS[2], all[i])
  else
    local v = tonumber(all[i + 1])
    if kind == 'c' then calls = calls + v
    elseif kind == 'f' then fails = fails + v
    else slows = slows + v end
  end
end
if state == 'closed' and calls >= tonumber(ARGV[8]) and
   (fails / calls >= tonumber(ARGV[9]) or slows / calls >= tonumber(ARGV[10])) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'gen', gen + 1, 'opened_at', ARGV[1],
             'probes', 0, 'probe_ok', 0)
  redis.call('EXPIRE', KEYS[1], ttl)
  return 'open'
end
return state
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBreakerStore:
    """Breaker state in Redis, shared by all processes using the same ``key_prefix``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        key_prefix: str = "tradestats:",
        clock: Clock = SYSTEM_CLOCK,
        fallback_cooldown: float = 5.0,
    ) -> None:
        self.client = client
        self.key_prefix = key_prefix
        self.fallback_store = InProcessBreakerStore()
        self.guard = RedisFallback("circuit breakers", cooldown=fallback_cooldown, clock=clock)
        self._acquire = client.register_script(_ACQUIRE)
        self._record = client.register_script(_RECORD)

    @property
    def fallbacks(self) -> int:
        """Operations served by the in-process store because Redis failed."""
        return self.guard.fallbacks

    def _keys(self, name: str) -> list[str]:
        base = f"{self.key_prefix}breaker:{{{name}}}"
        return [f"{base}:state", f"{base}:window"]

    def acquire(self, name: str, config: BreakerConfig, now: float) -> Admission:
        def op() -> Admission:
            allowed, probe, gen, state, retry_after = self._acquire(
                keys=self._keys(name)[:1],
                args=[
                    repr(now),
                    repr(config.open_duration),
                    config.half_open_max_calls,
                    repr(config.probe_lease),
                    repr(config.busy_retry_after),
                    STATE_TTL_SECONDS,
                ],
            )
            after = _text(retry_after)
            return Admission(
                allowed=bool(int(allowed)),
                probe=bool(int(probe)),
                generation=int(gen),
                state=BreakerState(_text(state)),
                retry_after=float(after) if after else None,
            )

        return self.guard.run(op, lambda: self.fallback_store.acquire(name, config, now))

    def record(
        self,
        name: str,
        config: BreakerConfig,
        now: float,
        *,
        generation: int,
        probe: bool,
        failed: bool,
        slow: bool,
    ) -> BreakerState:
        def op() -> BreakerState:
            state = self._record(
                keys=self._keys(name),
                args=[
                    repr(now),
                    generation,
                    int(probe),
                    int(failed),
                    int(slow),
                    repr(config.bucket_width),
                    config.window_buckets,
                    config.minimum_calls,
                    repr(config.failure_rate_threshold),
                    repr(config.slow_call_threshold),
                    config.half_open_max_calls,
                    STATE_TTL_SECONDS,
                ],
            )
            return BreakerState(_text(state))

        def fallback() -> BreakerState:
            return self.fallback_store.record(
                name, config, now, generation=generation, probe=probe, failed=failed, slow=slow
            )

        return self.guard.run(op, fallback)

    def read(self, name: str, config: BreakerConfig, now: float) -> StoredBreaker:
        def op() -> StoredBreaker:
            state_key, window_key = self._keys(name)
            pipe = self.client.pipeline(transaction=True)
            pipe.hmget(state_key, ["state", "gen", "opened_at"])
            pipe.hgetall(window_key)
            (state, gen, opened_at), window = pipe.execute()
            oldest = math.floor(now / config.bucket_width) - config.window_buckets + 1
            totals = {"c": 0, "f": 0, "s": 0}
            for field_name, value in window.items():
                kind, _, index = _text(field_name).partition(":")
                if kind in totals and int(index) >= oldest:
                    totals[kind] += int(value)
            return StoredBreaker(
                state=BreakerState(_text(state)) if state is not None else BreakerState.CLOSED,
                generation=int(gen) if gen is not None else 0,
                opened_at=float(opened_at) if opened_at is not None else None,
                calls=totals["c"],
                failures=totals["f"],
                slow=totals["s"],
            )

        return self.guard.run(op, lambda: self.fallback_store.read(name, config, now))

    def reset(self, name: str) -> None:
        def op() -> None:
            self.client.delete(*self._keys(name))

        self.guard.run(op, lambda: None)
        self.fallback_store.reset(name)
