"""Import endpoints: upload (sync, or 202 + progress for large files), list, undo."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, json, request
from pydantic import BaseModel, Field

from tradestats.api.openapi import ApiSpec, ResponseSpec, link
from tradestats.api.problems import ApiProblem
from tradestats.journal.importers import preset_names
from tradestats.journal.importers.base import AmbiguousFormat, ImportFormatError, MissingColumnError
from tradestats.journal.imports import (
    CurrencyMixError,
    ImportNotFound,
    ImportReport,
    import_file,
    report_from_row,
    undo_import,
)
from tradestats.services import services_of
from tradestats.store import journal_repo as repo

log = logging.getLogger("tradestats.imports")

# Uploads above this size are imported in the background (202 + progress).
ASYNC_THRESHOLD_BYTES = 5 * 1024 * 1024
# Progress of background imports running in this process.
_LOCAL_PROGRESS: dict[str, dict[str, Any]] = {}
_IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:\-]{8,200}$"


class Rejected(BaseModel):
    row: int
    column: str | None
    reason: str


class ImportReportModel(BaseModel):
    id: int | None
    file_name: str
    broker: str
    account: str
    status: str = Field(description="imported | rejected (strict mode: nothing stored)")
    rows_read: int
    imported: int
    duplicates: int
    rejected: int
    rejections: list[Rejected]
    skipped: dict[str, int]
    skipped_rows: dict[str, str] = Field(
        default_factory=dict,
        description="the rows counted in `skipped`, by kind, as ranges (\"3-5, 9\")",
    )
    corporate_actions: int = Field(
        default=0, description="splits stored from this file (they adjust open lots)"
    )
    accounts: list[str] = Field(
        default_factory=list, description="accounts the fills went to (a file may name several)"
    )
    strict: bool
    replayed: bool
    created_at: str | None


class ImportList(BaseModel):
    total: int
    items: list[ImportReportModel]


#: What a background import whose server process died (SIGKILL, OOM, power cut) reports.
INTERRUPTED_ERROR = (
    "interrupted: the server process running this import stopped, and nothing of the file "
    "was stored; send the file again with the same Idempotency-Key to run it again"
)


class ImportJob(BaseModel):
    id: str
    status: str
    progress: dict[str, Any]
    result: ImportReportModel | None = None
    error: str | None = None


class ListQuery(BaseModel):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "CSV, XLSX or Flex XML"},
        "broker": {"type": "string", "enum": preset_names(), "description": "default: detect"},
        "account": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"},
        "strict": {"type": "string", "enum": ["true", "false"]},
        "timezone": {"type": "string", "description": "zone for naive timestamps"},
    },
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _form_params() -> dict[str, Any]:
    errors = []
    broker = request.form.get("broker") or None
    if broker and broker not in preset_names():
        errors.append(
            {
                "name": "broker",
                "in": "body",
                "reason": f"unknown preset; one of {', '.join(preset_names())}",
            }
        )
    account = (request.form.get("account") or "default").strip()
    if not account or len(account) > 100 or "\x00" in account:
        errors.append({"name": "account", "in": "body", "reason": "1 to 100 characters, no NUL"})
    strict_raw = (request.form.get("strict") or "false").lower()
    if strict_raw not in ("true", "false", "1", "0"):
        errors.append({"name": "strict", "in": "body", "reason": "true or false"})
    tz = request.form.get("timezone") or None
    if tz:
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(tz)
        except Exception:
            errors.append({"name": "timezone", "in": "body", "reason": "unknown time zone"})
    upload = request.files.get("file")
    if upload is None or not upload.filename or "\x00" in upload.filename:
        errors.append({"name": "file", "in": "body", "reason": "required (multipart file field)"})
    key = request.headers.get("Idempotency-Key")
    import re

    if key is not None and not re.match(_IDEMPOTENCY_KEY, key):
        errors.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "reason": "8-200 characters of [A-Za-z0-9._:-]",
            }
        )
    if errors:
        raise ApiProblem(
            400,
            "Invalid request",
            "Invalid import parameter(s): " + ", ".join(e["name"] for e in errors),
            errors=errors,
        )
    assert upload is not None
    return {
        "broker": broker,
        "account": account,
        "strict": strict_raw in ("true", "1"),
        "timezone": tz,
        "upload": upload,
        "key": key,
    }


def _format_problem(exc: ImportFormatError) -> ApiProblem:
    if isinstance(exc, CurrencyMixError):
        # the request is understood; its rows contradict the account's base currency
        return ApiProblem(
            400,
            "Currencies cannot be combined",
            str(exc),
            errors=[
                {"name": "row", "in": "file", "row": p["row"], "account": p["account"],
                 "currency": p["currency"], "reason": p["reason"]}
                for p in exc.problems
            ],
        )
    errors: list[dict[str, Any]] = [{"name": "file", "in": "body", "reason": str(exc)}]
    if isinstance(exc, MissingColumnError):
        errors = [{"name": exc.column, "in": "file", "reason": "required column missing"}]
    if isinstance(exc, AmbiguousFormat):
        errors = [
            {"name": "broker", "in": "body", "reason": f"choose one of {', '.join(exc.candidates)}"}
        ]
    return ApiProblem(422, "Unprocessable file", str(exc), errors=errors)


def register(spec: ApiSpec) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered)."""
    bp = Blueprint("imports", __name__, url_prefix="/api")

    @spec.route(
        bp,
        "/imports",
        "POST",
        summary="Import a broker export (CSV, XLSX, IBKR Flex XML)",
        tags=["journal"],
        body_media_type="multipart/form-data",
        body_schema=UPLOAD_SCHEMA,
        responses={
            200: ResponseSpec(
                "Replayed: the import made earlier with this Idempotency-Key",
                model=ImportReportModel,
            ),
            201: ResponseSpec(
                "Imported (or, status=rejected in strict mode, nothing stored)",
                model=ImportReportModel,
                links={
                    "GetImport": link("imports_get_import", import_id="$response.body#/id"),
                    "UndoImport": link("imports_delete_import", import_id="$response.body#/id"),
                },
            ),
            202: ResponseSpec(
                "Large file: importing in the background",
                model=ImportJob,
                links={"GetJob": link("imports_get_import_job", job_id="$response.body#/id")},
            ),
        },
    )
    def create_import() -> Response:
        params = _form_params()
        svc = services_of(current_app)
        data: bytes = params["upload"].read()
        name = Path(params["upload"].filename).name
        kwargs = {
            "account": params["account"],
            "broker": params["broker"],
            "strict": params["strict"],
            "timezone": params["timezone"],
            "idempotency_key": params["key"],
        }
        if len(data) > ASYNC_THRESHOLD_BYTES:
            return _start_job(svc, data, name, kwargs)
        try:
            report = import_file(svc.engine, data, name, **kwargs)
        except ImportFormatError as exc:
            raise _format_problem(exc) from None
        status = 200 if report.replayed else 201
        headers = {"Idempotent-Replayed": "true"} if report.replayed else {}
        if report.id is not None:
            headers["Location"] = f"/api/imports/{report.id}"
        return _json(report.to_dict(), status, headers)

    @spec.route(
        bp,
        "/imports/jobs/<job_id>",
        "GET",
        summary="Progress of a background import",
        tags=["journal"],
        responses={200: ResponseSpec("Job", model=ImportJob)},
    )
    def get_import_job(job_id: str) -> Response:
        with services_of(current_app).engine.connect() as conn:
            job = repo.get_job(conn, job_id)
        if job is None or job["kind"] != "import":
            raise ApiProblem(404, "Not Found", f"no import job {job_id}")
        local = _LOCAL_PROGRESS.get(job_id)
        if local is not None and job["status"] == "running":
            job["progress"] = local
        elif job["status"] in ("queued", "running") and _owner_gone(job.get("params_json")):
            # Shown, not written: a re-submission with the key takes the job over.
            job["status"] = "failed"
            job["error"] = INTERRUPTED_ERROR
        return _json({k: job[k] for k in ("id", "status", "progress", "result", "error")})

    @spec.route(
        bp,
        "/imports",
        "GET",
        summary="Import history, newest first",
        tags=["journal"],
        query=ListQuery,
        responses={
            200: ResponseSpec(
                "Imports",
                model=ImportList,
                links={
                    "GetImport": link("imports_get_import", import_id="$response.body#/items/0/id"),
                },
            )
        },
    )
    def list_imports(query: ListQuery) -> Response:
        with services_of(current_app).engine.connect() as conn:
            rows = repo.list_imports(conn, query.limit, query.offset)
            total = repo.count_imports(conn)
        return _json({"total": total, "items": [report_from_row(r).to_dict() for r in rows]})

    @spec.route(
        bp,
        "/imports/<int:import_id>",
        "GET",
        summary="One import's report",
        tags=["journal"],
        responses={200: ResponseSpec("Import", model=ImportReportModel)},
    )
    def get_import(import_id: int) -> Response:
        with services_of(current_app).engine.connect() as conn:
            row = repo.get_import(conn, import_id)
            names = {a.id: a.name for a in repo.list_accounts(conn)}
        if row is None:
            raise ApiProblem(404, "Not Found", f"no import {import_id}")
        return _json(report_from_row(row, names.get(row["account_id"])).to_dict())

    @spec.route(
        bp,
        "/imports/<int:import_id>",
        "DELETE",
        summary="Undo an import: remove exactly its executions and re-match",
        tags=["journal"],
        responses={200: ResponseSpec("Deleted", schema={"type": "object"})},
    )
    def delete_import(import_id: int) -> Response:
        try:
            result = undo_import(services_of(current_app).engine, import_id)
        except ImportNotFound:
            raise ApiProblem(404, "Not Found", f"no import {import_id}") from None
        return _json(result)

    return bp


def _process_start(pid: int) -> str | None:
    """The start time of process `pid` (Linux: /proc/<pid>/stat field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _process_identity() -> dict[str, Any]:
    """Who runs a background import: host, pid, and the pid's start time (so that a
    reused pid is not taken for the process that died)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _process_start(pid)}


def _owner_gone(owner_json: str | None) -> bool:
    """True only when the job's owner is known to be dead: a process of this host whose
    pid no longer exists or now belongs to a process started at another time. A job of
    another host, or of an unknown owner, is left alone."""
    try:
        owner = json.loads(owner_json) if owner_json else None
    except ValueError:
        return False
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # the pid is now another user's process, not our server's
        return True
    started = owner.get("started")
    now_started = _process_start(pid)
    return started is not None and now_started is not None and now_started != started


def _start_job(svc: Any, data: bytes, name: str, kwargs: dict[str, Any]) -> Response:
    """Run a large import in a background thread; progress lives in the jobs table so any
    server process can answer for it."""
    key = kwargs.get("idempotency_key")
    job_id = (
        hashlib.sha256(f"import-job|{key}".encode()).hexdigest()[:32] if key else uuid.uuid4().hex
    )
    owner = json.dumps(_process_identity())
    with svc.engine.begin() as conn:
        existing = repo.get_job(conn, job_id)
        if existing is None:
            queued = {"stage": "queued", "rows": 0}
            if not repo.create_job_once(conn, job_id, "import", queued, params_json=owner):
                # A concurrent request with the same Idempotency-Key created it first.
                existing = repo.get_job(conn, job_id)
        elif existing["status"] in ("queued", "running") and _owner_gone(
            existing.get("params_json")
        ):
            # The process running it died (SIGKILL, OOM, power cut): its import rolled
            # back (or, had it committed, the key now replays it). Run it again, once.
            if repo.take_over_job(conn, job_id, existing.get("params_json"), owner):
                log.warning("re-running an import whose process died", extra={"job": job_id})
                existing = None
    if existing is not None:
        body = {k: existing[k] for k in ("id", "status", "progress", "result", "error")}
        return _json(body, 202, {"Location": f"/api/imports/jobs/{job_id}"})

    shared_progress = svc.engine.dialect.name != "sqlite"
    last_write = [0.0]

    def progress(stage: str, done: int, _total: int) -> None:
        _LOCAL_PROGRESS[job_id] = {"stage": stage, "rows": done}
        # On SQLite the import's transaction holds the only write lock until it commits,
        # so progress stays in this process (other workers see "running"); elsewhere it
        # is written for every process to read, at most twice a second.
        now = time.monotonic()
        if shared_progress and now - last_write[0] >= 0.5:
            last_write[0] = now
            with svc.engine.begin() as conn:
                repo.update_job(conn, job_id, progress={"stage": stage, "rows": done})

    def run() -> None:
        with svc.engine.begin() as conn:
            repo.update_job(conn, job_id, status="running", progress={"stage": "parse", "rows": 0})
        try:
            report: ImportReport = import_file(svc.engine, data, name, progress=progress, **kwargs)
            with svc.engine.begin() as conn:
                repo.update_job(
                    conn,
                    job_id,
                    status="done",
                    result=report.to_dict(),
                    progress={"stage": "done", "rows": report.rows_read},
                )
        except ImportFormatError as exc:
            with svc.engine.begin() as conn:
                repo.update_job(conn, job_id, status="failed", error=str(exc))
        except Exception as exc:  # reported on the job; the import itself rolled back
            log.exception("background import failed", extra={"job": job_id})
            with svc.engine.begin() as conn:
                repo.update_job(conn, job_id, status="failed", error=type(exc).__name__)
        finally:
            _LOCAL_PROGRESS.pop(job_id, None)

    # Not a daemon: a worker that is told to stop (SIGTERM, --max-requests) finishes the
    # import before it exits; the master's --graceful-timeout still bounds the wait.
    threading.Thread(target=run, name=f"import-{job_id[:8]}", daemon=False).start()
    body = {
        "id": job_id,
        "status": "queued",
        "progress": {"stage": "queued", "rows": 0},
        "result": None,
        "error": None,
    }
    return _json(body, 202, {"Location": f"/api/imports/jobs/{job_id}"})
