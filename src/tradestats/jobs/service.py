"""Submitting and cancelling scans: the one object the API (and CLI) talk to."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from tradestats.config import Settings
from tradestats.jobs.runner import (
    MarketFactory,
    RqScanRunner,
    ScanRunner,
    ThreadScanRunner,
    default_market_factory,
)
from tradestats.jobs.scan import ScanFilters
from tradestats.jobs.store import DbScanStore, ScanSnapshot, ScanStore
from tradestats.jobs.store_redis import RedisScanStore
from tradestats.resilience.ratelimit import RateLimiter

log = logging.getLogger("tradestats.scans")


def scan_params(date: dt.date, filters: ScanFilters) -> dict[str, Any]:
    return {"date": date.isoformat(), "filters": filters.to_dict()}


def request_hash(params: dict[str, Any]) -> str:
    """Fingerprint of a scan request, to tell a retried POST from a different one."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


@dataclass
class ScanService:
    store: ScanStore
    runner: ScanRunner

    def submit(
        self, date: dt.date, filters: ScanFilters, idempotency_key: str | None = None
    ) -> tuple[ScanSnapshot, bool]:
        """Create and start a scan; ``(snapshot, created)``. A known ``idempotency_key``
        returns its scan with ``created=False`` (``IdempotencyConflict`` if the request
        differs)."""
        params = scan_params(date, filters)
        idempotency = (idempotency_key, request_hash(params)) if idempotency_key else None
        job_id, created = self.store.create(uuid.uuid4().hex, params, idempotency=idempotency)
        if created:
            try:
                self.runner.submit(job_id)
            except Exception as exc:
                log.exception("scan %s could not be queued", job_id)
                self.store.finish(job_id, "failed", f"could not be queued: {exc}")
                raise
        snapshot = self.store.get(job_id)
        assert snapshot is not None
        return snapshot, created

    def cancel(self, job_id: str) -> ScanSnapshot | None:
        if self.store.request_cancel(job_id) is None:
            return None
        return self.store.get(job_id)


def build_scan_service(
    settings: Settings,
    engine: Engine,
    redis_client: Any | None = None,
    *,
    market_factory: MarketFactory | None = None,
    limiter: RateLimiter | None = None,
) -> ScanService:
    """Redis store + RQ runner when ``settings.redis_url`` is set, else the DB store and
    a thread pool in this process."""
    if settings.redis_url:
        if redis_client is None:
            import redis

            redis_client = redis.Redis.from_url(
                settings.redis_url, socket_timeout=5, socket_connect_timeout=2
            )
        return ScanService(RedisScanStore(redis_client), RqScanRunner(redis_client))
    store = DbScanStore(engine)
    factory = market_factory or default_market_factory(settings)
    return ScanService(store, ThreadScanRunner(store, factory, limiter=limiter))
