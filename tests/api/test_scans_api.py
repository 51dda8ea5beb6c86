"""The scans API in-process (Flask test client) on the DB store + thread runner."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tradestats.api import scans
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade


def next_weekday() -> dt.date:
    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


@pytest.fixture
def app(data_dir: Path) -> Flask:
    settings = Settings.load(
        env={
            "TRADESTATS_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'tradestats.db'}",
        }
    )
    engine = build_engine(settings)
    upgrade(engine)
    app = create_app(settings, engine=engine)
    if "scans" not in app.blueprints:
        app.register_blueprint(scans.register(app.extensions["tradestats"].spec))
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def wait_done(client: FlaskClient, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/scans/{job_id}").get_json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.05)
    raise AssertionError("scan did not finish")


def parse_sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if "id" in fields:
            events.append(fields)
    return events


def test_post_runs_a_scan_and_get_reports_it(client: FlaskClient) -> None:
    resp = client.post("/api/scans", json={"date": next_weekday().isoformat()})
    assert resp.status_code == 202
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/scans/{body['id']}"
    assert body["status"] in ("queued", "running", "done")
    assert body["filters"]["min_price"] == 2.5 and body["filters"]["min_avg_volume"] == 1.5e6
    done = wait_done(client, body["id"])
    assert done["status"] == "done" and done["error"] is None
    p = done["progress"]
    assert p["total"] == p["done"] == len(done["results"]) + len(done["skipped"])
    for r in done["results"]:
        assert r["analysis"]["verdict"] in ("Recommended", "Consider", "Avoid")
    for s in done["skipped"]:
        assert s["outcome"] in ("filtered", "no_data", "error") and s["reason"]


def test_events_replay_and_resume(client: FlaskClient) -> None:
    job = client.post(
        "/api/scans", json={"date": next_weekday().isoformat(), "filters": {"min_price": 0}}
    ).get_json()["id"]
    wait_done(client, job)
    resp = client.get(f"/api/scans/{job}/events")
    assert resp.status_code == 200
    assert resp.mimetype == "text/event-stream"
    assert resp.headers["Cache-Control"] == "no-cache"
    events = parse_sse(resp.get_data(as_text=True))
    ids = [int(e["id"]) for e in events]
    assert ids == list(range(1, len(ids) + 1))
    assert events[-1]["event"] == "done"
    assert {e["event"] for e in events} <= {"progress", "result", "done"}
    resumed = parse_sse(
        client.get(f"/api/scans/{job}/events", headers={"Last-Event-ID": "2"}).get_data(
            as_text=True
        )
    )
    assert [int(e["id"]) for e in resumed] == ids[2:]
    by_query = parse_sse(
        client.get(f"/api/scans/{job}/events?last_event_id=1").get_data(as_text=True)
    )
    assert [int(e["id"]) for e in by_query] == ids[1:]


def test_idempotent_post(client: FlaskClient) -> None:
    headers = {"Idempotency-Key": "scan-retry-0001"}
    payload = {"date": next_weekday().isoformat(), "filters": {"limit": 2}}
    first = client.post("/api/scans", json=payload, headers=headers)
    second = client.post("/api/scans", json=payload, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = client.post("/api/scans", json={**payload, "filters": {"limit": 3}}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["errors"][0]["name"] == "Idempotency-Key"
    bad = client.post("/api/scans", json=payload, headers={"Idempotency-Key": "no"})
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["name"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"date": "2025-13-01"}, "date"),
        ({"date": "1999-01-01"}, "date"),
        ({"filters": {"min_price": -1}}, "filters.min_price"),
        ({"filters": {"min_avg_volume": "lots"}}, "filters.min_avg_volume"),
        ({"filters": {"limit": 0}}, "filters.limit"),
        ({"filters": {"tickers": ["AAPL", "bad ticker!"]}}, "filters.tickers"),
        ({"filters": {"colour": "red"}}, "filters.colour"),
        ({"when": "today"}, "when"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: FlaskClient, payload: dict[str, Any], field: str
) -> None:
    resp = client.post("/api/scans", json=payload)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert field in [e["name"] for e in resp.get_json()["errors"]]


def test_unknown_ids_are_404(client: FlaskClient) -> None:
    for path in ("/api/scans/" + "0" * 32, "/api/scans/nope", "/api/scans/" + "0" * 32 + "/events"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert client.delete("/api/scans/" + "0" * 32).status_code == 404


def test_bad_last_event_id_is_a_400(client: FlaskClient) -> None:
    job = client.post("/api/scans", json={"filters": {"limit": 1}}).get_json()["id"]
    resp = client.get(f"/api/scans/{job}/events", headers={"Last-Event-ID": "abc"})
    assert resp.status_code == 400 and resp.get_json()["errors"][0]["name"] == "Last-Event-ID"
    resp = client.get(f"/api/scans/{job}/events?last_event_id=-3")
    assert resp.status_code == 400 and resp.get_json()["errors"][0]["name"] == "last_event_id"


def test_cancel(client: FlaskClient, app: Flask) -> None:
    svc = scans.scans_of(app)
    # Cancel while queued: the store says cancelled at once and the runner skips it.
    job_id, _ = svc.store.create("f" * 32, {"date": next_weekday().isoformat(), "filters": {}})
    resp = client.delete(f"/api/scans/{job_id}")
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    events = parse_sse(client.get(f"/api/scans/{job_id}/events").get_data(as_text=True))
    assert [e["event"] for e in events] == ["cancelled"]
    # Cancel a finished scan: nothing changes.
    job = client.post("/api/scans", json={"filters": {"limit": 1}}).get_json()["id"]
    wait_done(client, job)
    resp = client.delete(f"/api/scans/{job}")
    assert resp.status_code == 200 and resp.get_json()["status"] == "done"


def test_openapi_documents_scans(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    assert "/api/scans" in doc["paths"] and "/api/scans/{job_id}/events" in doc["paths"]
    events = doc["paths"]["/api/scans/{job_id}/events"]["get"]
    assert "text/event-stream" in events["responses"]["200"]["content"]
