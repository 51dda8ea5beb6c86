"""Test-only fault injection: make the server fail on purpose, under a test's control.

Installed only when ``TRADESTATS_TEST_FAULTS`` is on (`Settings.test_faults`); otherwise
neither the middleware nor the control route exists and ``/api/_test/faults`` is a 404.
When on, the server logs a warning at start and ``/api/ready`` reports ``warn``.

A test drives it over HTTP:

- ``POST /api/_test/faults`` with a `FaultRules` body starts an experiment: matching
  requests (``paths`` regex on the path, ``methods``) wait ``latency_ms``, then fail with
  ``status`` *before* the handler with probability ``error_rate``, or run the handler and
  have its response replaced by ``status`` *after* it ran with probability
  ``after_rate`` (the hard case for duplicate detection: the work is done, the client
  sees a 503 and retries; the handler's body is read to its end first, so keep
  streaming routes such as SSE out of ``paths`` then). ``limit`` caps the number of
  injected faults. The counters are zeroed.
- ``GET`` returns the rules and the counters: per ``"METHOD /path"``, the statuses the
  handlers answered (``handled``: requests that reached a handler) and the faults
  injected (``injected``: ``before``/``after``).
- ``DELETE`` clears the rules (the counters stay readable until the next ``POST``).

Rules and counters live in one JSON file under the data directory, updated under an
exclusive file lock, so every gunicorn worker applies the same rules and one counter
covers all of them. Random draws are a pure function of ``(seed, n)`` for the n-th
matching request, so a seeded experiment fails the same share of requests whichever
worker serves them. Speed is not a goal here: this exists to test the client's
retries, the breaker and Idempotency-Key handling against a real server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tradestats.api.openapi import ApiSpec, ResponseSpec
from tradestats.config import Settings
from tradestats.services import Services

try:  # POSIX: one lock shared by every worker process
    import fcntl
except ImportError:  # pragma: no cover - Windows: waitress serves from one process
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("tradestats.faults")

CONTROL_PATH = "/api/_test/faults"
READINESS_KEY = "testFaults:enabled"
_STATE_DIR = "test-faults"
_PROBLEM = "application/problem+json"
_DRAIN_CHUNK = 64 * 1024

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FaultRules(BaseModel):
    """What to break: which requests, how often, how, and how slowly."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="share failed before the handler runs"
    )
    after_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="share whose handler runs and whose response is then replaced",
    )
    status: int = Field(default=503, ge=400, le=599, description="status of an injected fault")
    latency_ms: int = Field(
        default=0, ge=0, le=30000, description="delay added to every matching request"
    )
    paths: str = Field(
        default="^/api/", max_length=500, description="regex searched in the request path"
    )
    methods: list[str] | None = Field(
        default=None, max_length=10, description="methods to break; default all"
    )
    seed: int | None = Field(default=None, description="makes the draws reproducible")
    limit: int | None = Field(default=None, ge=0, description="most faults to inject in all")
    retry_after: int | None = Field(
        default=None, ge=0, le=3600, description="Retry-After seconds on injected faults"
    )

    @field_validator("paths")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("methods")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = [m.strip().upper() for m in value]
        if not all(re.fullmatch(r"[A-Z]{3,7}", m) for m in out):
            raise ValueError("HTTP method names, e.g. GET, POST")
        return out


class FaultCounters(BaseModel):
    """Per ``"METHOD /path"``: handler statuses, and injected faults by phase."""

    matched: int
    handled: dict[str, dict[str, int]]
    injected: dict[str, dict[str, int]]


class FaultState(BaseModel):
    rules: FaultRules | None
    counters: FaultCounters


def _empty_counters() -> dict[str, Any]:
    return {"matched": 0, "handled": {}, "injected": {}}


class FaultStore:
    """The rules and counters, in a JSON file shared by the server's processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "state.json"
        self.lock_path = directory / "state.lock"
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.lock_path, "a+b") as lock_file:
            if fcntl is not None:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {"rules": None, "counters": _empty_counters()}
        return data

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def update(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply `change` to the state under the lock and save it; returns its result."""
        with self._locked():
            data = self._read()
            result = change(data)
            self._write(data)
            return result

    def snapshot(self) -> dict[str, Any]:
        with self._locked():
            return self._read()

    def rules(self) -> FaultRules | None:
        """The current rules. Read without the lock: writes replace the file atomically."""
        raw = self._read().get("rules")
        return FaultRules.model_validate(raw) if raw is not None else None

    def start(self, rules: FaultRules) -> None:
        def change(data: dict[str, Any]) -> None:
            data["rules"] = rules.model_dump()
            data["counters"] = _empty_counters()

        self.update(change)

    def clear(self) -> None:
        def change(data: dict[str, Any]) -> None:
            data["rules"] = None

        self.update(change)


def _bump(table: dict[str, dict[str, int]], key: str, name: str) -> None:
    row = table.setdefault(key, {})
    row[name] = row.get(name, 0) + 1


def _draws(seed: int | None, n: int) -> tuple[float, float]:
    rng = random.Random(f"{seed}:{n}") if seed is not None else random.Random()
    return rng.random(), rng.random()


class FaultInjector:
    """WSGI middleware applying the store's rules; see the module docstring."""

    def __init__(self, app: WsgiApp, store: FaultStore) -> None:
        self.app = app
        self.store = store

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PATH:
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        key = f"{method} {path}"
        rules = self.store.rules()
        phase: str | None = None
        if rules is not None and self._matches(rules, method, path):
            phase = self._decide(rules, key)
            if rules.latency_ms:
                time.sleep(rules.latency_ms / 1000.0)
        if phase == "before":
            _drain(environ)
            return self._fault(rules, "before", start_response)  # type: ignore[arg-type]

        captured: list[str] = []

        def capturing_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured[:] = [status]
            if phase == "after":  # the client must not see this response
                return lambda _data: None
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, capturing_start_response)
        except BaseException:
            self._count_handled(key, "500")
            raise
        if phase != "after":
            self._count_handled(key, captured[0].split(" ", 1)[0] if captured else "500")
            return result
        # Run the handler to the end (its side effects happen), then hide its answer.
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self._count_handled(key, captured[0].split(" ", 1)[0] if captured else "500")
        return self._fault(rules, "after", start_response)  # type: ignore[arg-type]

    @staticmethod
    def _matches(rules: FaultRules, method: str, path: str) -> bool:
        if rules.methods is not None and method not in rules.methods:
            return False
        return re.search(rules.paths, path) is not None

    def _decide(self, rules: FaultRules, key: str) -> str | None:
        """Count the match and draw its fate: "before", "after" or None."""

        def change(data: dict[str, Any]) -> str | None:
            counters = data.setdefault("counters", _empty_counters())
            n = counters["matched"]
            counters["matched"] = n + 1
            injected_total = sum(sum(row.values()) for row in counters["injected"].values())
            if rules.limit is not None and injected_total >= rules.limit:
                return None
            before, after = _draws(rules.seed, n)
            phase = None
            if before < rules.error_rate:
                phase = "before"
            elif after < rules.after_rate:
                phase = "after"
            if phase is not None:
                _bump(counters["injected"], key, phase)
            return phase

        result: str | None = self.store.update(change)
        return result

    def _count_handled(self, key: str, status: str) -> None:
        def change(data: dict[str, Any]) -> None:
            counters = data.setdefault("counters", _empty_counters())
            _bump(counters["handled"], key, status)

        self.store.update(change)

    @staticmethod
    def _fault(
        rules: FaultRules, phase: str, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        where = "before" if phase == "before" else "after"
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Injected fault",
                "status": rules.status,
                "detail": f"test fault injection failed this request {where} the handler ran",
            }
        ).encode()
        headers = [
            ("Content-Type", _PROBLEM),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Test-Fault", phase),
        ]
        if rules.retry_after is not None:
            headers.append(("Retry-After", str(rules.retry_after)))
        try:
            reason = HTTPStatus(rules.status).phrase
        except ValueError:  # a status without a registered phrase, e.g. 599
            reason = "Injected Fault"
        start_response(f"{rules.status} {reason}", headers)
        return [body]


def _drain(environ: dict[str, Any]) -> None:
    """Read the unread request body so the connection stays usable after an early answer."""
    stream = environ.get("wsgi.input")
    try:
        remaining = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        remaining = 0
    if stream is None:
        return
    while remaining > 0:
        chunk = stream.read(min(remaining, _DRAIN_CHUNK))
        if not chunk:
            return
        remaining -= len(chunk)


def store_for(settings: Settings) -> FaultStore:
    return FaultStore(Path(settings.data_dir) / _STATE_DIR)


def readiness(_store: FaultStore) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """A readiness provider: always ``warn`` (this server fails requests on purpose)."""

    def check() -> dict[str, list[dict[str, Any]]]:
        active = _store.rules() is not None
        return {
            READINESS_KEY: [
                {
                    "componentType": "system",
                    "status": "warn",
                    "observedValue": active,
                    "output": "TRADESTATS_TEST_FAULTS is on: this server fails requests on "
                    "purpose when told to (tests only)" + ("; rules are active" if active else ""),
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            ]
        }

    return check


def register(spec: ApiSpec, store: FaultStore) -> Blueprint:
    """The control route (registered only when the switch is on)."""
    bp = Blueprint("test_faults", __name__, url_prefix="/api")
    state_response = {200: ResponseSpec("Rules and counters", model=FaultState)}

    def state() -> Response:
        data = store.snapshot()
        body = FaultState.model_validate(data)
        return Response(body.model_dump_json(), mimetype="application/json")

    @spec.route(
        bp,
        "/_test/faults",
        "POST",
        summary="TESTS ONLY: inject faults into matching requests; zeroes the counters",
        tags=["test"],
        body=FaultRules,
        responses=state_response,
    )
    def start_faults(body: FaultRules) -> Response:
        store.start(body)
        log.warning("test fault injection rules set", extra={"rules": body.model_dump()})
        return state()

    @spec.route(
        bp,
        "/_test/faults",
        "GET",
        summary="TESTS ONLY: the fault rules and the counters",
        tags=["test"],
        responses=state_response,
    )
    def get_faults() -> Response:
        return state()

    @spec.route(
        bp,
        "/_test/faults",
        "DELETE",
        summary="TESTS ONLY: stop injecting faults (the counters stay readable)",
        tags=["test"],
        responses=state_response,
    )
    def clear_faults() -> Response:
        store.clear()
        return state()

    return bp


def install(app: Flask, services: Services) -> None:
    """Wire the control route, the middleware and the readiness warning into `app`.

    Call only when ``settings.test_faults`` is on, before the outer middleware wraps
    ``app.wsgi_app`` (so injected faults are still logged, measured and carry the
    security headers, and liveness is never failed)."""
    store = store_for(services.settings)
    app.register_blueprint(register(services.spec, store))
    app.wsgi_app = FaultInjector(app.wsgi_app, store)  # type: ignore[method-assign]
    services.readiness_checks.append(readiness(store))
    log.warning(
        "TEST FAULT INJECTION IS ENABLED (TRADESTATS_TEST_FAULTS): %s can make this server "
        "fail requests on purpose. Never enable it outside tests.",
        CONTROL_PATH,
    )
