"""Security defaults: token auth (bearer or login cookie), security headers, CORS, limits.

With `TRADESTATS_TOKEN` set, every route except ``/api/health`` and the login page needs
``Authorization: Bearer <token>`` or the session cookie the login page sets (HttpOnly,
SameSite=Strict, signed with a key derived from the token, so rotating the token logs
every browser out). Without a token the server only binds loopback (see config).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import cast

from flask import Request, Response, redirect, request
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from tradestats.api.problems import problem_response
from tradestats.config import Settings

SESSION_COOKIE = "tradestats_session"
SESSION_MAX_AGE = 7 * 24 * 3600
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = frozenset({"/api/health", "/login", "/static/css/login.css"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def session_signer(token: str) -> TimestampSigner:
    key = hashlib.sha256(b"tradestats-session-v1:" + token.encode()).digest()
    return TimestampSigner(key, salt="tradestats-session")


def token_matches(token: str, presented: str) -> bool:
    return hmac.compare_digest(token.encode(), presented.encode())


def is_authenticated(req: Request, token: str) -> bool:
    header = req.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and token_matches(token, header[7:].strip()):
        return True
    cookie = req.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            session_signer(token).unsign(cookie, max_age=SESSION_MAX_AGE)
            return True
        except (BadSignature, SignatureExpired):
            return False
    return False


def new_session_cookie(token: str) -> str:
    return session_signer(token).sign(b"browser").decode()


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


def check_auth(settings: Settings) -> Response | None:
    """None when the request may proceed; else the 401 (API) or login redirect (pages)."""
    if settings.token is None or request.path in OPEN_PATHS or request.method == "OPTIONS":
        return None
    if is_authenticated(request, settings.token):
        return None
    if is_api_path(request.path) or request.method != "GET":
        return problem_response(
            401,
            "Unauthorized",
            "Send 'Authorization: Bearer <token>' or sign in at /login.",
            headers={"WWW-Authenticate": 'Bearer realm="tradestats"'},
        )
    return cast(Response, redirect(f"/login?next={request.full_path.rstrip('?')}", code=303))


def check_body_limits(settings: Settings) -> Response | None:
    """413 before reading a body over the limit: uploads vs. everything else (JSON)."""
    if request.method in _BODYLESS_METHODS:
        return None
    is_upload = (request.mimetype or "").startswith("multipart/")
    limit = settings.max_upload_bytes if is_upload else settings.max_json_bytes
    request.max_content_length = limit
    length = request.content_length
    if length is not None and length > limit:
        kind = "upload" if is_upload else "request body"
        return problem_response(
            413,
            "Content Too Large",
            f"The {kind} is {length} bytes; the limit is {limit} bytes.",
        )
    return None


def cors_preflight(settings: Settings) -> Response | None:
    if request.method != "OPTIONS":  # first: spares building the headers per request
        return None
    origin = request.headers.get("Origin")
    if not origin or origin not in settings.cors_origins:
        return None
    resp = Response(status=204)
    resp.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, PUT, PATCH, DELETE"
    resp.headers["Access-Control-Allow-Headers"] = (
        "Authorization, Content-Type, Idempotency-Key, X-Request-ID, Last-Event-ID"
    )
    resp.headers["Access-Control-Max-Age"] = "600"
    return resp


def is_safe_next(target: str | None) -> bool:
    """Only same-site relative paths may be redirect targets after login."""
    if not target:
        return False
    return target.startswith("/") and not target.startswith("//") and "\\" not in target
