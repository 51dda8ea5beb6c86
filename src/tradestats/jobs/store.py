"""Where scan state lives: status, progress, per-ticker outcomes and the event log.

``ScanStore`` has three implementations:

- ``DbScanStore``: the ``jobs`` row plus ``scan_events`` (migration 0003), for the default
  single-machine setup. Each write is one short transaction; nothing is held between
  writes, so SQLite's single write lock is never kept across a scan.
- ``RedisScanStore`` (``store_redis``): a hash per job and lists for events and outcomes,
  written by one Lua script per change so the event id and the state it describes move
  together. Used when ``REDIS_URL`` is set (RQ workers).
- ``MemoryScanStore`` (``store_memory``): in this process only (``tradestats scan``, tests).

Every progress/result/status change is an event ``(id, type, data)``; ids are 1, 2, 3, ...
per job, so an SSE client that saw id N resumes with ``events_after(job, N)`` and loses
nothing. Types: ``progress``, ``result``, and one terminal ``done`` | ``error`` |
``cancelled``. Statuses: queued, running, cancelling (cancel requested), done, failed,
cancelled.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from tradestats.store import scan_repo

TERMINAL_STATUSES = frozenset({"done", "failed", "cancelled"})
ACTIVE_STATUSES = ("running", "cancelling")
TERMINAL_EVENTS = frozenset({"done", "error", "cancelled"})
TERMINAL_EVENT_OF = {"done": "done", "failed": "error", "cancelled": "cancelled"}
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
REDIS_TTL_SECONDS = 7 * 24 * 3600


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""

    def __init__(self, key: str, job_id: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was used for a different request")
        self.key = key
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class ScanEvent:
    id: int
    type: str
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL_EVENTS


@dataclass(frozen=True)
class ScanSnapshot:
    """A scan's state as stored: ``outcomes`` are per-ticker, in completion order."""

    id: str
    status: str
    params: dict[str, Any]
    progress: dict[str, Any]
    outcomes: list[dict[str, Any]]
    error: str | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    last_event_id: int

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def tickers(self) -> list[str]:
        return [str(o["ticker"]) for o in self.outcomes]

    def to_dict(self) -> dict[str, Any]:
        """The API's view: status, params, progress, results so far, everything skipped."""
        return {
            "id": self.id,
            "status": self.status,
            "date": self.params.get("date"),
            "filters": self.params.get("filters", {}),
            "progress": self.progress,
            "results": [o for o in self.outcomes if o.get("outcome") == "result"],
            "skipped": [o for o in self.outcomes if o.get("outcome") != "result"],
            "error": self.error,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "last_event_id": self.last_event_id,
        }


def progress_event(
    outcome: dict[str, Any] | None, progress: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    if outcome is None:
        return "progress", {"progress": progress}
    kind = "result" if outcome.get("outcome") == "result" else "progress"
    return kind, {"progress": progress, "outcome": outcome}


class ScanStore(abc.ABC):
    """State of scans, shared by whoever runs them and whoever reports on them."""

    @abc.abstractmethod
    def create(
        self,
        job_id: str,
        params: dict[str, Any],
        *,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[str, bool]:
        """Create job ``job_id`` (status queued). With ``idempotency=(key, request_hash)``
        a key seen before returns ``(its job id, False)`` instead, or raises
        ``IdempotencyConflict`` if the request hash differs. Returns ``(job_id, True)``."""

    @abc.abstractmethod
    def get(self, job_id: str) -> ScanSnapshot | None:
        """The job's state, or ``None`` for an unknown id."""

    @abc.abstractmethod
    def start(self, job_id: str) -> ScanSnapshot | None:
        """queued -> running (a running/cancelling job is resumed as is). ``None`` if the
        job is unknown or already finished: then it must not run."""

    @abc.abstractmethod
    def update_progress(self, job_id: str, progress: dict[str, Any]) -> int | None:
        """Store progress counters and emit a ``progress`` event; its id."""

    @abc.abstractmethod
    def record(self, job_id: str, outcome: dict[str, Any], progress: dict[str, Any]) -> int | None:
        """Record one ticker's outcome with the counters after it (a ``result`` event for
        an analysis, a ``progress`` event otherwise). ``None`` (nothing written) if the
        ticker was recorded before or the job is no longer active."""

    @abc.abstractmethod
    def finish(self, job_id: str, status: str, error: str | None = None) -> int | None:
        """Move an unfinished job to terminal ``status`` (done|failed|cancelled) and emit
        its terminal event (done|error|cancelled). ``None`` if it had already finished."""

    @abc.abstractmethod
    def request_cancel(self, job_id: str) -> str | None:
        """Cancel: a queued job becomes cancelled at once; a running one cancelling (its
        runner stops between tickers). Returns the status after, ``None`` if unknown."""

    @abc.abstractmethod
    def cancel_requested(self, job_id: str) -> bool:
        """True if the runner of ``job_id`` should stop (cancelling, or gone)."""

    @abc.abstractmethod
    def events_after(self, job_id: str, after: int, limit: int = 500) -> list[ScanEvent]:
        """Events with ``id > after``, ascending, at most ``limit``."""


# --- database ---------------------------------------------------------------------------


class _AlreadyRecorded(Exception):
    pass


class DbScanStore(ScanStore):
    """Scans in the ``jobs`` and ``scan_events`` tables (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        job_id: str,
        params: dict[str, Any],
        *,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[str, bool]:
        with self.engine.begin() as conn:
            if idempotency is not None:
                key, digest = idempotency
                stored_key = f"scan:{key}"
                if not scan_repo.claim_idempotency_key(
                    conn, stored_key, digest, {"job_id": job_id}
                ):
                    entry = scan_repo.idempotency_entry(conn, stored_key)
                    assert entry is not None
                    existing = str(entry["response"]["job_id"])
                    if entry["request_hash"] != digest:
                        raise IdempotencyConflict(key, existing)
                    return existing, False
            scan_repo.create_scan_job(conn, job_id, params, {})
        return job_id, True

    def get(self, job_id: str) -> ScanSnapshot | None:
        with self.engine.connect() as conn:
            row = scan_repo.get_scan_job(conn, job_id)
            if row is None:
                return None
            outcomes = scan_repo.outcomes(conn, job_id)
            last = scan_repo.last_event_id(conn, job_id)
        return ScanSnapshot(
            id=job_id,
            status=str(row["status"]),
            params=row["params"],
            progress=row["progress"],
            outcomes=outcomes,
            error=row["error"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            last_event_id=last,
        )

    def start(self, job_id: str) -> ScanSnapshot | None:
        with self.engine.begin() as conn:
            moved = scan_repo.transition(conn, job_id, ("queued",), status="running")
            if not moved and scan_repo.job_status(conn, job_id) not in ACTIVE_STATUSES:
                return None
        return self.get(job_id)

    def update_progress(self, job_id: str, progress: dict[str, Any]) -> int | None:
        with self.engine.begin() as conn:
            if not scan_repo.transition(conn, job_id, ACTIVE_STATUSES, progress=progress):
                return None
            return scan_repo.append_event(conn, job_id, "progress", {"progress": progress})

    def record(self, job_id: str, outcome: dict[str, Any], progress: dict[str, Any]) -> int | None:
        kind, data = progress_event(outcome, progress)
        ticker = str(outcome["ticker"])
        try:
            with self.engine.begin() as conn:
                if not scan_repo.transition(conn, job_id, ACTIVE_STATUSES, progress=progress):
                    return None
                if scan_repo.ticker_recorded(conn, job_id, ticker):
                    raise _AlreadyRecorded  # roll back the progress update
                return scan_repo.append_event(conn, job_id, kind, data, ticker=ticker)
        except _AlreadyRecorded:
            return None

    def finish(self, job_id: str, status: str, error: str | None = None) -> int | None:
        with self.engine.begin() as conn:
            allowed = ("queued", *ACTIVE_STATUSES)
            if not scan_repo.transition(conn, job_id, allowed, status=status, error=error):
                return None
            row = scan_repo.get_scan_job(conn, job_id)
            data: dict[str, Any] = {
                "status": status,
                "progress": row["progress"] if row else {},
                "error": error,
            }
            return scan_repo.append_event(conn, job_id, TERMINAL_EVENT_OF[status], data)

    def request_cancel(self, job_id: str) -> str | None:
        if self.finish_if_queued(job_id):
            return "cancelled"
        with self.engine.begin() as conn:
            scan_repo.transition(conn, job_id, ("running",), status="cancelling")
            return scan_repo.job_status(conn, job_id)

    def finish_if_queued(self, job_id: str) -> bool:
        with self.engine.begin() as conn:
            if not scan_repo.transition(conn, job_id, ("queued",), status="cancelled"):
                return False
            data: dict[str, Any] = {"status": "cancelled", "progress": {}, "error": None}
            scan_repo.append_event(conn, job_id, "cancelled", data)
            return True

    def cancel_requested(self, job_id: str) -> bool:
        with self.engine.connect() as conn:
            return scan_repo.job_status(conn, job_id) not in ("queued", "running")

    def events_after(self, job_id: str, after: int, limit: int = 500) -> list[ScanEvent]:
        with self.engine.connect() as conn:
            rows = scan_repo.events_after(conn, job_id, after, limit)
        return [ScanEvent(i, t, d) for i, t, d in rows]
