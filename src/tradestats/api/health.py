"""Liveness, readiness (IETF draft api-health-check) and the OpenAPI document."""

from __future__ import annotations

import json as stdlib_json
import time
from typing import Any

from flask import Blueprint, Response, current_app, json
from pydantic import BaseModel, Field

from tradestats import __version__
from tradestats.api.middleware import ROUTE_KEY
from tradestats.api.openapi import ResponseSpec
from tradestats.services import Services, services_of
from tradestats.store.engine import ping
from tradestats.store.kv import INSTANCE_ID_KEY, get_value
from tradestats.telemetry.logs import iso_utc

HEALTH_MEDIA_TYPE = "application/health+json"
HEALTH_CACHE_CONTROL = "no-store, max-age=0"


class HealthCheck(BaseModel):
    componentId: str | None = None
    componentType: str | None = None
    status: str = Field(pattern="^(pass|warn|fail)$")
    observedValue: Any = None
    observedUnit: str | None = None
    time: str
    output: str | None = None


class Health(BaseModel):
    """Health in application/health+json (draft-inadarei-api-health-check)."""

    status: str = Field(pattern="^(pass|warn|fail)$")
    version: str
    releaseId: str
    serviceId: str
    description: str
    output: str | None = None
    checks: dict[str, list[HealthCheck]]


class Info(BaseModel):
    """What the page shows about the service: version, data sources, auth, storage."""

    version: str
    instanceId: str | None
    marketData: str
    demo: bool
    auth: bool
    database: str
    sharedState: bool


def _now() -> str:
    return iso_utc(time.time())


def overall_status(checks: dict[str, list[dict[str, Any]]]) -> str:
    """fail if any check fails, else warn if any warns, else pass."""
    statuses = {c["status"] for entries in checks.values() for c in entries}
    if "fail" in statuses:
        return "fail"
    return "warn" if "warn" in statuses else "pass"


def _health_response(body: dict[str, Any]) -> Response:
    status = 503 if body["status"] == "fail" else 200
    resp = Response(json.dumps(body), status=status, mimetype=HEALTH_MEDIA_TYPE)
    resp.headers["Cache-Control"] = HEALTH_CACHE_CONTROL
    return resp


_UPTIME_MARK = "@@uptime@@"
_TIME_MARK = "@@time@@"


def _liveness_template() -> tuple[bytes, bytes, bytes]:
    """The liveness document encoded once, split where the uptime and time go: it is the
    most requested document, and json.dumps of the nested dict per request cost more than
    the rest of the response (the values spliced in are a number and an ISO timestamp,
    neither needs escaping)."""
    checks = {
        "uptime": [
            {
                "componentType": "system",
                "observedValue": _UPTIME_MARK,
                "observedUnit": "s",
                "status": "pass",
                "time": _TIME_MARK,
            }
        ],
    }
    text = stdlib_json.dumps(_base("tradestats liveness", "pass", checks), separators=(",", ":"))
    head, rest = text.split(stdlib_json.dumps(_UPTIME_MARK))
    middle, tail = rest.split(_TIME_MARK)
    return head.encode(), middle.encode(), tail.encode()


def liveness_body(started_monotonic: float) -> bytes:
    """The liveness document: status pass and the process uptime."""
    global _LIVENESS
    if _LIVENESS is None:
        _LIVENESS = _liveness_template()
    head, middle, tail = _LIVENESS
    uptime = repr(round(time.monotonic() - started_monotonic, 3)).encode()
    return b"".join((head, uptime, middle, _now().encode(), tail))


_LIVENESS: tuple[bytes, bytes, bytes] | None = None


class LivenessResponder:
    """WSGI middleware answering ``GET/HEAD /api/health`` without entering Flask.

    Liveness is polled by every browser tab and by orchestrators; it must stay cheap and
    keep answering when the app is busy, so it skips routing, hooks and the DB entirely.
    """

    PATH = "/api/health"

    def __init__(self, app: Any, started_monotonic: float) -> None:
        self.app = app
        self.started_monotonic = started_monotonic

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != self.PATH or environ.get("REQUEST_METHOD") not in (
            "GET",
            "HEAD",
        ):
            return self.app(environ, start_response)
        environ[ROUTE_KEY] = self.PATH
        body = liveness_body(self.started_monotonic)
        start_response(
            "200 OK",
            [
                ("Content-Type", HEALTH_MEDIA_TYPE),
                ("Content-Length", str(len(body))),
                ("Cache-Control", HEALTH_CACHE_CONTROL),
            ],
        )
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def _base(description: str, status: str, checks: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "status": status,
        "version": __version__.split(".")[0],
        "releaseId": __version__,
        "serviceId": "tradestats",
        "description": description,
        "checks": checks,
    }


def register(services: Services) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered)."""
    bp = Blueprint("health", __name__, url_prefix="/api")
    spec = services.spec
    health_responses = {
        200: ResponseSpec("pass or warn", model=Health, media_type=HEALTH_MEDIA_TYPE),
        503: ResponseSpec("fail", model=Health, media_type=HEALTH_MEDIA_TYPE),
    }

    @spec.route(
        bp,
        "/health",
        "GET",
        summary="Liveness: the process answers",
        tags=["health"],
        responses={200: health_responses[200]},
        public=True,
    )
    def health() -> Response:
        """Cheap liveness: never touches the DB or an upstream.

        Normally answered by `LivenessResponder` before Flask; this view serves the same
        document when the app runs without that middleware (and documents the route).
        """
        body = liveness_body(services_of(current_app).started_monotonic)
        resp = Response(body, mimetype=HEALTH_MEDIA_TYPE)
        resp.headers["Cache-Control"] = HEALTH_CACHE_CONTROL
        return resp

    @spec.route(
        bp,
        "/ready",
        "GET",
        summary="Readiness: DB, Redis and upstream breakers",
        tags=["health"],
        responses=health_responses,
    )
    def ready() -> Response:
        svc = services_of(current_app)
        checks: dict[str, list[dict[str, Any]]] = {"database:responseTime": [_db_check(svc)]}
        if svc.redis is not None:
            checks["redis:responseTime"] = [_redis_check(svc)]
        for provider in svc.readiness_checks:
            for key, entries in provider().items():
                checks.setdefault(key, []).extend(entries)
        return _health_response(_base("tradestats readiness", overall_status(checks), checks))

    @spec.route(
        bp,
        "/openapi.json",
        "GET",
        summary="This OpenAPI 3.1 document",
        tags=["meta"],
        responses={200: ResponseSpec("OpenAPI document", schema={"type": "object"})},
    )
    def openapi() -> Response:
        svc = services_of(current_app)
        doc = svc.spec.document(auth=svc.settings.token is not None)
        return Response(json.dumps(doc), mimetype="application/json")

    @spec.route(
        bp,
        "/info",
        "GET",
        summary="Service facts the page needs to label itself",
        tags=["meta"],
        responses={200: ResponseSpec("Service info", model=Info)},
    )
    def info() -> Response:
        svc = services_of(current_app)
        body = Info(
            version=__version__,
            instanceId=get_value(svc.engine, INSTANCE_ID_KEY),
            marketData=svc.settings.market_data,
            demo=svc.settings.demo,
            auth=svc.settings.token is not None,
            database=svc.engine.dialect.name,
            sharedState=svc.redis is not None,
        )
        return Response(body.model_dump_json(), mimetype="application/json")

    return bp


def _db_check(svc: Services) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "componentId": svc.engine.dialect.name,
        "componentType": "datastore",
        "observedUnit": "ms",
        "time": _now(),
    }
    try:
        entry["observedValue"] = round(ping(svc.engine), 3)
        entry["status"] = "pass"
    except Exception as exc:  # any driver error means "not ready"
        entry["status"] = "fail"
        entry["output"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return entry


def _redis_check(svc: Services) -> dict[str, Any]:
    # Redis backs shared cache/limits/breakers; each falls back to in-process state, so
    # an unreachable Redis degrades the service (warn) rather than failing it.
    entry: dict[str, Any] = {"componentType": "datastore", "observedUnit": "ms", "time": _now()}
    started = time.perf_counter()
    try:
        assert svc.redis is not None
        svc.redis.ping()
        entry["observedValue"] = round((time.perf_counter() - started) * 1000.0, 3)
        entry["status"] = "pass"
    except Exception as exc:  # redis errors of any kind
        entry["status"] = "warn"
        entry["output"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return entry
