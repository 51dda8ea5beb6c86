"""The ScanStore contract on every backend: memory, SQLite, PostgreSQL, real Redis."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.scans import redis_or_skip
from tradestats.config import Settings
from tradestats.jobs.store import DbScanStore, IdempotencyConflict, ScanStore
from tradestats.jobs.store_memory import MemoryScanStore
from tradestats.jobs.store_redis import RedisScanStore
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade


def _db_store(url: str, data_dir: Path) -> DbScanStore:
    settings = Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": url})
    engine = build_engine(settings)
    upgrade(engine)
    return DbScanStore(engine)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
def store(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[ScanStore]:
    if request.param == "memory":
        yield MemoryScanStore()
    elif request.param == "sqlite":
        yield _db_store(f"sqlite:///{data_dir / 't.db'}", data_dir)
    elif request.param == "postgresql":
        yield _db_store(request.getfixturevalue("pg_database"), data_dir)
    else:
        client = redis_or_skip()
        prefix = f"tradestats-test-{uuid.uuid4().hex[:8]}:"
        yield RedisScanStore(client, prefix=prefix, ttl=600)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


def outcome(ticker: str, kind: str = "result") -> dict[str, object]:
    analysis = {"verdict": "Avoid"} if kind == "result" else None
    return {
        "ticker": ticker,
        "outcome": kind,
        "reason": None,
        "timing": "AMC",
        "analysis": analysis,
    }


def new_id() -> str:
    return uuid.uuid4().hex


def test_lifecycle_and_event_ids(store: ScanStore) -> None:
    job = new_id()
    assert store.create(job, {"date": "2025-03-07", "filters": {"limit": 3}}) == (job, True)
    snap = store.get(job)
    assert snap is not None and snap.status == "queued" and snap.last_event_id == 0
    assert snap.params == {"date": "2025-03-07", "filters": {"limit": 3}}
    started = store.start(job)
    assert started is not None and started.status == "running"
    assert store.update_progress(job, {"total": 3, "done": 0}) == 1
    assert store.record(job, outcome("AAA"), {"total": 3, "done": 1}) == 2
    assert store.record(job, outcome("BBB", "filtered"), {"total": 3, "done": 2}) == 3
    assert store.record(job, outcome("AAA"), {"total": 3, "done": 3}) is None  # once only
    assert store.finish(job, "done") == 4
    assert store.finish(job, "failed", "late") is None
    assert store.record(job, outcome("CCC"), {"total": 3, "done": 3}) is None

    snap = store.get(job)
    assert snap is not None and snap.status == "done" and snap.error is None
    assert snap.tickers() == ["AAA", "BBB"] and snap.last_event_id == 4
    assert snap.progress == {"total": 3, "done": 2}
    body = snap.to_dict()
    assert [r["ticker"] for r in body["results"]] == ["AAA"]
    assert [r["ticker"] for r in body["skipped"]] == ["BBB"]

    events = store.events_after(job, 0)
    assert [(e.id, e.type) for e in events] == [
        (1, "progress"),
        (2, "result"),
        (3, "progress"),
        (4, "done"),
    ]
    assert events[1].data["outcome"]["ticker"] == "AAA"
    assert events[2].data["outcome"]["outcome"] == "filtered"
    assert [e.id for e in store.events_after(job, 2)] == [3, 4]
    assert [e.id for e in store.events_after(job, 1, limit=2)] == [2, 3]
    assert store.events_after(job, 4) == []
    assert store.start(job) is None  # a finished job never runs again
    assert store.get(new_id()) is None
    assert store.events_after(new_id(), 0) == []


def test_cancel_queued_and_running(store: ScanStore) -> None:
    queued = new_id()
    store.create(queued, {})
    assert store.cancel_requested(queued) is False
    assert store.request_cancel(queued) == "cancelled"
    assert [e.type for e in store.events_after(queued, 0)] == ["cancelled"]
    assert store.start(queued) is None

    running = new_id()
    store.create(running, {})
    store.start(running)
    assert store.request_cancel(running) == "cancelling"
    assert store.cancel_requested(running) is True
    assert store.record(running, outcome("AAA"), {"done": 1}) == 1  # in flight: still kept
    assert store.finish(running, "cancelled") == 2
    assert store.request_cancel(running) == "cancelled"
    assert store.request_cancel(new_id()) is None


def test_failed_job_error_is_kept(store: ScanStore) -> None:
    job = new_id()
    store.create(job, {})
    store.start(job)
    store.finish(job, "failed", "calendar unavailable")
    snap = store.get(job)
    assert snap is not None and snap.status == "failed" and snap.error == "calendar unavailable"
    last = store.events_after(job, 0)[-1]
    assert last.type == "error" and last.data["error"] == "calendar unavailable"


def test_idempotency_keys(store: ScanStore) -> None:
    key = f"key-{new_id()}"
    first, created = store.create(new_id(), {"a": 1}, idempotency=(key, "hash-1"))
    assert created
    again, created_again = store.create(new_id(), {"a": 1}, idempotency=(key, "hash-1"))
    assert (again, created_again) == (first, False)
    with pytest.raises(IdempotencyConflict):
        store.create(new_id(), {"a": 2}, idempotency=(key, "hash-2"))


def test_concurrent_writers_get_unique_increasing_ids(store: ScanStore) -> None:
    """Progress writes and a cancel from other threads never collide on an event id."""
    job = new_id()
    store.create(job, {})
    store.start(job)
    errors: list[BaseException] = []

    def write(prefix: str) -> None:
        try:
            for i in range(15):
                store.record(job, outcome(f"{prefix}{i}", "filtered"), {"done": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(p,)) for p in "XYZ"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    ids = [e.id for e in store.events_after(job, 0)]
    assert ids == list(range(1, 46))
