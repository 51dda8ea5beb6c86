"""Prometheus metrics, correct under several gunicorn workers.

Under gunicorn, `tradestats.server` sets ``PROMETHEUS_MULTIPROC_DIR`` to a fresh per-run
directory *before* this module is imported by a worker, so every metric below writes to
memory-mapped files that `render_metrics` aggregates across live and dead workers. In a
single process (waitress, the dev server, tests) the default registry is used.

Label discipline: ``route`` is always the URL rule (``/api/options/<ticker>/analysis``),
never the raw path, so a new ticker never creates a new series.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client import multiprocess as _multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


_pid = [os.getpid()]


def _process_id() -> int:
    """This process's id, kept up to date by a fork hook. prometheus_client asks for it
    on every metric update to notice a fork (5 ``getpid`` syscalls per request)."""
    return _pid[0]


def _forked() -> None:
    _pid[0] = os.getpid()


os.register_at_fork(after_in_child=_forked)

# The value class is chosen when prometheus_client is first imported; re-evaluate it so a
# process that set PROMETHEUS_MULTIPROC_DIR after that import still writes shared files.
values.ValueClass = (
    values.MultiProcessValue(process_identifier=_process_id)  # type: ignore[no-untyped-call]
    if multiprocess_enabled()
    else values.MutexValue
)

HTTP_REQUESTS = Counter(
    "tradestats_http_requests_total",
    "HTTP requests by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "tradestats_http_request_duration_seconds",
    "HTTP request duration by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_IN_FLIGHT = Gauge(
    "tradestats_http_requests_in_flight",
    "HTTP requests being served now.",
    multiprocess_mode="livesum",
)
# Labelled children by (method, route, status), looked up once per series: `labels()`
# validates its arguments and takes a lock on every call, and this is on every request's
# path. Bounded like the series themselves (method, route template, status code).
_REQUEST_SERIES: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


def record_request(method: str, route: str, status: str, seconds: float) -> None:
    """Count one answered request and observe its duration."""
    key = (method, route, status)
    series = _REQUEST_SERIES.get(key)
    if series is None:
        series = _REQUEST_SERIES.setdefault(
            key, (HTTP_REQUESTS.labels(method, route, status), HTTP_DURATION.labels(method, route))
        )
    series[0].inc()
    series[1].observe(seconds)


DB_POOL_CHECKED_OUT = Gauge(
    "tradestats_db_pool_checked_out",
    "DB connections checked out of the pool now.",
    multiprocess_mode="livesum",
)
DB_POOL_OVERFLOW = Gauge(
    "tradestats_db_pool_overflow",
    "DB connections open beyond the pool size now.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "tradestats_db_pool_size",
    "Configured DB pool size per process.",
    multiprocess_mode="livesum",
)
UPSTREAM_CALLS = Counter(
    "tradestats_upstream_calls_total",
    "Calls to market-data upstreams by outcome (ok, error, timeout, rejected, ratelimited).",
    ["upstream", "outcome"],
)
UPSTREAM_RETRIES = Counter(
    "tradestats_upstream_retries_total",
    "Retries of upstream calls.",
    ["upstream"],
)
BREAKER_STATE = Gauge(
    "tradestats_circuit_breaker_state",
    "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.",
    ["upstream"],
    multiprocess_mode="max",
)
CACHE_REQUESTS = Counter(
    "tradestats_cache_requests_total",
    "Cache lookups by data kind and result (hit, miss, stale).",
    ["kind", "result"],
)


def render_metrics() -> tuple[bytes, str]:
    """The exposition text for all processes of this server, and its content type."""
    if multiprocess_enabled():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop the live gauges of a worker that exited (gunicorn child_exit hook)."""
    if multiprocess_enabled():
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
