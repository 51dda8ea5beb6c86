"""The test-only fault switch (api/faults.py): off by default and invisible; when on, it
fails, delays and counts requests exactly as told, shared across processes."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tradestats.api import faults
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "brokers"
    / "tastytrade"
    / "laroche_legacy_format.csv"
)


def make_app(data_dir: Path, **overrides: object) -> Flask:
    settings = Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir)}, overrides=overrides)
    engine = build_engine(settings)
    upgrade(engine)
    return create_app(settings, engine=engine)


@pytest.fixture
def client(data_dir: Path) -> FlaskClient:
    return make_app(data_dir, test_faults=True).test_client()


def set_rules(client: FlaskClient, **rules: Any) -> dict[str, Any]:
    resp = client.post("/api/_test/faults", json=rules)
    assert resp.status_code == 200, resp.data
    body: dict[str, Any] = resp.json
    return body


def counters(client: FlaskClient) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/_test/faults").json
    return body["counters"]


def upload(client: FlaskClient, key: str) -> Any:
    data = {"file": (io.BytesIO(SAMPLE.read_bytes()), SAMPLE.name), "account": "faults"}
    return client.post(
        "/api/imports",
        data=data,
        headers={"Idempotency-Key": key},
        content_type="multipart/form-data",
    )


def test_switch_is_off_by_default_and_the_route_does_not_exist(data_dir: Path) -> None:
    assert Settings.load(env={}).test_faults is False
    assert Settings.load(env={"TRADESTATS_TEST_FAULTS": "true"}).test_faults is True
    app = make_app(data_dir)
    client = app.test_client()
    for method in ("GET", "POST", "DELETE"):
        resp = client.open("/api/_test/faults", method=method, json={"error_rate": 1})
        assert resp.status_code == 404, method
    ready = client.get("/api/ready").json
    assert faults.READINESS_KEY not in ready["checks"]
    assert ready["status"] == "pass"
    assert "/api/_test/faults" not in client.get("/api/openapi.json").json["paths"]
    assert not (data_dir / "test-faults").exists()


def test_switch_on_warns_at_start_and_in_readiness(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tradestats.faults"):
        client = make_app(data_dir, test_faults=True).test_client()
    assert any("TEST FAULT INJECTION IS ENABLED" in r.getMessage() for r in caplog.records)
    ready = client.get("/api/ready")
    assert ready.status_code == 200
    body = ready.json
    assert body["status"] == "warn"
    check = body["checks"][faults.READINESS_KEY][0]
    assert check["status"] == "warn" and check["observedValue"] is False
    set_rules(client, error_rate=0.0, paths="^/api/info$")
    assert client.get("/api/ready").json["checks"][faults.READINESS_KEY][0]["observedValue"]
    paths = client.get("/api/openapi.json").json["paths"]
    assert set(paths["/api/_test/faults"]) == {"get", "post", "delete"}


def test_fault_before_the_handler_never_reaches_it(client: FlaskClient) -> None:
    state = set_rules(client, error_rate=1.0, status=503, paths="^/api/info$", retry_after=2)
    assert state["rules"]["error_rate"] == 1.0
    resp = client.get("/api/info")
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["Retry-After"] == "2"
    assert resp.headers["X-Test-Fault"] == "before"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"  # outer middleware still runs
    assert resp.json["status"] == 503 and "before" in resp.json["detail"]
    # A path outside the rules is untouched and counted as handled.
    assert client.get("/api/accounts").status_code == 200
    c = counters(client)
    assert c["injected"] == {"GET /api/info": {"before": 1}}
    assert "GET /api/info" not in c["handled"]
    assert c["handled"]["GET /api/accounts"] == {"200": 1}
    assert c["matched"] == 1
    # Liveness is answered outside the injector: never failed.
    set_rules(client, error_rate=1.0, paths="^/api/")
    assert client.get("/api/health").status_code == 200


def test_fault_after_the_handler_ran_and_idempotency_key_replays(client: FlaskClient) -> None:
    set_rules(client, after_rate=1.0, limit=1, methods=["post"], paths="^/api/imports$")
    first = upload(client, "upload-key-0001")
    assert first.status_code == 503
    assert first.headers["X-Test-Fault"] == "after"
    # The handler ran: the import exists although the client saw a 503.
    listed = client.get("/api/imports").json
    assert listed["total"] == 1
    retry = upload(client, "upload-key-0001")
    assert retry.status_code == 200
    assert retry.json["replayed"] is True
    assert retry.json["id"] == listed["items"][0]["id"]
    assert client.get("/api/imports").json["total"] == 1
    c = counters(client)
    assert c["handled"]["POST /api/imports"] == {"201": 1, "200": 1}
    assert c["injected"] == {"POST /api/imports": {"after": 1}}


def test_methods_limit_and_clear(client: FlaskClient) -> None:
    set_rules(client, error_rate=1.0, limit=2, methods=["GET"], paths="^/api/accounts$")
    statuses = [client.get("/api/accounts").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    # HEAD is not in the methods: untouched.
    assert client.head("/api/accounts").status_code == 200
    set_rules(client, error_rate=1.0, status=500, paths="^/api/accounts$")
    assert client.get("/api/accounts").status_code == 500
    cleared = client.delete("/api/_test/faults").json
    assert cleared["rules"] is None
    assert cleared["counters"]["injected"] == {"GET /api/accounts": {"before": 1}}
    assert client.get("/api/accounts").status_code == 200
    # Counters stay readable after DELETE and start again at the next POST.
    assert counters(client)["handled"]["GET /api/accounts"] == {"200": 1}
    assert set_rules(client)["counters"] == {"matched": 0, "handled": {}, "injected": {}}


def test_seeded_draws_are_reproducible(client: FlaskClient) -> None:
    def run() -> list[int]:
        set_rules(client, error_rate=0.5, seed=7, paths="^/api/accounts$")
        return [client.get("/api/accounts").status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    failed = first.count(503)
    assert 0 < failed < 40
    assert set(first) == {200, 503}
    assert counters(client)["injected"]["GET /api/accounts"]["before"] == failed
    # Another seed gives another sequence.
    set_rules(client, error_rate=0.5, seed=8, paths="^/api/accounts$")
    assert [client.get("/api/accounts").status_code for _ in range(40)] != first


def test_latency_is_added_to_matching_requests_only(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    set_rules(client, latency_ms=300, paths="^/api/info$")
    assert client.get("/api/info").status_code == 200
    assert client.get("/api/accounts").status_code == 200
    assert slept == [0.3]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"paths": "("}, "paths"),
        ({"error_rate": 1.5}, "error_rate"),
        ({"status": 200}, "status"),
        ({"methods": ["G E T"]}, "methods"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_rules_are_400_naming_the_field(
    client: FlaskClient, rules: dict[str, Any], field: str
) -> None:
    resp = client.post("/api/_test/faults", json=rules)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert field in {e["name"] for e in resp.json["errors"]}
    assert client.get("/api/_test/faults").json["rules"] is None


def test_rules_and_counters_are_shared_by_processes(tmp_path: Path) -> None:
    # Two stores on one directory stand for two gunicorn workers.
    one, two = faults.FaultStore(tmp_path), faults.FaultStore(tmp_path)
    seen: list[tuple[str, int]] = []

    def handler(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append((environ["PATH_INFO"], id(environ)))
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"ok"]

    a, b = faults.FaultInjector(handler, one), faults.FaultInjector(handler, two)
    one.start(faults.FaultRules(error_rate=1.0, limit=3, paths="^/x$"))

    def call(app: faults.FaultInjector, path: str) -> str:
        status: list[str] = []
        body = b"".join(
            app(
                {"PATH_INFO": path, "REQUEST_METHOD": "POST"}, lambda s, h, e=None: status.append(s)
            )
        )
        assert body
        return status[0].split()[0]

    assert [call(a, "/x"), call(b, "/x"), call(a, "/x"), call(b, "/x")] == [
        "503",
        "503",
        "503",
        "201",
    ]
    assert call(a, "/y") == "201"
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["counters"]["injected"] == {"POST /x": {"before": 3}}
    assert state["counters"]["handled"] == {"POST /x": {"201": 1}, "POST /y": {"201": 1}}
    assert len(seen) == 2
    two.clear()
    assert one.rules() is None
