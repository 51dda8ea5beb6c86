"""Options / market / earnings endpoints end to end over the demo market (in process)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.market.service import market_day
from tradestats.resilience.clock import SYSTEM_CLOCK
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade


def make_app(data_dir: Path, **overrides: object) -> Flask:
    settings = Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir)}, overrides=overrides)
    engine = build_engine(settings)
    upgrade(engine)
    return create_app(settings, engine=engine)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    return make_app(tmp_path_factory.mktemp("data")).test_client()


def ok(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "application/json"
    body: dict[str, Any] = json.loads(resp.data)
    assert body["source"] == "demo"
    assert body["stale"] is False
    assert dt.datetime.fromisoformat(body["asOf"].replace("Z", "+00:00")).tzinfo is not None
    return body


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(resp.data)
    assert body["status"] == status and body["title"]
    return body


def test_analysis_verdict_fields_are_json_booleans(client: FlaskClient) -> None:
    body = ok(client.get("/api/options/AAPL/analysis"))
    assert body["ticker"] == "AAPL"
    for name in ("avg_volume_pass", "iv30_rv30_pass", "slope_pass"):
        assert isinstance(body[name], bool), name
    assert body["verdict"] in ("Recommended", "Consider", "Avoid")
    assert body["price"] > 0 and 0 < body["iv30"] < 5 and 0 < body["rv30"] < 5
    assert body["term_structure"] and all(p["dte"] >= 0 for p in body["term_structure"])
    assert set(body["thresholds"]) == {"min_avg_volume", "min_iv30_rv30", "max_slope"}
    assert "quoteTime" in body and "asof" not in body


def test_ticker_is_case_insensitive_and_dotted_symbols_work(client: FlaskClient) -> None:
    assert ok(client.get("/api/options/msft/analysis"))["ticker"] == "MSFT"
    body = problem(client.get("/api/options/BRK.A/analysis"), 404)  # demo: no options
    assert "options" in body["detail"]


@pytest.mark.parametrize("ticker", ["1ABC", "ABCDEFGHIJK", "A$B", "-A", "A_B"])
def test_invalid_ticker_is_400_naming_ticker(client: FlaskClient, ticker: str) -> None:
    for url in (
        f"/api/options/{ticker}/analysis",
        f"/api/options/{ticker}/chain",
        f"/api/options/{ticker}/calendar-spread",
        f"/api/market/{ticker}/history",
        f"/api/earnings/{ticker}/history",
    ):
        body = problem(client.get(url), 400)
        assert body["errors"] == [
            {"name": "ticker", "in": "path", "reason": body["errors"][0]["reason"]}
        ]


def test_unknown_ticker_is_404_everywhere(client: FlaskClient) -> None:
    for url in (
        "/api/options/NOSUCHX/analysis",
        "/api/options/NOSUCHX/chain",
        "/api/options/NOSUCHX/calendar-spread",
        "/api/market/NOSUCHX/history",
        "/api/earnings/NOSUCHX/history",
    ):
        body = problem(client.get(url), 404)
        assert "NOSUCHX" in body["detail"]


def test_chain_nearest_and_by_expiry(client: FlaskClient) -> None:
    body = ok(client.get("/api/options/AAPL/chain"))
    assert body["expiry"] == body["expirations"][0]
    assert body["calls"] and body["puts"]
    call = body["calls"][0]
    assert call["right"] == "call" and call["expiry"] == body["expiry"]
    assert isinstance(call["openInterest"], int)
    later = body["expirations"][2]
    assert ok(client.get(f"/api/options/AAPL/chain?expiry={later}"))["expiry"] == later


def test_chain_bad_expiry_is_400_naming_expiry(client: FlaskClient) -> None:
    body = problem(client.get("/api/options/AAPL/chain?expiry=2001-01-05"), 400)
    assert body["errors"][0]["name"] == "expiry"
    body = problem(client.get("/api/options/AAPL/chain?expiry=soon"), 400)
    assert body["errors"][0]["name"] == "expiry"
    body = problem(client.get("/api/options/AAPL/chain?strike=5"), 400)
    assert body["errors"][0]["name"] == "strike"


def test_calendar_spread_next_earnings_and_explicit(client: FlaskClient) -> None:
    body = ok(client.get("/api/options/AAPL/calendar-spread"))
    assert body["front"]["expiry"] < body["back"]["expiry"]
    assert body["front"]["strike"] == body["back"]["strike"] == body["strike"]
    assert body["earningsDate"] >= market_day(SYSTEM_CLOCK).isoformat()
    assert isinstance(body["earningsDateInferred"], bool)
    assert 0 <= body["liquidityScore"] <= 100

    day = (market_day(SYSTEM_CLOCK) + dt.timedelta(days=10)).isoformat()
    body = ok(client.get(f"/api/options/AAPL/calendar-spread?earnings_date={day}&timing=amc"))
    assert body["earningsDate"] == day and body["timing"] == "AMC"
    assert body["front"]["expiry"] > day
    body = ok(
        client.get(f"/api/options/AAPL/calendar-spread?earnings_date={day}&timing=BMO&right=put")
    )
    assert body["right"] == "put" and body["front"]["right"] == "put"


def test_calendar_spread_bad_query_and_impossible_spread(client: FlaskClient) -> None:
    body = problem(client.get("/api/options/AAPL/calendar-spread?timing=noon"), 400)
    assert body["errors"][0]["name"] == "timing"
    body = problem(client.get("/api/options/AAPL/calendar-spread?earnings_date=2030-99-01"), 400)
    assert body["errors"][0]["name"] == "earnings_date"
    far = (market_day(SYSTEM_CLOCK) + dt.timedelta(days=3000)).isoformat()
    problem(client.get(f"/api/options/AAPL/calendar-spread?earnings_date={far}"), 422)


def test_history_defaults_and_window(client: FlaskClient) -> None:
    body = ok(client.get("/api/market/AAPL/history"))
    today = market_day(SYSTEM_CLOCK)
    assert body["end"] == today.isoformat()
    assert 240 <= len(body["bars"]) <= 262
    dates = [b["date"] for b in body["bars"]]
    assert dates == sorted(dates)
    start, end = dates[10], dates[20]
    body = ok(client.get(f"/api/market/AAPL/history?start={start}&end={end}"))
    assert [b["date"] for b in body["bars"]] == dates[10:21]
    bar = body["bars"][0]
    assert bar["low"] <= min(bar["open"], bar["close"]) <= max(bar["open"], bar["close"])
    assert bar["high"] >= max(bar["open"], bar["close"])


def test_history_bad_range_is_400(client: FlaskClient) -> None:
    body = problem(client.get("/api/market/AAPL/history?start=2025-02-01&end=2025-01-01"), 400)
    assert body["errors"][0]["name"] == "start"
    body = problem(client.get("/api/market/AAPL/history?start=1980-01-01&end=2025-01-01"), 400)
    assert body["errors"][0]["name"] == "start"


def test_earnings_calendar(client: FlaskClient) -> None:
    # The demo market reports on every weekday; find one in the next week.
    day = market_day(SYSTEM_CLOCK)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    body = ok(client.get(f"/api/earnings/calendar?date={day}"))
    assert body["date"] == day.isoformat()
    assert body["count"] == len(body["events"]) > 0
    assert all(e["date"] == day.isoformat() for e in body["events"])
    assert {e["timing"] for e in body["events"]} <= {"BMO", "AMC", "unknown"}
    assert ok(client.get("/api/earnings/calendar"))["date"] == market_day(SYSTEM_CLOCK).isoformat()
    body = problem(client.get("/api/earnings/calendar?date=tomorrow"), 400)
    assert body["errors"][0]["name"] == "date"


def test_earnings_history(client: FlaskClient) -> None:
    body = ok(client.get("/api/earnings/AAPL/history"))
    assert body["ticker"] == "AAPL"
    measured = [m for m in body["moves"] if m["move"] is not None]
    assert len(measured) >= 3
    for m in measured:
        assert m["move"] == pytest.approx(m["afterClose"] / m["beforeClose"] - 1)
    assert body["summary"]["count"] == len(measured)
    assert body["upcoming"] and all(e["date"] > body["moves"][-1]["date"] for e in body["upcoming"])


def test_openapi_lists_market_endpoints(client: FlaskClient) -> None:
    doc = json.loads(client.get("/api/openapi.json").data)
    paths = doc["paths"]
    expected = {
        "/api/options/{ticker}/analysis": "AnalysisOut",
        "/api/options/{ticker}/calendar-spread": "CalendarSpreadOut",
        "/api/options/{ticker}/chain": "ChainOut",
        "/api/market/{ticker}/history": "HistoryOut",
        "/api/earnings/calendar": "CalendarOut",
        "/api/earnings/{ticker}/history": "EarningsHistoryOut",
    }
    for path, model in expected.items():
        op = paths[path]["get"]
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/" + model)
        assert "Retry-After" in op["responses"]["503"]["headers"]
        assert model in doc["components"]["schemas"]
    analysis = doc["components"]["schemas"]["AnalysisOut"]["properties"]
    assert analysis["slope_pass"]["type"] == "boolean"
    assert analysis["stale"]["type"] == "boolean"
    spread_params = {
        p["name"] for p in paths["/api/options/{ticker}/calendar-spread"]["get"]["parameters"]
    }
    assert {"ticker", "earnings_date", "timing"} <= spread_params


def test_ready_lists_no_breakers_for_demo(client: FlaskClient) -> None:
    body = json.loads(client.get("/api/ready").data)
    assert body["status"] == "pass"
    assert "upstream:circuitBreaker" not in body["checks"]


def test_yahoo_app_ready_lists_closed_breakers_without_network(data_dir: Path) -> None:
    # create_app opens no connection: the upstream URL points at nothing.
    app = make_app(
        data_dir,
        market_data="yahoo",
        yahoo_url="http://127.0.0.1:9",
        nasdaq_url="http://127.0.0.1:9",
    )
    body = json.loads(app.test_client().get("/api/ready").data)
    checks = body["checks"]["upstream:circuitBreaker"]
    assert {c["componentId"] for c in checks} == {"yahoo", "nasdaq"}
    assert all(c["status"] == "pass" and c["observedValue"] == "closed" for c in checks)


def test_analysis_thresholds_and_rv_variant_are_query_options(client) -> None:  # type: ignore[no-untyped-def]
    """The verdict thresholds and the Yang-Zhang variant are configurable per request;
    results differ accordingly and each combination is cached separately."""
    base = client.get("/api/options/AAPL/analysis").json
    textbook = client.get("/api/options/AAPL/analysis?rv_variant=textbook").json
    assert base["rv30"] != textbook["rv30"]
    lenient = client.get(
        "/api/options/AAPL/analysis?min_avg_volume=0&min_iv30_rv30=0.01&max_slope=10"
    ).json
    assert lenient["avg_volume_pass"] is True and lenient["iv30_rv30_pass"] is True
    assert lenient["slope_pass"] is True and lenient["verdict"] == "Recommended"
    bad = client.get("/api/options/AAPL/analysis?rv_variant=magic&min_iv30_rv30=-1")
    assert bad.status_code == 400
    assert {e["name"] for e in bad.json["errors"]} == {"rv_variant", "min_iv30_rv30"}
