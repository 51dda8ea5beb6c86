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

MAINTENANCE_INTERVAL = 30  # seconds between registry clean-ups (requeues dead workers' jobs)
JOB_MONITORING_INTERVAL = 10  # seconds between heartbeats of a running job


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
    from rq import Queue, SimpleWorker, Worker

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
    worker_class = SimpleWorker if sys.platform == "win32" else Worker
    worker = worker_class(
        [Queue(SCAN_QUEUE, connection=connection)],
        connection=connection,
        name=name,
        maintenance_interval=MAINTENANCE_INTERVAL,
        job_monitoring_interval=JOB_MONITORING_INTERVAL,
    )
    log.info("worker listening", extra={"queue": SCAN_QUEUE, "worker": worker.name})
    worker.work(burst=burst, logging_level=settings.log_level)
    return 0


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
