"""Who runs a scan once it is submitted: a thread pool in this process, or RQ workers.

- ``ThreadScanRunner`` (default, no Redis): a bounded ``ThreadPoolExecutor`` in the
  process that accepted the POST; state goes to the ``DbScanStore`` so every server
  process can report on it. A scan does not survive the death of that process (it stays
  ``running``); use RQ when that matters.
- ``RqScanRunner`` (``REDIS_URL`` set): enqueues ``execute_scan_job(job_id)`` on the
  ``tradestats-scans`` queue, for ``tradestats worker`` processes on any host.

Killed workers. RQ keeps a running job in the queue's StartedJobRegistry with a heartbeat
that expires ``HEARTBEAT_GRACE`` s after the next beat was due (``tradestats worker``: 5 s
beats + 25 s; see ``tradestats.jobs.worker``). When a worker dies (SIGKILL, OOM, host
loss), the next registry clean-up by any other worker (every 10 s, idle or busy) finds the
expired entry and, because every scan job is enqueued with ``Retry(max=SCAN_RETRIES)``,
puts it back on the queue: 25-40 s after the death. (A work horse that dies alone is
seen by its worker, which requeues the job at once.) The retried run resumes:
``run_scan`` skips the tickers already recorded and the store refuses a second record of
a ticker, so nothing is lost or counted twice. A job that exceeds ``SCAN_JOB_TIMEOUT`` is
stopped by RQ; the scan is then marked failed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from tradestats.config import Settings
from tradestats.jobs.scan import DEFAULT_CONCURRENCY, ScanFilters, run_scan
from tradestats.jobs.store import ScanStore
from tradestats.jobs.store_redis import RedisScanStore
from tradestats.market.protocol import MarketData
from tradestats.resilience.ratelimit import RateLimiter

log = logging.getLogger("tradestats.scans")

SCAN_QUEUE = "tradestats-scans"
SCAN_JOB_TIMEOUT = 30 * 60  # seconds an RQ worker may spend on one scan
SCAN_RETRIES = 2  # re-runs of a scan whose worker died
RESULT_TTL = 3600  # RQ keeps its own job record this long; scan state lives in the store

MarketFactory = Callable[[], MarketData]
LimiterFactory = Callable[[], RateLimiter | None]


class ScanRunner(Protocol):
    def submit(self, job_id: str) -> None:
        """Arrange for scan ``job_id`` (already created in the store) to run."""
        ...


def default_market_factory(settings: Settings, redis: Any | None = None) -> MarketFactory:
    """A factory for one shared ``MarketService`` built from ``settings`` (provider,
    failover, caches; limits and breakers shared through ``redis`` when given)."""
    lock = threading.Lock()
    built: list[MarketData] = []

    def factory() -> MarketData:
        with lock:
            if not built:
                from tradestats.jobs.market import service_market_data

                built.append(service_market_data(settings, redis))
            return built[0]

    return factory


def run_job(
    job_id: str,
    store: ScanStore,
    market: MarketData,
    limiter: RateLimiter | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> str:
    """Run stored scan ``job_id`` with the date and filters it was created with."""
    snapshot = store.get(job_id)
    if snapshot is None:
        log.warning("scan %s: no such job in the store", job_id)
        return "missing"
    date = dt.date.fromisoformat(str(snapshot.params["date"]))
    filters = ScanFilters.from_dict(snapshot.params.get("filters"))
    return run_scan(job_id, date, filters, market, store, limiter, concurrency)


class ThreadScanRunner:
    """Runs scans on at most ``max_scans`` threads of this process."""

    def __init__(
        self,
        store: ScanStore,
        market_factory: MarketFactory,
        *,
        limiter: RateLimiter | None = None,
        max_scans: int = 2,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.store = store
        self.market_factory = market_factory
        self.limiter = limiter
        self.concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_scans, thread_name_prefix="scan-runner")

    def submit(self, job_id: str) -> None:
        self._pool.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            market = self.market_factory()
            run_job(job_id, self.store, market, self.limiter, self.concurrency)
        except Exception as exc:
            log.exception("scan %s crashed", job_id)
            self.store.finish(job_id, "failed", f"{type(exc).__name__}: {exc}")

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)


class RqScanRunner:
    """Enqueues scans for RQ workers on queue ``queue_name``."""

    def __init__(
        self,
        connection: Any,
        *,
        queue_name: str = SCAN_QUEUE,
        job_timeout: int = SCAN_JOB_TIMEOUT,
        retries: int = SCAN_RETRIES,
    ) -> None:
        from rq import Queue

        self.queue = Queue(queue_name, connection=connection)
        self.job_timeout = job_timeout
        self.retries = retries

    def submit(self, job_id: str) -> None:
        from rq import Retry

        self.queue.enqueue(
            execute_scan_job,
            job_id,
            job_id=f"scan-{job_id}",
            job_timeout=self.job_timeout,
            retry=Retry(max=self.retries),
            result_ttl=RESULT_TTL,
            failure_ttl=24 * 3600,
            description=f"earnings scan {job_id}",
        )


# --- the RQ job function -----------------------------------------------------------------


@dataclass
class WorkerContext:
    """What ``execute_scan_job`` runs with inside a ``tradestats worker`` process."""

    settings: Settings
    market_factory: MarketFactory
    limiter_factory: LimiterFactory | None = None
    concurrency: int = DEFAULT_CONCURRENCY


_context: WorkerContext | None = None


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def configure_worker(context: WorkerContext) -> None:
    """Set this process's worker context (``run_worker`` does; forked job processes
    inherit it)."""
    global _context
    _context = context


def execute_scan_job(job_id: str) -> str:
    """RQ entry point (``tradestats.jobs.runner.execute_scan_job``): run one scan whose
    state is in the Redis store named by the worker's ``REDIS_URL``."""
    context = _context
    if context is None:
        settings = Settings.load()
        context = WorkerContext(settings, default_market_factory(settings))
    if not context.settings.redis_url:
        raise RuntimeError("REDIS_URL is required to run queued scans")
    client = _redis(context.settings.redis_url)
    try:
        store = RedisScanStore(client)
        try:
            market = context.market_factory()
            limiter = context.limiter_factory() if context.limiter_factory else None
        except Exception as exc:  # a setup problem: fail the scan, do not retry it
            log.exception("scan %s: cannot set up market data", job_id)
            store.finish(job_id, "failed", f"{type(exc).__name__}: {exc}")
            return "failed"
        return run_job(job_id, store, market, limiter, context.concurrency)
    finally:
        client.close()
