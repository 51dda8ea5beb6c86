"""``RedisScanStore``: scan state in Redis, for RQ workers on any host (``REDIS_URL``).

A hash per job (status, params, progress, last event id) and lists for events and
outcomes, changed by one Lua script per write so an event id and the state it describes
move together.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tradestats.jobs.store import (
    ACTIVE_STATUSES,
    IDEMPOTENCY_TTL_SECONDS,
    REDIS_TTL_SECONDS,
    TERMINAL_EVENT_OF,
    IdempotencyConflict,
    ScanEvent,
    ScanSnapshot,
    ScanStore,
    progress_event,
)

# --- Redis ------------------------------------------------------------------------------

# KEYS: job hash, events list, outcomes list, recorded-tickers set.
# ARGV: 1 event type ('' = no event), 2 event data JSON, 3 progress JSON ('' = keep),
# 4 new status ('' = keep), 5 allowed current statuses (comma-separated), 6 ticker
# ('' = none), 7 outcome JSON, 8 now (ISO), 9 TTL seconds, 10 error ('' = keep).
# Returns {applied (0/1), event id (0 if none)}.
_APPLY = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {0, 0} end
local allowed = false
for s in string.gmatch(ARGV[5], '[^,]+') do
  if s == status then allowed = true end
end
if not allowed then return {0, 0} end
if ARGV[6] ~= '' then
  if redis.call('SADD', KEYS[4], ARGV[6]) == 0 then return {0, 0} end
  redis.call('RPUSH', KEYS[3], ARGV[7])
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'progress', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[4]) end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[10]) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[8])
local id = 0
if ARGV[1] ~= '' then
  id = redis.call('HINCRBY', KEYS[1], 'last_event_id', 1)
  redis.call('RPUSH', KEYS[2],
    '{"id":' .. id .. ',"type":"' .. ARGV[1] .. '","data":' .. ARGV[2] .. '}')
end
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[9])) end
return {1, id}
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisScanStore(ScanStore):
    """Scans in Redis under ``{prefix}scan:{id}`` (hash), ``:events``, ``:outcomes`` and
    ``:tickers``; every key expires ``ttl`` seconds after the job's last change.

    Event ids are contiguous from 1, so event N is element N-1 of the events list.
    """

    def __init__(
        self, client: Any, *, prefix: str = "tradestats:", ttl: int = REDIS_TTL_SECONDS
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self._apply_script = client.register_script(_APPLY)

    def _keys(self, job_id: str) -> list[str]:
        base = f"{self.prefix}scan:{job_id}"
        return [base, f"{base}:events", f"{base}:outcomes", f"{base}:tickers"]

    def _apply(
        self,
        job_id: str,
        allowed: tuple[str, ...],
        *,
        event: tuple[str, dict[str, Any]] | None = None,
        progress: dict[str, Any] | None = None,
        status: str | None = None,
        outcome: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> tuple[bool, int]:
        args = [
            event[0] if event else "",
            json.dumps(event[1]) if event else "",
            json.dumps(progress) if progress is not None else "",
            status or "",
            ",".join(allowed),
            str(outcome["ticker"]) if outcome else "",
            json.dumps(outcome) if outcome else "",
            dt.datetime.now(dt.UTC).isoformat(),
            str(self.ttl),
            error or "",
        ]
        applied, event_id = self._apply_script(keys=self._keys(job_id), args=args)
        return bool(int(applied)), int(event_id)

    def create(
        self,
        job_id: str,
        params: dict[str, Any],
        *,
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[str, bool]:
        if idempotency is not None:
            key, digest = idempotency
            idem_key = f"{self.prefix}scan-idempotency:{key}"
            value = json.dumps({"job_id": job_id, "request_hash": digest})
            if not self.client.set(idem_key, value, nx=True, ex=IDEMPOTENCY_TTL_SECONDS):
                raw = self.client.get(idem_key)
                if raw is not None:
                    entry = json.loads(_text(raw))
                    existing = str(entry["job_id"])
                    if entry["request_hash"] != digest:
                        raise IdempotencyConflict(key, existing)
                    if self.get(existing) is not None:
                        return existing, False
                # The key outlived its job (or vanished): take it over.
                self.client.set(idem_key, value, ex=IDEMPOTENCY_TTL_SECONDS)
        now = dt.datetime.now(dt.UTC).isoformat()
        hash_key = self._keys(job_id)[0]
        with self.client.pipeline() as pipe:
            pipe.hset(
                hash_key,
                mapping={
                    "status": "queued",
                    "params": json.dumps(params),
                    "progress": "{}",
                    "created_at": now,
                    "updated_at": now,
                    "last_event_id": 0,
                },
            )
            pipe.expire(hash_key, self.ttl)
            pipe.execute()
        return job_id, True

    def get(self, job_id: str) -> ScanSnapshot | None:
        keys = self._keys(job_id)
        with self.client.pipeline() as pipe:
            pipe.hgetall(keys[0])
            pipe.lrange(keys[2], 0, -1)
            raw, outcomes = pipe.execute()
        if not raw:
            return None
        h = {_text(k): _text(v) for k, v in raw.items()}
        return ScanSnapshot(
            id=job_id,
            status=h["status"],
            params=json.loads(h.get("params", "{}")),
            progress=json.loads(h.get("progress", "{}")),
            outcomes=[json.loads(_text(o)) for o in outcomes],
            error=h.get("error") or None,
            created_at=dt.datetime.fromisoformat(h["created_at"]) if "created_at" in h else None,
            updated_at=dt.datetime.fromisoformat(h["updated_at"]) if "updated_at" in h else None,
            last_event_id=int(h.get("last_event_id", 0)),
        )

    def start(self, job_id: str) -> ScanSnapshot | None:
        self._apply(job_id, ("queued",), status="running")
        snap = self.get(job_id)
        return snap if snap is not None and snap.status in ACTIVE_STATUSES else None

    def update_progress(self, job_id: str, progress: dict[str, Any]) -> int | None:
        applied, event_id = self._apply(
            job_id, ACTIVE_STATUSES, event=("progress", {"progress": progress}), progress=progress
        )
        return event_id if applied else None

    def record(self, job_id: str, outcome: dict[str, Any], progress: dict[str, Any]) -> int | None:
        applied, event_id = self._apply(
            job_id,
            ACTIVE_STATUSES,
            event=progress_event(outcome, progress),
            progress=progress,
            outcome=outcome,
        )
        return event_id if applied else None

    def finish(self, job_id: str, status: str, error: str | None = None) -> int | None:
        snap = self.get(job_id)
        progress = snap.progress if snap is not None else {}
        data: dict[str, Any] = {"status": status, "progress": progress, "error": error}
        applied, event_id = self._apply(
            job_id,
            ("queued", *ACTIVE_STATUSES),
            event=(TERMINAL_EVENT_OF[status], data),
            status=status,
            error=error,
        )
        return event_id if applied else None

    def request_cancel(self, job_id: str) -> str | None:
        data: dict[str, Any] = {"status": "cancelled", "progress": {}, "error": None}
        self._apply(job_id, ("queued",), event=("cancelled", data), status="cancelled")
        self._apply(job_id, ("running",), status="cancelling")
        status = self.client.hget(self._keys(job_id)[0], "status")
        return None if status is None else _text(status)

    def cancel_requested(self, job_id: str) -> bool:
        status = self.client.hget(self._keys(job_id)[0], "status")
        return status is None or _text(status) not in ("queued", "running")

    def events_after(self, job_id: str, after: int, limit: int = 500) -> list[ScanEvent]:
        raw = self.client.lrange(self._keys(job_id)[1], max(after, 0), max(after, 0) + limit - 1)
        out = []
        for item in raw:
            ev = json.loads(_text(item))
            out.append(ScanEvent(int(ev["id"]), str(ev["type"]), ev["data"]))
        return out
