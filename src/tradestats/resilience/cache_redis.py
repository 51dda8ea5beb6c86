"""``RedisCacheBackend``: the shared second tier of ``TTLCache`` across processes.

Values are serialized with **pickle** by default, because market values are dataclasses
(``Quote``, ``Chain``...) that JSON cannot round-trip; Redis is a trusted component of the
deployment (RQ stores pickled jobs in it too) — never point this at a Redis that
untrusted parties can write. ``codec="json"`` stores plain JSON values instead.

Keys: ``<prefix>cache:<kind>:<key>`` with a TTL of the cache's ``stale_ttl``;
``<prefix>cachelock:<kind>:<key>`` (``SET NX PX``) lets one process load a key while the
others wait for it. Redis errors degrade to "not cached here" (``RedisFallback``).
"""

from __future__ import annotations

import json
import logging
import pickle
import uuid
from typing import Any, Literal

import redis

from tradestats.resilience.cache import CacheEntry
from tradestats.resilience.clock import SYSTEM_CLOCK, Clock
from tradestats.resilience.redis_support import RedisFallback

__all__ = ["RedisCacheBackend"]

log = logging.getLogger(__name__)

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisCacheBackend:
    """Cache entries in Redis, shared by every process with the same ``key_prefix``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        key_prefix: str = "tradestats:",
        codec: Literal["pickle", "json"] = "pickle",
        clock: Clock = SYSTEM_CLOCK,
        fallback_cooldown: float = 5.0,
    ) -> None:
        self.client = client
        self.key_prefix = key_prefix
        self.codec = codec
        self.guard = RedisFallback("the cache", cooldown=fallback_cooldown, clock=clock)
        self._unlock = client.register_script(_UNLOCK)

    @property
    def fallbacks(self) -> int:
        return self.guard.fallbacks

    def _key(self, kind: str, key: str) -> str:
        return f"{self.key_prefix}cache:{kind}:{key}"

    def _encode(self, entry: CacheEntry) -> bytes:
        if self.codec == "json":
            return json.dumps({"as_of": entry.as_of, "value": entry.value}).encode()
        return pickle.dumps((entry.as_of, entry.value), protocol=pickle.HIGHEST_PROTOCOL)

    def _decode(self, raw: bytes | str) -> CacheEntry:
        if self.codec == "json":
            data: dict[str, Any] = json.loads(raw)
            return CacheEntry(data["value"], float(data["as_of"]))
        if isinstance(raw, str):
            raise ValueError("pickle codec needs a client without decode_responses")
        as_of, value = pickle.loads(raw)  # noqa: S301 - trusted Redis, see module doc
        return CacheEntry(value, float(as_of))

    def get(self, kind: str, key: str) -> CacheEntry | None:
        def op() -> CacheEntry | None:
            raw = self.client.get(self._key(kind, key))
            if raw is None:
                return None
            try:
                return self._decode(raw)
            except Exception as exc:  # e.g. written by an older version: treat as a miss
                log.warning("unreadable cache entry %s/%s: %s", kind, key, exc)
                return None

        return self.guard.run(op, lambda: None)

    def set(self, kind: str, key: str, entry: CacheEntry, ttl: float) -> None:
        data = self._encode(entry)

        def op() -> None:
            self.client.set(self._key(kind, key), data, px=max(1, round(ttl * 1000)))

        self.guard.run(op, lambda: None)

    def try_lock(self, kind: str, key: str, ttl: float) -> str | None:
        token = uuid.uuid4().hex

        def op() -> str | None:
            ok = self.client.set(
                f"{self.key_prefix}cachelock:{kind}:{key}",
                token,
                nx=True,
                px=max(1, round(ttl * 1000)),
            )
            return token if ok else None

        # Without Redis there is no one to coordinate with: load here.
        return self.guard.run(op, lambda: token)

    def unlock(self, kind: str, key: str, token: str) -> None:
        def op() -> None:
            self._unlock(keys=[f"{self.key_prefix}cachelock:{kind}:{key}"], args=[token])

        self.guard.run(op, lambda: None)
