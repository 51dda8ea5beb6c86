"""SQLAlchemy engine and connection pool, configured for each backend.

- SQLite (default): WAL journal, ``busy_timeout`` so writers wait instead of failing with
  "database is locked", foreign keys on, ``synchronous=NORMAL`` (safe with WAL); no
  pre-ping (nothing between us and the file to go away).
- PostgreSQL (psycopg 3): ``pool_pre_ping`` so a restarted server is survived without a
  process restart, ``pool_recycle``, a short ``connect_timeout`` so readiness and requests
  fail fast while the database is down instead of hanging.

Pool sizes derive from the worker thread count. Pools must not cross ``fork()``: every
engine created here is disposed in the child after a fork (its parent's connections are
left alone), whatever server forked us.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry

from tradestats.config import Settings
from tradestats.telemetry import metrics

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _dispose_after_fork() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_dispose_after_fork)


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def build_engine(settings: Settings) -> Engine:
    """A pooled engine for `settings.database_url`, with pool metrics wired in."""
    url = normalize_url(settings.database_url)
    kwargs: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": max(2, settings.db_pool_size // 2),
        "pool_timeout": settings.db_pool_timeout,
        "future": True,
    }
    if url.startswith("sqlite"):
        parsed = make_url(url)
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        # A local file cannot drop a connection the way a server restart does; the ping
        # would be a second statement on every checkout.
        kwargs["pool_pre_ping"] = False
    else:
        kwargs["pool_recycle"] = 1800
        kwargs["connect_args"] = {"connect_timeout": settings.db_connect_timeout}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    _instrument_pool(engine, settings.db_pool_size)
    _ENGINES.add(engine)
    return engine


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MB page cache (default 2 MB): imports insert into the fingerprint index at
        # random; with the small cache they re-read pages (measured: -40% import time at
        # 1M fills). SQLite grows the cache only as pages are used.
        cursor.execute("PRAGMA cache_size=-65536")
    finally:
        cursor.close()


def _instrument_pool(engine: Engine, size: int) -> None:
    metrics.DB_POOL_SIZE.set(size)


class PoolGaugeSampler:
    """Keeps the checked-out and overflow gauges in step with this process's pools.

    The gauges are sampled (every `interval` seconds by a daemon thread, and right before
    each /metrics scrape of this process) rather than moved by checkout/checkin events:
    with event listeners every pooled request paid two listener calls and two locked
    writes to the multiprocess metrics files, ~20 us of a ~200 us ``/api/info`` (measured
    in-process, min of 12 batches). A gauge is read at scrape time anyway; a value at
    most one interval old is what a scrape of the other workers sees.

    The thread is started explicitly by the serving process (a gunicorn worker after
    fork, the waitress or dev server), never in a process that forks afterwards (the
    gunicorn master, RQ workers): a thread holding the metrics lock across ``fork()``
    would leave the child's copy locked forever.
    """

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._pid = 0
        self._lock = threading.Lock()
        self._last: tuple[int, int] = (-1, -1)

    def start(self) -> None:
        """Start the sampling thread of this process (once)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._last = (-1, -1)
            threading.Thread(target=self._run, name="pool-gauges", daemon=True).start()

    def _run(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            self.sample()
            time.sleep(self.interval)

    def sample(self) -> tuple[int, int]:
        """Set the gauges from the pools now; returns (checked out, overflow)."""
        checked_out = overflow = 0
        for engine in list(_ENGINES):
            checked_out += _checked_out(engine)
            overflow += max(0, _overflow(engine))
        value = (checked_out, overflow)
        if value != self._last:  # each set is a locked write in multiprocess mode
            self._last = value
            metrics.DB_POOL_CHECKED_OUT.set(checked_out)
            metrics.DB_POOL_OVERFLOW.set(overflow)
        return value


_POOL_SAMPLER = PoolGaugeSampler()


def start_pool_gauge_sampler() -> None:
    """Sample the pool gauges every second in this (serving, non-forking) process."""
    _POOL_SAMPLER.start()


def sample_pool_gauges() -> tuple[int, int]:
    """Refresh the pool gauges of this process (called before rendering /metrics)."""
    return _POOL_SAMPLER.sample()


def _checked_out(engine: Engine) -> int:
    checked_out = getattr(engine.pool, "checkedout", None)
    return int(checked_out()) if callable(checked_out) else 0


def _overflow(engine: Engine) -> int:
    overflow = getattr(engine.pool, "overflow", None)
    return int(overflow()) if callable(overflow) else 0


def ping(engine: Engine) -> float:
    """Round-trip ``SELECT 1`` through the pool; returns milliseconds. Raises on failure."""
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return (time.perf_counter() - started) * 1000.0
