"""SQL for scans: the scan's row in ``jobs`` and its numbered ``scan_events``.

Every write that appends an event first updates the job row (guarded by its status), so
the row lock serializes writers of one job on PostgreSQL, and SQLite's write lock is
taken before the next event id is read: ids stay 1, 2, 3, ... without gaps or duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tradestats.store.tables import idempotency_keys, jobs, scan_events

SCAN_KIND = "scan"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def create_scan_job(
    conn: Connection, job_id: str, params: dict[str, Any], progress: dict[str, Any]
) -> None:
    now = _now()
    conn.execute(
        insert(jobs).values(
            id=job_id,
            kind=SCAN_KIND,
            status="queued",
            progress_json=json.dumps(progress),
            params_json=json.dumps(params),
            created_at=now,
            updated_at=now,
        )
    )


def claim_idempotency_key(
    conn: Connection, key: str, request_hash: str, response: dict[str, Any]
) -> bool:
    """Insert ``key`` unless present; True if this call inserted it."""
    values = {
        "key": key,
        "scope": SCAN_KIND,
        "request_hash": request_hash,
        "status": 202,
        "response_json": json.dumps(response),
        "created_at": _now(),
    }
    if conn.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(idempotency_keys).on_conflict_do_nothing(
            index_elements=["key"]
        )
    else:
        stmt = sqlite.insert(idempotency_keys).on_conflict_do_nothing(index_elements=["key"])
    # RETURNING, not rowcount: rowcount of ON CONFLICT DO NOTHING differs by driver.
    inserted = conn.execute(stmt.values(**values).returning(idempotency_keys.c.key)).first()
    return inserted is not None


def idempotency_entry(conn: Connection, key: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key))
        .mappings()
        .first()
    )
    if row is None:
        return None
    out = dict(row)
    out["response"] = json.loads(out.pop("response_json"))
    return out


def get_scan_job(conn: Connection, job_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.kind == SCAN_KIND))
        .mappings()
        .first()
    )
    if row is None:
        return None
    out = dict(row)
    out["progress"] = json.loads(out.pop("progress_json") or "{}")
    out["params"] = json.loads(out.pop("params_json") or "{}")
    out.pop("result_json", None)
    out["created_at"] = _aware(out["created_at"])
    out["updated_at"] = _aware(out["updated_at"])
    return out


def job_status(conn: Connection, job_id: str) -> str | None:
    row = conn.execute(select(jobs.c.status).where(jobs.c.id == job_id)).first()
    return None if row is None else str(row[0])


def transition(
    conn: Connection,
    job_id: str,
    allowed: Iterable[str],
    *,
    status: str | None = None,
    progress: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """Update the job if its status is in ``allowed``; True if it was."""
    values: dict[str, Any] = {"updated_at": _now()}
    if status is not None:
        values["status"] = status
    if progress is not None:
        values["progress_json"] = json.dumps(progress)
    if error is not None:
        values["error"] = error
    stmt = update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(list(allowed)))
    return bool(conn.execute(stmt.values(**values)).rowcount)


def ticker_recorded(conn: Connection, job_id: str, ticker: str) -> bool:
    stmt = select(scan_events.c.id).where(
        scan_events.c.job_id == job_id, scan_events.c.ticker == ticker
    )
    return conn.execute(stmt).first() is not None


def append_event(
    conn: Connection, job_id: str, type_: str, data: dict[str, Any], ticker: str | None = None
) -> int:
    """Append an event with the next id of ``job_id``. Call after ``transition`` in the
    same transaction (that holds the lock which makes the id unique)."""
    last = conn.execute(
        select(func.coalesce(func.max(scan_events.c.id), 0)).where(scan_events.c.job_id == job_id)
    ).scalar_one()
    event_id = int(last) + 1
    conn.execute(
        insert(scan_events).values(
            job_id=job_id,
            id=event_id,
            type=type_,
            ticker=ticker,
            data_json=json.dumps(data),
            created_at=_now(),
        )
    )
    return event_id


def events_after(
    conn: Connection, job_id: str, after: int, limit: int
) -> list[tuple[int, str, dict[str, Any]]]:
    stmt = (
        select(scan_events.c.id, scan_events.c.type, scan_events.c.data_json)
        .where(scan_events.c.job_id == job_id, scan_events.c.id > after)
        .order_by(scan_events.c.id)
        .limit(limit)
    )
    return [(int(i), str(t), json.loads(d)) for i, t, d in conn.execute(stmt)]


def last_event_id(conn: Connection, job_id: str) -> int:
    stmt = select(func.coalesce(func.max(scan_events.c.id), 0)).where(
        scan_events.c.job_id == job_id
    )
    return int(conn.execute(stmt).scalar_one())


def outcomes(conn: Connection, job_id: str) -> list[dict[str, Any]]:
    """Per-ticker outcomes of ``job_id`` in the order they were recorded."""
    stmt = (
        select(scan_events.c.data_json)
        .where(scan_events.c.job_id == job_id, scan_events.c.ticker.is_not(None))
        .order_by(scan_events.c.id)
    )
    out: list[dict[str, Any]] = []
    for (data,) in conn.execute(stmt):
        outcome = json.loads(data).get("outcome")
        if outcome is not None:
            out.append(outcome)
    return out
