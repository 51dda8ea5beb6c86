"""The single-page shell, the login page and /metrics."""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path

import plotly
from flask import Blueprint, Response, current_app, redirect, request, send_from_directory

from tradestats.api.security import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    is_safe_next,
    new_session_cookie,
    token_matches,
)
from tradestats.services import services_of
from tradestats.store.engine import sample_pool_gauges
from tradestats.telemetry.metrics import render_metrics

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
# Plotly's browser bundle ships inside the `plotly` Python package: no CDN, no Node.
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
# The URL carries no version, so no `immutable`: a week, then revalidated by ETag (a plotly
# upgrade changes the ETag).
VENDOR_CACHE_CONTROL = "public, max-age=604800"

bp = Blueprint("pages", __name__)

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · tradestats</title>
<link rel="stylesheet" href="/static/css/login.css"></head>
<body><main class="login">
<h1>tradestats</h1>
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="token">Access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
{error}
<button type="submit">Sign in</button>
</form></main></body></html>
"""


@bp.get("/")
def index() -> Response:
    resp = send_from_directory(WEB_DIR, "index.html")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@lru_cache(maxsize=1)
def _plotly_bundle() -> tuple[bytes, bytes, str]:
    """(raw, gzipped, etag) of plotly.min.js, read once per process. The bundle is ~4.8 MB
    and compresses ~3.4x; nothing else in front of the app compresses it."""
    raw = PLOTLY_JS.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return raw, gzip.compress(raw, compresslevel=6, mtime=0), digest


def warm_plotly_bundle() -> None:
    """Read and compress the bundle now (the server calls this before forking workers),
    not on the first page load, where it delayed the first chart."""
    _plotly_bundle()


@bp.get("/static/vendor/plotly.min.js")
def plotly_js() -> Response:
    raw, packed, digest = _plotly_bundle()
    use_gzip = request.accept_encodings["gzip"] > 0
    etag = f"{digest}-gz" if use_gzip else digest
    resp = Response(mimetype="text/javascript")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = VENDOR_CACHE_CONTROL
    resp.headers["Vary"] = "Accept-Encoding"
    if request.if_none_match.contains(etag):
        resp.status_code = 304
        return resp
    resp.set_data(packed if use_gzip else raw)
    if use_gzip:
        resp.headers["Content-Encoding"] = "gzip"
    return resp


@bp.get("/login")
def login_form() -> Response:
    target = request.args.get("next", "/")
    return _login_page(target if is_safe_next(target) else "/", "", 200)


@bp.post("/login")
def login_submit() -> Response:
    token = services_of(current_app).settings.token
    target = request.form.get("next", "/")
    target = target if is_safe_next(target) else "/"
    presented = request.form.get("token", "")
    if token is None:
        return redirect(target, code=303)  # type: ignore[return-value]
    if not token_matches(token, presented):
        return _login_page(target, '<p class="error" role="alert">Wrong token.</p>', 401)
    resp = redirect(target, code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        new_session_cookie(token),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
        path="/",
    )
    return resp  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    resp = redirect("/login", code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict")
    return resp  # type: ignore[return-value]


@bp.get("/metrics")
def metrics() -> Response:
    sample_pool_gauges()  # this process's pools as of now; the others' as of <= 1 s ago
    body, content_type = render_metrics()
    resp = Response(body, content_type=content_type)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _login_page(target: str, error: str, status: int) -> Response:
    html = _LOGIN_PAGE.format(next=escape(target, quote=True), error=error)
    resp = Response(html, status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    return resp
