"""WSGI middleware around the Flask app: request id, security headers, RED metrics and
the access log line.

This runs at the WSGI layer rather than in Flask ``before/after_request`` hooks because
it is on every request's path: Werkzeug's ``Headers.setdefault``/``LocalProxy`` cost
several times more than appending tuples to the raw header list (measured ~440 -> ~200 us
per /api/health call in-process), and the server's throughput target depends on it.
The Flask side records the matched URL rule in ``environ["tradestats.route"]`` so metrics
are labelled by route template, never by raw path.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from tradestats.api.closing import ClosingIterator
from tradestats.config import Settings
from tradestats.telemetry import metrics
from tradestats.telemetry.logs import ACCESS_LOGGER, access_sink, request_id_var

access_log = logging.getLogger(ACCESS_LOGGER)

ROUTE_KEY = "tradestats.route"
REQUEST_ID_KEY = "tradestats.request_id"
UNMATCHED = "<unmatched>"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestObservability:
    """Wraps the WSGI app: tags, measures and logs every request."""

    def __init__(self, app: WsgiApp, settings: Settings, security_headers: dict[str, str]) -> None:
        self.app = app
        self.cors_origins = frozenset(settings.cors_origins)
        self.static_headers = [(k, v) for k, v in security_headers.items()]
        self.static_names = frozenset(k.lower() for k in security_headers)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        # Request ids must be unique, not secret: the random module's generator (reseeded
        # in every forked child) instead of an os.urandom syscall per request.
        request_id = (
            incoming
            if incoming and _REQUEST_ID.match(incoming)
            else f"{random.getrandbits(128):032x}"
        )
        environ[REQUEST_ID_KEY] = request_id
        token = request_id_var.set(request_id)
        metrics.HTTP_IN_FLIGHT.inc()
        status_holder: list[str] = []
        origin = environ.get("HTTP_ORIGIN")

        def observed_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            status_holder[:] = [status]
            present = {name.lower() for name, _ in headers}
            if present & self.static_names:
                headers.extend(h for h in self.static_headers if h[0].lower() not in present)
            else:
                headers.extend(self.static_headers)
            headers.append(("X-Request-ID", request_id))
            if origin and origin in self.cors_origins:
                headers.append(("Access-Control-Allow-Origin", origin))
                headers.append(("Access-Control-Allow-Credentials", "true"))
                headers.append(("Access-Control-Expose-Headers", "X-Request-ID, Retry-After"))
                headers.append(("Vary", "Origin"))
            return start_response(status, headers, exc_info)

        def finish() -> None:
            elapsed = time.perf_counter() - started
            method = environ.get("REQUEST_METHOD", "GET")
            method = method if method in _KNOWN_METHODS else "OTHER"
            route = environ.get(ROUTE_KEY, UNMATCHED)
            status = status_holder[0].split(" ", 1)[0] if status_holder else "500"
            metrics.record_request(method, route, status, elapsed)
            metrics.HTTP_IN_FLIGHT.dec()
            sink = access_sink()
            if sink is not None:
                sink.enqueue_access(
                    (
                        time.time(),
                        request_id,
                        method,
                        route,
                        environ.get("PATH_INFO", ""),
                        int(status),
                        round(elapsed * 1000.0, 3),
                    )
                )
            elif access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "route": route,
                        "path": environ.get("PATH_INFO", ""),
                        "status": int(status),
                        "duration_ms": round(elapsed * 1000.0, 3),
                    },
                )
            request_id_var.reset(token)

        try:
            result = self.app(environ, observed_start_response)
        except BaseException:
            status_holder[:] = ["500 Internal Server Error"]
            finish()
            raise
        return ClosingIterator(result, finish)
