"""RFC 9457 problem details: every 4xx/5xx leaves the server as application/problem+json."""

from __future__ import annotations

import logging
import sys
from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("tradestats.api")

#: Seconds a client is told to wait when the database is unreachable: a restarting
#: PostgreSQL is usually back within a few seconds, and the pool reconnects on its own.
DATABASE_RETRY_AFTER = 2


class ApiProblem(Exception):
    """Raise from a view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = errors
        self.headers = headers or {}


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    try:
        body["instance"] = request.path
    except RuntimeError:  # outside a request context
        pass
    if errors:
        body["errors"] = errors
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.errorhandler(HTTPException)
    def _http_exception(exc: HTTPException) -> Response:
        status = exc.code or 500
        headers = {}
        if status == 405 and exc.get_response().headers.get("Allow"):
            headers["Allow"] = exc.get_response().headers["Allow"]
        detail = exc.description
        if status == 413:
            detail = "The request body is larger than this endpoint accepts."
        return problem_response(status, exc.name, detail, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if database_unavailable(exc):
            log.warning(
                "database unavailable",
                extra={"route": _route(), "error": f"{type(exc).__name__}: {_first_line(exc)}"},
            )
            return problem_response(
                503,
                "Database unavailable",
                "The database cannot be reached right now; retry shortly.",
                headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
            )
        log.exception("unhandled error", extra={"route": _route()})
        return problem_response(
            500,
            "Internal Server Error",
            "The server failed to handle this request; it has been logged with its request id.",
        )


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database is unreachable right now" (503, retry later)
    rather than a fault of this request or of our code (500).

    That is: no pooled connection within ``pool_timeout``; a connection the pool found
    broken (``connection_invalidated``); or a PostgreSQL driver ``OperationalError`` /
    ``InterfaceError`` (refused connection, server shutting down or starting up, too many
    connections, lost connection), wrapped by SQLAlchemy or raw (``raw_connection()``
    callers). SQLite's OperationalErrors ("no such table", a locked file) stay 500s.
    """
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    # Only a process that talks to PostgreSQL has imported the driver (an import costs
    # ~0.2 s, not worth paying on SQLite deployments just to answer "no").
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(
        exc, psycopg.OperationalError | psycopg.InterfaceError
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"
