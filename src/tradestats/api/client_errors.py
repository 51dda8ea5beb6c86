"""Browser error reports: the page posts failures it could not recover from, so an
operator sees them in the server's JSON logs next to the request ids they concern."""

from __future__ import annotations

import logging
from typing import Literal

from flask import Blueprint, Response, json
from pydantic import BaseModel, ConfigDict, Field

from tradestats.api.openapi import ApiSpec, ResponseSpec

log = logging.getLogger("tradestats.client")


class ClientError(BaseModel):
    """One error seen by the browser."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=2000)
    level: Literal["error", "warning"] = "error"
    url: str | None = Field(default=None, max_length=2000)
    requestId: str | None = Field(default=None, max_length=128)
    stack: str | None = Field(default=None, max_length=8000)


class Accepted(BaseModel):
    accepted: bool


def register(spec: ApiSpec) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered)."""
    bp = Blueprint("client_errors", __name__, url_prefix="/api")

    @spec.route(
        bp,
        "/client-errors",
        "POST",
        summary="Report an error seen by the browser (logged, not stored)",
        tags=["meta"],
        body=ClientError,
        responses={202: ResponseSpec("Logged", model=Accepted)},
    )
    def report_client_error(body: ClientError) -> Response:
        log.log(
            logging.ERROR if body.level == "error" else logging.WARNING,
            "browser error: %s",
            body.message,
            extra={
                "client_url": body.url,
                "client_request_id": body.requestId,
                "client_stack": body.stack,
            },
        )
        return Response(json.dumps({"accepted": True}), status=202, mimetype="application/json")

    return bp
