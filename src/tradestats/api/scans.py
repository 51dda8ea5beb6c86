"""Earnings scans: start (202 + job), follow (JSON or Server-Sent Events), cancel."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, json, request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tradestats.api.openapi import ApiSpec, ResponseSpec, link
from tradestats.api.problems import ApiProblem
from tradestats.api.settings import saved_thresholds
from tradestats.jobs.market import ServiceMarketData
from tradestats.jobs.scan import ScanFilters
from tradestats.jobs.service import ScanService, build_scan_service
from tradestats.jobs.store import IdempotencyConflict, ScanEvent, ScanStore
from tradestats.options.verdict import Thresholds
from tradestats.services import services_of

EXTENSION_KEY = "tradestats.scans"
HEARTBEAT_SECONDS = 15.0  # an SSE comment this often keeps proxies from closing the stream
POLL_SECONDS = 0.25  # how often an open stream looks for new events (no DB held between)
RETRY_MS = 2000  # the EventSource reconnect delay we suggest
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:\-]{8,200}$")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_TICKER = r"^[A-Za-z0-9.\-^=]{1,20}$"
_lock = threading.Lock()


class ScanFiltersModel(BaseModel):
    """Pre-filter (applied before any option chain is fetched) and scope of a scan."""

    model_config = ConfigDict(extra="forbid")

    min_price: float = Field(default=2.5, ge=0, le=1_000_000, description="last price, $")
    min_avg_volume: float | None = Field(
        default=None,
        ge=0,
        le=1e12,
        description="mean share volume of 30 sessions; default: the saved verdict threshold",
    )
    tickers: list[str] | None = Field(
        default=None, max_length=1000, description="analyze only these calendar tickers"
    )
    limit: int | None = Field(default=None, ge=1, le=5000, description="at most N tickers")

    @field_validator("tickers")
    @classmethod
    def _symbols(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for t in value:
            if not re.match(_TICKER, t):
                raise ValueError(f"not a ticker symbol: {t[:30]!r}")
            out.append(t.upper())
        return out

    def to_filters(self, thresholds: Thresholds) -> ScanFilters:
        """The job's filters; the verdict uses `thresholds` (the saved settings), and the
        volume pre-filter defaults to the verdict's volume threshold."""
        volume = thresholds.min_avg_volume if self.min_avg_volume is None else self.min_avg_volume
        return ScanFilters(
            min_price=self.min_price,
            min_avg_volume=volume,
            thresholds=thresholds,
            tickers=tuple(self.tickers) if self.tickers is not None else None,
            limit=self.limit,
        )


class ScanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = Field(default=None, description="earnings date; default today")
    filters: ScanFiltersModel = Field(default_factory=ScanFiltersModel)

    @field_validator("date")
    @classmethod
    def _near(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and abs((value - dt.date.today()).days) > 366:
            raise ValueError("must be within a year of today")
        return value


class ScanProgressModel(BaseModel):
    total: int = 0
    done: int = 0
    analyzed: int = 0
    filtered_out: int = 0
    no_data: int = 0
    errors: int = 0


class ScanOutcomeModel(BaseModel):
    ticker: str
    outcome: str = Field(description="result | filtered | no_data | error")
    reason: str | None
    timing: str | None
    analysis: dict[str, Any] | None


class ScanModel(BaseModel):
    id: str
    status: str = Field(description="queued | running | cancelling | done | failed | cancelled")
    date: str | None
    filters: dict[str, Any]
    progress: ScanProgressModel
    results: list[ScanOutcomeModel]
    skipped: list[ScanOutcomeModel]
    error: str | None
    created_at: str | None
    updated_at: str | None
    last_event_id: int


#: Event ids are 32-bit integers in the database; a larger one would overflow the driver.
MAX_EVENT_ID = 2**31 - 1


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    last_event_id: int | None = Field(
        default=None,
        ge=0,
        le=MAX_EVENT_ID,
        description="resume after this event (the Last-Event-ID header wins)",
    )


# OpenAPI 3.1 (before 3.2's itemSchema): the schema of an event-stream describes one event.
EVENTS_SCHEMA = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"enum": ["progress", "result", "done", "error", "cancelled"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "retry": {"type": "integer", "minimum": 0},
    },
    "description": (
        "Server-Sent Events. Each event has `id:` (1, 2, 3, ... per scan), `event:` "
        "progress | result | done | error | cancelled and `data:` JSON; comment lines "
        "every ~15 s are heartbeats. The stream ends after the terminal event."
    ),
}


def scans_of(app: Flask) -> ScanService:
    """The app's scan service, built on first use from the app's services."""
    svc: ScanService | None = app.extensions.get(EXTENSION_KEY)
    if svc is not None:
        return svc
    with _lock:
        svc = app.extensions.get(EXTENSION_KEY)
        if svc is None:
            services = services_of(app)
            market = ServiceMarketData(services.market)
            svc = build_scan_service(
                services.settings, services.engine, services.redis, market_factory=lambda: market
            )
            app.extensions[EXTENSION_KEY] = svc
    return svc


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _not_found(job_id: str) -> ApiProblem:
    return ApiProblem(404, "Not Found", f"no scan {job_id}")


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise ApiProblem(
            400,
            "Invalid request",
            "Invalid header: Idempotency-Key",
            errors=[
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "reason": "8-200 characters of [A-Za-z0-9._:-]",
                }
            ],
        )
    return key


def _resume_after(query: EventsQuery) -> int:
    header = request.headers.get("Last-Event-ID")
    if header is not None and header.strip() != "":
        text = header.strip()
        if not text.isdigit() or len(text) > 12 or int(text) > MAX_EVENT_ID:
            raise ApiProblem(
                400,
                "Invalid request",
                "Invalid header: Last-Event-ID",
                errors=[
                    {"name": "Last-Event-ID", "in": "header", "reason": "a non-negative integer"}
                ],
            )
        return int(text)
    return query.last_event_id or 0


def format_event(event: ScanEvent) -> str:
    """One SSE frame: ``id``, ``event`` and single-line JSON ``data``."""
    return f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(event.data)}\n\n"


def event_stream(
    store: ScanStore,
    job_id: str,
    after: int,
    *,
    poll: float = POLL_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> Iterator[str]:
    """Every event of ``job_id`` after ``after``, then new ones as they are stored, until
    the terminal event. Between polls nothing is held open (each read is one pooled
    connection checked out and returned)."""
    yield f"retry: {RETRY_MS}\n\n"
    last_sent = time.monotonic()
    idle_polls = 0
    while True:
        events = store.events_after(job_id, after)
        for event in events:
            after = event.id
            yield format_event(event)
            if event.terminal:
                return
        now = time.monotonic()
        if events:
            last_sent = now
            idle_polls = 0
            continue
        idle_polls += 1
        # At the first idle poll, then every ~10 s: stop following a job that has
        # disappeared, or one already finished whose terminal event the client has seen.
        if idle_polls % 40 == 1:
            snapshot = store.get(job_id)
            if snapshot is None or (snapshot.terminal and snapshot.last_event_id <= after):
                return
        if now - last_sent >= heartbeat:
            last_sent = now
            yield ": heartbeat\n\n"
        time.sleep(poll)


def register(spec: ApiSpec) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered)."""
    bp = Blueprint("scans", __name__, url_prefix="/api")

    @spec.route(
        bp,
        "/scans",
        "POST",
        summary="Start an earnings scan (202 + job; Idempotency-Key makes retries safe)",
        tags=["scans"],
        body=ScanRequest,
        responses={
            202: ResponseSpec(
                "Scan accepted (or, with Idempotent-Replayed: true, the scan this key started)",
                model=ScanModel,
                headers={"Location": {"schema": {"type": "string"}}},
                links={
                    "GetScan": link("scans_get_scan", job_id="$response.body#/id"),
                    "ScanEvents": link("scans_scan_events", job_id="$response.body#/id"),
                    "CancelScan": link("scans_cancel_scan", job_id="$response.body#/id"),
                },
            )
        },
    )
    def create_scan(body: ScanRequest) -> Response:
        key = _idempotency_key()
        date = body.date or dt.date.today()
        try:
            snapshot, created = scans_of(current_app).submit(
                date, body.filters.to_filters(saved_thresholds(current_app, fresh=True)), key
            )
        except IdempotencyConflict as exc:
            raise ApiProblem(
                422,
                "Idempotency-Key reused",
                str(exc),
                errors=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "reason": "already used for a different scan request",
                    }
                ],
            ) from None
        headers = {"Location": f"/api/scans/{snapshot.id}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return _json(snapshot.to_dict(), 202, headers)

    @spec.route(
        bp,
        "/scans/<job_id>",
        "GET",
        summary="A scan's status, progress and results so far",
        tags=["scans"],
        responses={200: ResponseSpec("Scan", model=ScanModel)},
    )
    def get_scan(job_id: str) -> Response:
        if not _JOB_ID.match(job_id):
            raise _not_found(job_id)
        snapshot = scans_of(current_app).store.get(job_id)
        if snapshot is None:
            raise _not_found(job_id)
        return _json(snapshot.to_dict())

    @spec.route(
        bp,
        "/scans/<job_id>/events",
        "GET",
        summary="A scan's events as Server-Sent Events (resumable with Last-Event-ID)",
        tags=["scans"],
        query=EventsQuery,
        responses={
            200: ResponseSpec("Event stream", schema=EVENTS_SCHEMA, media_type="text/event-stream")
        },
    )
    def scan_events(job_id: str, query: EventsQuery) -> Response:
        if not _JOB_ID.match(job_id):
            raise _not_found(job_id)
        after = _resume_after(query)
        store = scans_of(current_app).store
        if store.get(job_id) is None:
            raise _not_found(job_id)
        resp = Response(event_stream(store, job_id, after), mimetype="text/event-stream")
        resp.headers["Cache-Control"] = "no-cache"
        resp.headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return resp

    @spec.route(
        bp,
        "/scans/<job_id>",
        "DELETE",
        summary="Cancel a scan (it stops between tickers)",
        tags=["scans"],
        responses={
            200: ResponseSpec("Already finished (or cancelled while queued)", model=ScanModel),
            202: ResponseSpec(
                "Cancelling: the scan stops after the tickers in flight", model=ScanModel
            ),
        },
    )
    def cancel_scan(job_id: str) -> Response:
        if not _JOB_ID.match(job_id):
            raise _not_found(job_id)
        snapshot = scans_of(current_app).cancel(job_id)
        if snapshot is None:
            raise _not_found(job_id)
        return _json(snapshot.to_dict(), 200 if snapshot.terminal else 202)

    return bp
