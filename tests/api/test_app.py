"""In-process tests of the app factory: errors, limits, security headers, auth, OpenAPI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

TOKEN = "t" * 24


def make_app(data_dir: Path, **overrides: object) -> Flask:
    settings = Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir)}, overrides=overrides)
    engine = build_engine(settings)
    upgrade(engine)
    return create_app(settings, engine=engine)


@pytest.fixture
def client(data_dir: Path) -> FlaskClient:
    return make_app(data_dir).test_client()


def assert_problem(resp, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    body = json.loads(resp.data)
    assert body["status"] == status and body["title"]
    return body


def test_unknown_route_is_404_problem(client: FlaskClient) -> None:
    body = assert_problem(client.get("/api/nope"), 404)
    assert body["instance"] == "/api/nope"


def test_wrong_method_is_405_problem_with_allow(client: FlaskClient) -> None:
    resp = client.delete("/api/info")
    assert_problem(resp, 405)
    assert "GET" in resp.headers["Allow"]


def test_invalid_body_is_400_naming_fields(client: FlaskClient) -> None:
    resp = client.post("/api/client-errors", json={"message": "", "level": "fatal", "extra": 1})
    body = assert_problem(resp, 400)
    names = {e["name"] for e in body["errors"]}
    assert names == {"message", "level", "extra"}
    assert all(e["in"] == "body" and e["reason"] for e in body["errors"])


def test_non_json_body_is_415_and_bad_json_400(client: FlaskClient) -> None:
    assert_problem(client.post("/api/client-errors", data="x", content_type="text/plain"), 415)
    assert_problem(
        client.post("/api/client-errors", data="{bad", content_type="application/json"), 400
    )


def test_valid_body_accepted(client: FlaskClient) -> None:
    resp = client.post("/api/client-errors", json={"message": "chart failed", "requestId": "abc"})
    assert resp.status_code == 202
    assert resp.json == {"accepted": True}


def test_json_body_over_limit_is_413(data_dir: Path) -> None:
    client = make_app(data_dir, max_json_kb=1).test_client()
    resp = client.post("/api/client-errors", json={"message": "x" * 2000, "stack": "y" * 2000})
    body = assert_problem(resp, 413)
    assert "1024" in body["detail"]


def test_upload_over_limit_is_413(data_dir: Path) -> None:
    client = make_app(data_dir, max_upload_mb=1).test_client()
    payload = b"a" * (1024 * 1024 + 10)
    resp = client.post(
        "/api/client-errors",
        data=b"--b\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\n"
        + payload
        + b"\r\n--b--\r\n",
        content_type="multipart/form-data; boundary=b",
    )
    assert_problem(resp, 413)


def test_unexpected_exception_is_500_problem_without_trace(data_dir: Path) -> None:
    app = make_app(data_dir)

    @app.get("/api/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    resp = app.test_client().get("/api/boom")
    body = assert_problem(resp, 500)
    assert "secret internals" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)
    assert body["detail"]


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/api/health", "/api/info", "/api/nope", "/static/js/app.js"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_index_has_no_inline_script(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<script type="module" src="/static/js/app.js"></script>' in html
    assert "<script>" not in html


def test_request_id_echoed_or_generated(client: FlaskClient) -> None:
    resp = client.get("/api/info", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/api/info").headers["X-Request-ID"]
    assert len(generated) == 32
    # A hostile id (header injection, huge) is replaced, not echoed.
    assert client.get("/api/info", headers={"X-Request-ID": "a b"}).headers["X-Request-ID"] != "a b"


def test_no_cors_unless_configured(data_dir: Path) -> None:
    client = make_app(data_dir).test_client()
    resp = client.get("/api/info", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    allowed = make_app(data_dir, cors_origins=("https://ok.example",)).test_client()
    resp = allowed.get("/api/info", headers={"Origin": "https://ok.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    resp = allowed.get("/api/info", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = allowed.options(
        "/api/info",
        headers={"Origin": "https://ok.example", "Access-Control-Request-Method": "GET"},
    )
    assert pre.status_code == 204
    assert "Idempotency-Key" in pre.headers["Access-Control-Allow-Headers"]


def test_token_protects_everything_but_health(data_dir: Path) -> None:
    client = make_app(data_dir, token=TOKEN).test_client()
    assert client.get("/api/health").status_code == 200
    for path in ("/api/ready", "/api/info", "/metrics", "/api/openapi.json"):
        resp = client.get(path)
        assert_problem(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/info", headers=auth).status_code == 200
    assert client.get("/metrics", headers=auth).status_code == 200
    assert (
        client.get("/api/info", headers={"Authorization": "Bearer wrong-token-xxxxxxx"}).status_code
        == 401
    )
    page = client.get("/")
    assert page.status_code == 303 and page.headers["Location"].startswith("/login")


def test_login_sets_strict_httponly_cookie(data_dir: Path) -> None:
    client = make_app(data_dir, token=TOKEN).test_client()
    assert client.get("/login").status_code == 200
    bad = client.post("/login", data={"token": "nope", "next": "/"})
    assert bad.status_code == 401
    resp = client.post("/login", data={"token": TOKEN, "next": "//evil.example/x"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/").status_code == 200
    assert client.get("/api/info").status_code == 200
    client.post("/logout")
    assert client.get("/api/info").status_code == 401


@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_proto_trusted_only_behind_configured_proxies(
    data_dir: Path, proxies: int
) -> None:
    """Behind a TLS-terminating proxy (TRADESTATS_TRUSTED_PROXIES=1) the login cookie is
    Secure; without the setting a client's X-Forwarded-Proto is ignored."""
    client = make_app(data_dir, token=TOKEN, trusted_proxies=proxies).test_client()
    resp = client.post(
        "/login",
        data={"token": TOKEN, "next": "/"},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert resp.status_code == 303
    assert ("Secure" in resp.headers["Set-Cookie"]) is bool(proxies)


def test_openapi_lists_every_api_route(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    app = client.application
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        # OpenAPI names the parameter only: <int:import_id> -> {import_id}
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)
    body_schema = doc["paths"]["/api/client-errors"]["post"]["requestBody"]
    ref = body_schema["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ClientError")
    assert "message" in doc["components"]["schemas"]["ClientError"]["properties"]


def test_info_reports_instance(client: FlaskClient) -> None:
    body = client.get("/api/info").json
    assert body["database"] == "sqlite"
    assert body["marketData"] == "demo"
    assert body["auth"] is False
