"""``tradestats worker``: an RQ worker for the scans queue.

SIGTERM (or Ctrl+C) is a warm shutdown: the worker takes no new job, lets the scan in
progress finish, then exits 0; a second signal stops it at once (the interrupted scan
is retried by another worker, see ``tradestats.jobs.runner``). Each job runs in a forked
work horse (POSIX; on Windows in the worker process itself).

Run directly with ``python -m tradestats.jobs.worker`` (settings from the environment).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from tradestats.config import ConfigError, Settings
from tradestats.jobs.runner import (
    SCAN_QUEUE,
    LimiterFactory,
    MarketFactory,
    WorkerContext,
    configure_worker,
    default_market_factory,
)
from tradestats.jobs.scan import DEFAULT_CONCURRENCY

log = logging.getLogger("tradestats.worker")

# How soon a scan whose worker died runs again (see tradestats.jobs.runner): its entry in
# the started-job registry expires HEARTBEAT_GRACE s after the heartbeat that was due
# every JOB_MONITORING_INTERVAL s, and the next registry clean-up by any live worker
# (every MAINTENANCE_INTERVAL s) requeues it: 25-40 s after the death. RQ's defaults
# (a 60 s grace; an idle worker blocked on the queue for worker_ttl - 15 = 405 s between
# clean-ups) left a killed worker's scan stuck for up to ~8 minutes while the surviving
# worker idled. Cost: one Redis heartbeat per busy worker every 5 s and one queue
# poll + clean-up-lock attempt per idle worker every 10 s. The grace still covers a Redis
# or scheduling stall of 25 s before a live scan is taken for dead (a re-run then only
# adds the tickers not yet recorded).
MAINTENANCE_INTERVAL = 10  # seconds between registry clean-ups (requeues dead workers' jobs)
JOB_MONITORING_INTERVAL = 5  # seconds between heartbeats of a running job
HEARTBEAT_GRACE = 25  # seconds a missed heartbeat is waited for before the job is abandoned
WORKER_TTL = MAINTENANCE_INTERVAL + 15  # RQ: an idle worker waits worker_ttl - 15 s per poll


def run_worker(
    settings: Settings,
    *,
    burst: bool = False,
    market_factory: MarketFactory | None = None,
    limiter_factory: LimiterFactory | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    name: str | None = None,
) -> int:
    """Work the ``tradestats-scans`` queue until stopped (or, with ``burst``, until it is
    empty). Returns the process exit code."""
    if not settings.redis_url:
        raise ConfigError("REDIS_URL: required by the worker (the scans queue lives in Redis)")
    import redis

    connection = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
    shared = redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    configure_worker(
        WorkerContext(
            settings,
            market_factory or default_market_factory(settings, shared),
            limiter_factory,
            concurrency,
        )
    )
    worker = build_worker(connection, name)
    log.info("worker listening", extra={"queue": SCAN_QUEUE, "worker": worker.name})
    worker.work(burst=burst, logging_level=settings.log_level)
    return 0


def build_worker(connection: Any, name: str | None = None) -> Any:
    """The RQ worker of the scans queue: a forking ``ScanWorker`` (POSIX) or RQ's
    ``SimpleWorker`` (Windows: no fork; its heartbeat covers the whole job timeout)."""
    from rq import Queue, SimpleWorker, Worker

    class ScanWorker(Worker):
        """RQ's forking worker with a job heartbeat TTL of ``HEARTBEAT_GRACE`` past the
        next due beat instead of RQ's fixed 60 s."""

        def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
            interval = float(self.job_monitoring_interval)
            if job.timeout and job.timeout > 0:
                interval = min(job.timeout - working_time, interval)
            return int(interval) + HEARTBEAT_GRACE

    worker_class = SimpleWorker if sys.platform == "win32" else ScanWorker
    return worker_class(
        [Queue(SCAN_QUEUE, connection=connection)],
        connection=connection,
        name=name,
        maintenance_interval=MAINTENANCE_INTERVAL,
        job_monitoring_interval=JOB_MONITORING_INTERVAL,
        worker_ttl=WORKER_TTL,
    )


def main() -> None:
    from tradestats.telemetry.logs import configure_logging

    settings = Settings.load()
    configure_logging(settings.log_level, settings.log_format)
    try:
        code = run_worker(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code)


if __name__ == "__main__":
    main()
