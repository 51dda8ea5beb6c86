"""Regressions found by the chaos suite's schemathesis run (tests/chaos): integers beyond
64 bits reached the database driver (500 "Python int too large to convert to SQLite
INTEGER"), and two response models shared one OpenAPI component name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pydantic import BaseModel

from tradestats.api.openapi import MAX_PATH_INT, ApiSpec, _add_model
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

HUGE = str(2**90)
EVENTS = "/api/scans/0123456789abcdef0123456789abcdef/events"


@pytest.fixture
def client(data_dir: Path) -> FlaskClient:
    settings = Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir)})
    engine = build_engine(settings)
    upgrade(engine)
    return create_app(settings, engine=engine).test_client()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"/api/imports/{HUGE}", 404),
        ("DELETE", f"/api/imports/{HUGE}", 404),
        ("GET", f"/api/imports/{MAX_PATH_INT}", 404),
        ("GET", f"/api/imports?offset={HUGE}", 400),
        ("GET", f"/api/executions?import_id={HUGE}", 400),
        ("GET", f"{EVENTS}?last_event_id={HUGE}", 400),
        ("GET", f"{EVENTS}?last_event_id=10140277380", 400),
        ("GET", "/api/imports/2147483648", 404),
        ("GET", "/api/executions?import_id=2147483648", 400),
    ],
)
def test_huge_integers_are_client_errors(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    resp = client.open(path, method=method)
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/problem+json"


def test_int_path_parameters_document_their_range(client: FlaskClient) -> None:
    doc = json.loads(client.get("/api/openapi.json").data)
    params = doc["paths"]["/api/imports/{import_id}"]["get"]["parameters"]
    schema = next(p["schema"] for p in params if p["name"] == "import_id")
    assert schema == {"type": "integer", "minimum": 0, "maximum": MAX_PATH_INT}


def test_calendar_spread_legs_are_documented_as_option_quotes(client: FlaskClient) -> None:
    doc = json.loads(client.get("/api/openapi.json").data)
    ref = doc["paths"]["/api/options/{ticker}/calendar-spread"]["get"]["responses"]["200"]
    name = ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    front = doc["components"]["schemas"][name]["properties"]["front"]["$ref"].rsplit("/", 1)[-1]
    assert "liquidityScore" in doc["components"]["schemas"][front]["properties"]
    assert "tradeId" not in doc["components"]["schemas"][front]["properties"]


def test_scan_events_schema_describes_one_event(client: FlaskClient) -> None:
    doc = json.loads(client.get("/api/openapi.json").data)
    op = doc["paths"]["/api/scans/{job_id}/events"]["get"]
    schema = op["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert schema["type"] == "object"
    assert set(schema["properties"]["event"]["enum"]) >= {"progress", "result", "done"}


def test_two_models_with_one_name_fail_loudly() -> None:
    class Leg(BaseModel):
        a: int

    first = Leg

    class Leg(BaseModel):  # type: ignore[no-redef]
        b: str

    components: dict[str, object] = {}
    _add_model(first, components)
    with pytest.raises(ValueError, match="Leg"):
        _add_model(Leg, components)
    assert isinstance(ApiSpec().document(auth=False), dict)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "name"),
    [
        ("GET", "/api/trades?symbol=a%00b", {}, 400, "symbol"),
        ("GET", "/api/stats?account=%00", {}, 400, "account"),
        ("GET", "/api/trades/a%00b", {}, 404, None),
        ("PATCH", "/api/trades/t1", {"json": {"notes": "a\x00b"}}, 400, "notes"),
        ("PUT", "/api/settings", {"json": {"timezone": "UTC\x00"}}, 400, "timezone"),
    ],
)
def test_nul_characters_are_client_errors(
    client: FlaskClient,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
    name: str | None,
) -> None:
    # PostgreSQL cannot store or compare text with NUL: before the fix these were 500s.
    resp = client.open(path, method=method, **kwargs)  # type: ignore[arg-type]
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/problem+json"
    if name:
        assert json.loads(resp.data)["errors"][0]["name"] == name


@pytest.mark.parametrize(
    ("form", "filename"),
    [({"account": "a\x00b"}, "ok.csv"), ({}, "a\x00b.csv")],
)
def test_nul_in_import_form_fields_is_a_400(
    client: FlaskClient, form: dict[str, str], filename: str
) -> None:
    import io

    data = {"file": (io.BytesIO(b"datetime,symbol,side,quantity,price\n"), filename), **form}
    resp = client.post("/api/imports", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400, resp.data
    assert resp.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/api/trades?start=0",
        "/api/stats?end=1700000000",
        "/api/trades.csv?start=2024-1-5",
        "/api/earnings/calendar?date=0",
    ],
)
def test_dates_are_iso_days_never_timestamps(client: FlaskClient, path: str) -> None:
    # pydantic's lax mode read start=0 as 1970-01-01: a guess, which imports never make.
    resp = client.get(path)
    assert resp.status_code == 400, resp.data
    assert json.loads(resp.data)["errors"][0]["reason"] == "a date as YYYY-MM-DD"


def test_iso_dates_still_work(client: FlaskClient) -> None:
    assert client.get("/api/trades?start=2024-01-05&end=2024-02-01").status_code == 200


def test_ticker_path_parameters_document_their_pattern(client: FlaskClient) -> None:
    import re

    doc = json.loads(client.get("/api/openapi.json").data)
    for path in ("/api/options/{ticker}/analysis", "/api/market/{ticker}/history"):
        param = next(p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == "ticker")
        pattern = re.compile(param["schema"]["pattern"])
        assert pattern.match("aapl") and pattern.match("BRK.B")
        assert not pattern.match("0") and not pattern.match("A" * 11)
    assert client.get("/api/options/aapl/analysis").status_code == 200


def test_time_zone_filters_document_the_known_zones(client: FlaskClient) -> None:
    doc = json.loads(client.get("/api/openapi.json").data)
    zones = doc["components"]["schemas"]["TimeZone"]["enum"]
    assert "America/New_York" in zones and "UTC" in zones
    param = next(p for p in doc["paths"]["/api/stats"]["get"]["parameters"] if p["name"] == "tz")
    assert param["schema"]["$ref"] == "#/components/schemas/TimeZone"
    assert client.get("/api/stats?tz=Asia/Tokyo").status_code == 200
    assert client.get("/api/stats?tz=Mars/Olympus").status_code == 400


def test_links_name_real_operations_and_their_parameters(client: FlaskClient) -> None:
    doc = json.loads(client.get("/api/openapi.json").data)
    params_of = {
        op["operationId"]: {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        for ops in doc["paths"].values()
        for op in ops.values()
    }
    links = [
        link
        for ops in doc["paths"].values()
        for op in ops.values()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 9
    for link in links:
        assert link["operationId"] in params_of, link
        assert set(link["parameters"]) == params_of[link["operationId"]], link
        assert all(v.startswith("$response.body#/") for v in link["parameters"].values())
    created = doc["paths"]["/api/imports"]["post"]["responses"]["201"]["links"]
    assert created["GetImport"]["parameters"] == {"import_id": "$response.body#/id"}
