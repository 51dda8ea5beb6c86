"""`/api/settings`: defaults, saving, validation (400 naming the field, nothing written),
persistence across app instances, the per-process cache, and the saved screener
thresholds reaching the analysis endpoint and scans. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tradestats.api.settings import SETTINGS_KEY, SettingsCache, UserSettingsModel
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.jobs.scan import ScanFilters
from tradestats.options.verdict import Thresholds
from tradestats.store import kv
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

DEFAULT_THRESHOLDS = {"min_avg_volume": 1_500_000.0, "min_iv30_rv30": 1.25, "max_slope": -0.00406}
SAVED = {
    "timezone": "America/New_York",
    "capital": 25_000,
    "thresholds": {"min_avg_volume": 250_000, "min_iv30_rv30": 1.1, "max_slope": -0.001},
}
# Every check passes for any ticker with data: the verdict is Recommended.
LENIENT = {"min_avg_volume": 0, "min_iv30_rv30": 0.001, "max_slope": 0.1}


def make_app(settings: Settings, engine: Engine) -> Flask:
    return create_app(settings, engine=engine)


@pytest.fixture
def engine_and_settings(database_url: str, data_dir: Path) -> tuple[Engine, Settings]:
    settings = Settings.load(
        env={"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    )
    engine = build_engine(settings)
    upgrade(engine)
    with engine.begin() as conn:  # the PostgreSQL database is shared by the session
        conn.execute(text("DELETE FROM app_settings WHERE key = :k"), {"k": SETTINGS_KEY})
    return engine, settings


@pytest.fixture
def client(engine_and_settings: tuple[Engine, Settings]) -> FlaskClient:
    engine, settings = engine_and_settings
    return make_app(settings, engine).test_client()


def problem(resp: Any, status: int = 400) -> dict[str, Any]:
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(resp.data)
    assert body["status"] == status
    return body


def test_defaults_before_anything_is_saved(client: FlaskClient) -> None:
    resp = client.get("/api/settings")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    assert body["timezone"] is None  # the browser's zone
    assert body["capital"] == 10_000
    assert body["thresholds"] == DEFAULT_THRESHOLDS
    assert body["marketData"] == "demo" and body["marketFallback"] == "none"
    assert body["defaults"] == {
        "timezone": None,
        "capital": 10_000,
        "thresholds": DEFAULT_THRESHOLDS,
    }
    assert body["updatedAt"] is None


def test_put_saves_and_a_new_app_on_the_same_database_reads_it(
    client: FlaskClient, engine_and_settings: tuple[Engine, Settings]
) -> None:
    resp = client.put("/api/settings", json=SAVED)
    assert resp.status_code == 200, resp.data
    body = resp.get_json()
    assert body["timezone"] == "America/New_York"
    assert body["capital"] == 25_000
    assert body["thresholds"] == {
        "min_avg_volume": 250_000,
        "min_iv30_rv30": 1.1,
        "max_slope": -0.001,
    }
    assert dt.datetime.fromisoformat(body["updatedAt"]).tzinfo is not None
    assert client.get("/api/settings").get_json() == body

    engine, settings = engine_and_settings
    other = make_app(settings, engine).test_client()  # another process: nothing cached
    assert other.get("/api/settings").get_json() == body


def test_put_replaces_the_document_omitted_fields_take_defaults(client: FlaskClient) -> None:
    assert client.put("/api/settings", json=SAVED).status_code == 200
    body = client.put("/api/settings", json={"capital": 5000}).get_json()
    assert body["capital"] == 5000
    assert body["timezone"] is None
    assert body["thresholds"] == DEFAULT_THRESHOLDS
    # An empty zone means "the browser's zone" too.
    assert client.put("/api/settings", json={"timezone": " "}).get_json()["timezone"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"capital": 0}, "capital"),
        ({"capital": -100}, "capital"),
        ({"capital": "lots"}, "capital"),
        ({"capital": False}, "capital"),  # JSON booleans are not numbers
        ({"capital": "25000"}, "capital"),  # nor are numeric strings
        ({"thresholds": {"min_avg_volume": True}}, "thresholds.min_avg_volume"),
        ({"capital": 1e13}, "capital"),
        ({"thresholds": {"min_avg_volume": -1}}, "thresholds.min_avg_volume"),
        ({"thresholds": {"min_iv30_rv30": 0}}, "thresholds.min_iv30_rv30"),
        ({"thresholds": {"min_iv30_rv30": 50}}, "thresholds.min_iv30_rv30"),
        ({"thresholds": {"max_slope": 0.5}}, "thresholds.max_slope"),
        ({"thresholds": {"max_slope": -1}}, "thresholds.max_slope"),
        ({"thresholds": {"colour": 1}}, "thresholds.colour"),
        ({"marketData": "yahoo"}, "marketData"),  # read-only: server configuration
    ],
)
def test_bad_values_are_400_naming_the_field_and_nothing_is_written(
    client: FlaskClient, payload: dict[str, Any], field: str
) -> None:
    assert client.put("/api/settings", json=SAVED).status_code == 200
    before = client.get("/api/settings").get_json()
    body = problem(client.put("/api/settings", json={**SAVED, **payload}))
    assert [e["name"] for e in body["errors"]] == [field]
    assert body["errors"][0]["in"] == "body"
    assert field in body["detail"]
    assert client.get("/api/settings").get_json() == before


def test_non_json_bodies_are_refused(client: FlaskClient) -> None:
    problem(client.put("/api/settings", data="capital=5", content_type="text/plain"), 415)
    body = problem(client.put("/api/settings", data="{", content_type="application/json"))
    assert body["errors"][0]["name"] == "body"
    assert client.get("/api/settings").get_json()["updatedAt"] is None


def test_a_stored_value_that_no_longer_validates_falls_back_field_by_field(
    client: FlaskClient, engine_and_settings: tuple[Engine, Settings]
) -> None:
    engine, _ = engine_and_settings
    stored = {**SAVED, "timezone": "Gone/Zone", "updatedAt": "2026-01-02T03:04:05+00:00"}
    kv.set_value(engine, SETTINGS_KEY, json.dumps(stored))
    body = client.get("/api/settings").get_json()
    assert body["timezone"] is None
    assert body["capital"] == 25_000
    assert body["thresholds"]["min_avg_volume"] == 250_000
    assert body["updatedAt"] == "2026-01-02T03:04:05+00:00"


def test_cache_other_processes_see_a_change_after_the_ttl(
    engine_and_settings: tuple[Engine, Settings],
) -> None:
    engine, _ = engine_and_settings
    now = [100.0]
    writer = SettingsCache(engine, ttl=2.0, clock=lambda: now[0])
    reader = SettingsCache(engine, ttl=2.0, clock=lambda: now[0])
    assert reader.get().settings.capital == 10_000
    writer.put(UserSettingsModel(capital=42))
    assert writer.get().settings.capital == 42  # the writing process: at once
    assert reader.get().settings.capital == 10_000  # cached: no database read
    now[0] += 2.0
    assert reader.get().settings.capital == 42


def test_get_reads_through_so_a_page_load_sees_a_save_made_by_another_process(
    client: FlaskClient, engine_and_settings: tuple[Engine, Settings]
) -> None:
    engine, settings = engine_and_settings
    assert client.get("/api/settings").get_json()["capital"] == 10_000  # now cached here
    other = make_app(settings, engine).test_client()  # another gunicorn worker
    assert other.put("/api/settings", json={"capital": 777}).status_code == 200
    assert client.get("/api/settings").get_json()["capital"] == 777


def test_analysis_uses_the_saved_thresholds_unless_the_query_names_them(
    client: FlaskClient,
) -> None:
    default = client.get("/api/options/AAPL/analysis").get_json()
    assert default["thresholds"] == DEFAULT_THRESHOLDS

    assert client.put("/api/settings", json={"thresholds": LENIENT}).status_code == 200
    lenient = client.get("/api/options/AAPL/analysis").get_json()
    assert lenient["thresholds"] == {
        "min_avg_volume": 0,
        "min_iv30_rv30": 0.001,
        "max_slope": 0.1,
    }
    assert lenient["verdict"] == "Recommended"
    assert lenient["slope_pass"] and lenient["iv30_rv30_pass"] and lenient["avg_volume_pass"]

    # A threshold named in the query wins over the saved one; the others stay saved.
    strict = client.get("/api/options/AAPL/analysis?max_slope=-10").get_json()
    assert strict["thresholds"]["max_slope"] == -10
    assert strict["thresholds"]["min_iv30_rv30"] == 0.001
    assert strict["slope_pass"] is False and strict["verdict"] == "Avoid"

    # Back to the defaults: the verdict is the reference calculator's again.
    assert client.put("/api/settings", json={}).status_code == 200
    again = client.get("/api/options/AAPL/analysis").get_json()
    assert again["thresholds"] == DEFAULT_THRESHOLDS
    assert again["verdict"] == default["verdict"]


def wait_done(client: FlaskClient, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/scans/{job_id}").get_json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.05)
    raise AssertionError("scan did not finish")


def test_scans_record_and_use_the_saved_thresholds(client: FlaskClient) -> None:
    saved = {**LENIENT, "min_avg_volume": 1000}
    assert client.put("/api/settings", json={"thresholds": saved}).status_code == 200
    resp = client.post("/api/scans", json={"filters": {"min_price": 0, "limit": 3}})
    assert resp.status_code == 202, resp.data
    job = resp.get_json()
    assert job["filters"]["thresholds"] == saved
    assert job["filters"]["min_avg_volume"] == 1000  # the pre-filter follows the threshold
    done = wait_done(client, job["id"])
    assert done["status"] == "done"
    results = [o["analysis"] for o in done["results"] if o["analysis"]]
    assert results, done
    assert all(a["thresholds"] == saved for a in results)
    assert all(a["verdict"] == "Recommended" for a in results)

    # An explicit pre-filter volume is kept as given.
    explicit = client.post("/api/scans", json={"filters": {"min_avg_volume": 5, "limit": 1}})
    assert explicit.get_json()["filters"]["min_avg_volume"] == 5


def test_scan_filters_round_trip_with_and_without_thresholds() -> None:
    plain = ScanFilters(min_price=1, limit=2)
    assert plain.to_dict()["thresholds"] is None
    assert ScanFilters.from_dict(plain.to_dict()) == plain
    assert ScanFilters.from_dict({}) == ScanFilters()
    with_limits = ScanFilters(thresholds=Thresholds(10.0, 1.5, -0.01))
    assert ScanFilters.from_dict(json.loads(json.dumps(with_limits.to_dict()))) == with_limits


def test_openapi_documents_both_operations(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    ops = doc["paths"]["/api/settings"]
    assert set(ops) == {"get", "put"}
    schema = doc["components"]["schemas"]["UserSettingsModel"]
    assert set(schema["properties"]) == {"timezone", "capital", "thresholds"}
