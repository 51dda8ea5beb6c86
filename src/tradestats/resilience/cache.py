"""``TTLCache``: per-kind cache with single-flight loads, stale-while-revalidate and
stale-on-error, in front of an optional shared backend (``RedisCacheBackend``).

Ages are measured from ``as_of`` (wall-clock epoch seconds when the value was loaded):

- age < ``ttl``: fresh — returned as is (``hit``).
- ``ttl`` <= age < ``stale_ttl``: stale — returned at once marked ``stale=True`` while
  one background refresh runs (``background_refresh=True``, the default); with
  ``background_refresh=False`` the refresh runs inline and the stale value is returned
  only if it fails.
- age >= ``stale_ttl`` or absent: loaded (``miss``). A load that fails with one of
  ``serve_stale_on`` (default: any ``MarketDataError``, which includes
  ``UpstreamUnavailable`` and ``CircuitOpen``) returns the last good value still within
  ``stale_ttl`` marked stale; with none, the loader's exception propagates unchanged
  (``UpstreamUnavailable`` keeps its ``retry_after``).

``stale_ttl`` therefore bounds the age of anything ever served. N concurrent callers of
one key share one loader call; they wait at most ``load_timeout`` for it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from tradestats.market.errors import MarketDataError, UpstreamUnavailable
from tradestats.resilience.clock import SYSTEM_CLOCK, Clock
from tradestats.telemetry.metrics import CACHE_REQUESTS

__all__ = ["CacheBackend", "CacheEntry", "CacheResult", "TTLCache"]

log = logging.getLogger(__name__)
V = TypeVar("V")


@dataclass(frozen=True)
class CacheResult(Generic[V]):
    """A cached value, whether it is past its ``ttl``, and when it was loaded (epoch s)."""

    value: V
    stale: bool
    as_of: float


@dataclass(frozen=True)
class CacheEntry:
    value: Any
    as_of: float


class CacheBackend(Protocol):
    """A shared second tier (another process may have loaded the value already)."""

    def get(self, kind: str, key: str) -> CacheEntry | None: ...

    def set(self, kind: str, key: str, entry: CacheEntry, ttl: float) -> None: ...

    def try_lock(self, kind: str, key: str, ttl: float) -> str | None:
        """A token if this process may load ``key`` now, ``None`` if another is loading."""
        ...

    def unlock(self, kind: str, key: str, token: str) -> None: ...


class _Flight:
    __slots__ = ("done", "entry", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: CacheEntry | None = None
        self.error: BaseException | None = None


class TTLCache(Generic[V]):
    """A bounded (LRU) cache of one data ``kind`` with the semantics in the module doc."""

    def __init__(
        self,
        kind: str,
        ttl: float,
        stale_ttl: float,
        *,
        max_entries: int = 1024,
        clock: Clock = SYSTEM_CLOCK,
        backend: CacheBackend | None = None,
        load_timeout: float = 30.0,
        background_refresh: bool = True,
        executor: Executor | None = None,
        serve_stale_on: tuple[type[BaseException], ...] = (MarketDataError,),
        lock_poll: float = 0.05,
    ) -> None:
        if ttl < 0 or stale_ttl < ttl or max_entries < 1:
            raise ValueError("need 0 <= ttl <= stale_ttl and max_entries >= 1")
        self.kind = kind
        self.ttl = ttl
        self.stale_ttl = stale_ttl
        self.max_entries = max_entries
        self.clock = clock
        self.backend = backend
        self.load_timeout = load_timeout
        self.background_refresh = background_refresh
        self.serve_stale_on = serve_stale_on
        self.lock_poll = lock_poll
        self._executor = executor
        self._own_executor = False
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._flights: dict[str, _Flight] = {}
        self._refreshing: set[str] = set()

    # -- public -----------------------------------------------------------------------

    def get_or_load(self, key: str, loader: Callable[[], V]) -> CacheResult[V]:
        """The value of ``key``, from cache or ``loader`` (see the module doc)."""
        entry = self._lookup(key)
        if entry is not None:
            age = self.clock.time() - entry.as_of
            if age < self.ttl:
                return self._result(entry, stale=False, count="hit")
            if self.background_refresh:
                self._refresh_in_background(key, loader)
                return self._result(entry, stale=True, count="stale")
        return self._load(key, loader, fallback=entry)

    def peek(self, key: str) -> CacheResult[V] | None:
        """The cached value without loading or counting (``None`` if absent/expired)."""
        entry = self._lookup(key)
        if entry is None:
            return None
        return CacheResult(entry.value, self.clock.time() - entry.as_of >= self.ttl, entry.as_of)

    def invalidate(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def close(self) -> None:
        """Stop the background-refresh executor if this cache created it."""
        with self._lock:
            executor, own = self._executor, self._own_executor
            self._executor, self._own_executor = None, False
        if executor is not None and own:
            executor.shutdown(wait=True)

    # -- internals --------------------------------------------------------------------

    def _result(self, entry: CacheEntry, *, stale: bool, count: str | None) -> CacheResult[V]:
        if count is not None:
            CACHE_REQUESTS.labels(kind=self.kind, result=count).inc()
        return CacheResult(entry.value, stale, entry.as_of)

    def _usable(self, entry: CacheEntry, now: float) -> bool:
        return now - entry.as_of < self.stale_ttl

    def _lookup(self, key: str) -> CacheEntry | None:
        now = self.clock.time()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and not self._usable(entry, now):
                del self._entries[key]
                entry = None
            if entry is not None:
                self._entries.move_to_end(key)
                if now - entry.as_of < self.ttl or self.backend is None:
                    return entry
        if self.backend is not None:
            shared = self.backend.get(self.kind, key)
            if shared is not None and self._usable(shared, now):
                if entry is None or shared.as_of > entry.as_of:
                    self._remember(key, shared)
                    return shared
        return entry

    def _remember(self, key: str, entry: CacheEntry) -> None:
        with self._lock:
            current = self._entries.get(key)
            if current is None or current.as_of <= entry.as_of:
                self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def _store(self, key: str, entry: CacheEntry) -> None:
        self._remember(key, entry)
        if self.backend is not None:
            self.backend.set(self.kind, key, entry, self.stale_ttl)

    def _load(
        self,
        key: str,
        loader: Callable[[], V],
        *,
        fallback: CacheEntry | None,
        counted: bool = True,
    ) -> CacheResult[V]:
        """Join or lead the single flight of ``key``; ``counted=False`` for background
        refreshes, which are not cache requests."""
        stale, miss = ("stale", "miss") if counted else (None, None)
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if leader:
            try:
                flight.entry = self._lead(key, loader)
            except BaseException as exc:
                flight.error = exc
            finally:
                with self._lock:
                    self._flights.pop(key, None)
                flight.done.set()
        elif not flight.done.wait(self.load_timeout):
            if fallback is not None:
                return self._result(fallback, stale=True, count=stale)
            if miss is not None:
                CACHE_REQUESTS.labels(kind=self.kind, result=miss).inc()
            raise UpstreamUnavailable(f"{self.kind} {key!r}: timed out waiting for a load")
        if flight.error is not None:
            error = flight.error
            if isinstance(error, self.serve_stale_on):
                last = fallback if fallback is not None else self._lookup(key)
                if last is not None:
                    return self._result(last, stale=True, count=stale)
            if miss is not None:
                CACHE_REQUESTS.labels(kind=self.kind, result=miss).inc()
            raise error
        assert flight.entry is not None
        return self._result(flight.entry, stale=False, count=miss)

    def _lead(self, key: str, loader: Callable[[], V]) -> CacheEntry:
        """Load as this process's single flight; with a shared backend, first take its
        short lock, or wait (bounded) for the process holding it to publish the value."""
        token: str | None = None
        if self.backend is not None:
            start = self.clock.monotonic()
            while (token := self.backend.try_lock(self.kind, key, self.load_timeout)) is None:
                shared = self.backend.get(self.kind, key)
                now = self.clock.time()
                if shared is not None and now - shared.as_of < self.ttl:
                    self._remember(key, shared)
                    return shared
                if self.clock.monotonic() - start + self.lock_poll > self.load_timeout:
                    break  # the other loader is stuck or gone: load ourselves
                self.clock.sleep(self.lock_poll)
            if token is not None:
                # The previous holder may have published just before we got the lock.
                shared = self.backend.get(self.kind, key)
                if shared is not None and self.clock.time() - shared.as_of < self.ttl:
                    self.backend.unlock(self.kind, key, token)
                    self._remember(key, shared)
                    return shared
        try:
            value = loader()
            entry = CacheEntry(value, self.clock.time())
            self._store(key, entry)
            return entry
        finally:
            if token is not None and self.backend is not None:
                self.backend.unlock(self.kind, key, token)

    def _refresh_in_background(self, key: str, loader: Callable[[], V]) -> None:
        with self._lock:
            if key in self._refreshing or key in self._flights:
                return
            self._refreshing.add(key)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix=f"cache-refresh-{self.kind}"
                )
                self._own_executor = True
            executor = self._executor

        def refresh() -> None:
            try:
                self._load(key, loader, fallback=None, counted=False)
            except Exception as exc:
                log.info("background refresh of %s %r failed: %s", self.kind, key, exc)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        try:
            executor.submit(refresh)
        except RuntimeError:  # executor shut down: skip the refresh
            with self._lock:
                self._refreshing.discard(key)
