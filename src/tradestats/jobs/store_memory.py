"""``MemoryScanStore``: scan state in this process only (the CLI, tests)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradestats.jobs.store import (
    ACTIVE_STATUSES,
    TERMINAL_EVENT_OF,
    TERMINAL_STATUSES,
    IdempotencyConflict,
    ScanEvent,
    ScanSnapshot,
    ScanStore,
    progress_event,
)

# --- memory -----------------------------------------------------------------------------


@dataclass
class _MemoryJob:
    status: str
    params: dict[str, Any]
    progress: dict[str, Any] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    events: list[ScanEvent] = field(default_factory=list)
    error: str | None = None
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    updated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class MemoryScanStore(ScanStore):
    """Scans in this process's memory. ``listener`` is called with each new event (from
    the thread that wrote it), e.g. to drive a progress bar."""

    def __init__(self, listener: Callable[[str, ScanEvent], None] | None = None) -> None:
        self.listener = listener
        self._lock = threading.Lock()
        self._jobs: dict[str, _MemoryJob] = {}
        self._keys: dict[str, tuple[str, str]] = {}

    def _emit(self, job_id: str, job: _MemoryJob, type_: str, data: dict[str, Any]) -> int:
        event = ScanEvent(len(job.events) + 1, type_, data)
        job.events.append(event)
        job.updated_at = dt.datetime.now(dt.UTC)
        if self.listener is not None:
            self.listener(job_id, event)
        return event.id

    def create(
        self,
        job_id: str,
        params: dict[str, Any],
        *,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[str, bool]:
        with self._lock:
            if idempotency is not None:
                key, digest = idempotency
                seen = self._keys.get(key)
                if seen is not None:
                    if seen[1] != digest:
                        raise IdempotencyConflict(key, seen[0])
                    return seen[0], False
                self._keys[key] = (job_id, digest)
            self._jobs[job_id] = _MemoryJob("queued", params)
        return job_id, True

    def get(self, job_id: str) -> ScanSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            return ScanSnapshot(
                id=job_id,
                status=job.status,
                params=dict(job.params),
                progress=dict(job.progress),
                outcomes=list(job.outcomes),
                error=job.error,
                created_at=job.created_at,
                updated_at=job.updated_at,
                last_event_id=len(job.events),
            )

    def start(self, job_id: str) -> ScanSnapshot | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in TERMINAL_STATUSES:
                return None
            if job.status == "queued":
                job.status = "running"
        return self.get(job_id)

    def update_progress(self, job_id: str, progress: dict[str, Any]) -> int | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status not in ACTIVE_STATUSES:
                return None
            job.progress = dict(progress)
            return self._emit(job_id, job, "progress", {"progress": progress})

    def record(self, job_id: str, outcome: dict[str, Any], progress: dict[str, Any]) -> int | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status not in ACTIVE_STATUSES:
                return None
            if any(o["ticker"] == outcome["ticker"] for o in job.outcomes):
                return None
            job.outcomes.append(outcome)
            job.progress = dict(progress)
            kind, data = progress_event(outcome, progress)
            return self._emit(job_id, job, kind, data)

    def finish(self, job_id: str, status: str, error: str | None = None) -> int | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in TERMINAL_STATUSES:
                return None
            job.status = status
            job.error = error
            data: dict[str, Any] = {
                "status": status,
                "progress": dict(job.progress),
                "error": error,
            }
            return self._emit(job_id, job, TERMINAL_EVENT_OF[status], data)

    def request_cancel(self, job_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status == "queued":
                job.status = "cancelled"
                data: dict[str, Any] = {"status": "cancelled", "progress": {}, "error": None}
                self._emit(job_id, job, "cancelled", data)
            elif job.status == "running":
                job.status = "cancelling"
            return job.status

    def cancel_requested(self, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            return job is None or job.status not in ("queued", "running")

    def events_after(self, job_id: str, after: int, limit: int = 500) -> list[ScanEvent]:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return []
            return job.events[max(after, 0) : max(after, 0) + limit]
