"""GET /api/strategies and /api/stats/strategies on SQLite and PostgreSQL, from a real
thinkorswim statement (a SPY call vertical, a QQQ iron condor, AAPL stock, MES future)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from tradestats.app import create_app
from tradestats.config import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "brokers"
STATEMENT = FIXTURES / "thinkorswim" / "account_statement_spreads_written_for_tradestats.csv"


@pytest.fixture
def client(empty_journal: tuple[Settings, Engine]) -> FlaskClient:
    settings, engine = empty_journal
    client = create_app(settings, engine=engine).test_client()
    data: dict[str, Any] = {
        "file": (io.BytesIO(STATEMENT.read_bytes()), STATEMENT.name),
        "account": "tos",
    }
    resp = client.post("/api/imports", data=data, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    return client


def get(client: FlaskClient, url: str) -> Any:
    resp = client.get(url)
    assert resp.status_code == 200, resp.json
    return resp.json


def test_positions_with_their_legs_newest_exit_first(client: FlaskClient) -> None:
    page = get(client, "/api/strategies")
    assert (page["total"], page["limit"], page["offset"], page["window"]) == (4, 50, 0, 2.0)
    kinds = [p["strategy"] for p in page["items"]]
    # exits: condor 1/17, MES 1/8, AAPL 1/7, SPY vertical 1/3
    assert kinds == ["iron_condor", "outright", "long_stock", "call_debit_vertical"]
    condor = page["items"][0]
    assert (condor["account"], condor["underlying"], condor["direction"]) == ("tos", "QQQ", "short")
    assert (condor["grossPnl"], condor["fees"], condor["netPnl"]) == (120.0, 0.0, 120.0)
    assert condor["entryTime"] == "2025-01-06T15:05:00+00:00"
    assert condor["exitTime"] == "2025-01-17T22:00:00+00:00"
    assert [(leg["right"], leg["strike"], leg["direction"]) for leg in condor["legs"]] == [
        ("put", "525", "long"),
        ("put", "530", "short"),
        ("call", "540", "short"),
        ("call", "545", "long"),
    ]
    # every leg is a stored trade
    for leg in condor["legs"]:
        trade = get(client, f"/api/trades/{leg['tradeId']}")
        assert trade["symbol"] == leg["symbol"]
    vertical = page["items"][3]
    assert vertical["orderIds"] == ["1000001"]  # the opening order's REF #
    # (3.40 - 2.10) x 100 = 130; fees 0.02 + 1.30 + 0.04 + 1.30 = 2.66
    assert (vertical["grossPnl"], vertical["fees"], vertical["netPnl"]) == (130.0, 2.66, 127.34)
    assert [leg["orderId"] for leg in vertical["legs"]] == ["1000001", "1000001"]


def test_filters_sort_and_pages(client: FlaskClient) -> None:
    def kinds(query: str) -> list[str]:
        return [p["strategy"] for p in get(client, f"/api/strategies?{query}")["items"]]

    assert kinds("strategy=iron_condor") == ["iron_condor"]
    assert kinds("symbol=SPY") == ["call_debit_vertical"]  # the underlying
    assert kinds("symbol=QQQ%20%20%20250117P00525000") == ["iron_condor"]  # a leg's symbol
    assert kinds("side=short") == ["iron_condor"]  # sold for a credit
    assert kinds("asset_class=future") == ["outright"]
    assert kinds("start=2025-01-07&end=2025-01-08") == ["outright", "long_stock"]
    assert kinds("account=nobody") == []
    # net: condor 120.00, vertical 127.34, AAPL 49.95, MES 38.10
    assert kinds("sort=net_pnl&order=asc") == [
        "outright",
        "long_stock",
        "iron_condor",
        "call_debit_vertical",
    ]
    page = get(client, "/api/strategies?limit=1&offset=1")
    assert (page["total"], [p["strategy"] for p in page["items"]]) == (4, ["outright"])


def test_a_tag_on_one_leg_selects_the_whole_position(client: FlaskClient) -> None:
    vertical = get(client, "/api/strategies?strategy=call_debit_vertical")["items"][0]
    leg_id = vertical["legs"][1]["tradeId"]
    resp = client.patch(f"/api/trades/{leg_id}", json={"tags": ["earnings"]})
    assert resp.status_code == 200
    page = get(client, "/api/strategies?tag=earnings")
    assert page["total"] == 1
    assert len(page["items"][0]["legs"]) == 2


def test_stats_per_strategy_and_underlying(client: FlaskClient) -> None:
    body = get(client, "/api/stats/strategies")
    assert body["basis"] == "net"
    total = body["total"]
    # 127.34 + 120.00 + 49.95 + 38.10 = 335.39, all four are wins
    assert (total["count"], total["wins"], total["net_pnl"]) == (4, 4, 335.39)
    rows = {r["key"]: r for r in body["byStrategy"]}
    assert list(rows) == ["long_stock", "outright", "call_debit_vertical", "iron_condor"]
    assert rows["call_debit_vertical"]["net_pnl"] == 127.34
    assert rows["call_debit_vertical"]["gross_pnl"] == 130.0
    assert rows["iron_condor"]["win_rate"] == 1.0
    assert rows["iron_condor"]["profit_factor"] is None  # no loss
    underlyings = {r["key"]: r["net_pnl"] for r in body["byUnderlying"]}
    assert underlyings == {"AAPL": 49.95, "MES": 38.1, "QQQ": 120.0, "SPY": 127.34}
    options_only = get(client, "/api/stats/strategies?asset_class=option&basis=gross")
    assert options_only["basis"] == "gross"
    assert [r["key"] for r in options_only["byStrategy"]] == ["call_debit_vertical", "iron_condor"]
    assert options_only["total"]["expectancy"] == 125.0  # gross (130 + 120) / 2


def test_window_zero_still_groups_by_order_id(client: FlaskClient) -> None:
    page = get(client, "/api/strategies?window=0")
    assert page["window"] == 0.0
    assert sorted(p["strategy"] for p in page["items"]) == [
        "call_debit_vertical",
        "iron_condor",
        "long_stock",
        "outright",
    ]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/strategies?window=-1", "window"),
        ("/api/strategies?window=abc", "window"),
        ("/api/strategies?strategy=wheel", "strategy"),
        ("/api/strategies?limit=0", "limit"),
        ("/api/strategies?sort=symbol", "sort"),
        ("/api/strategies?bogus=1", "bogus"),
        ("/api/strategies?start=2025-02-01&end=2025-01-01", "start"),
        ("/api/stats/strategies?basis=cash", "basis"),
        ("/api/stats/strategies?tz=Mars/Base", "tz"),
    ],
)
def test_bad_parameters_are_400_problems_naming_the_field(
    client: FlaskClient, url: str, field: str
) -> None:
    resp = client.get(url)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert field in {e["name"] for e in body["errors"]}


def test_openapi_documents_both_operations(client: FlaskClient) -> None:
    paths = get(client, "/api/openapi.json")["paths"]
    assert "get" in paths["/api/strategies"]
    assert "get" in paths["/api/stats/strategies"]
    names = {p["name"] for p in paths["/api/strategies"]["get"]["parameters"]}
    assert {"strategy", "window", "symbol", "tag", "limit", "offset"} <= names


HEADER = (
    "datetime,symbol,side,quantity,price,fees,underlying,expiry,strike,right,order id,execution id"
)
# An iron condor (order IC1) whose 110 call is still open, and a straddle bought as two
# orders without ids a second apart (as in exports that carry no order id).
OPENING = [
    "2025-03-03T15:00:00Z,XYZ 250321P90,buy,1,0.50,0,XYZ,2025-03-21,90,put,IC1,e1",
    "2025-03-03T15:00:00Z,XYZ 250321P95,sell,1,1.20,0,XYZ,2025-03-21,95,put,IC1,e2",
    "2025-03-03T15:00:00Z,XYZ 250321C105,sell,1,1.10,0,XYZ,2025-03-21,105,call,IC1,e3",
    "2025-03-03T15:00:00Z,XYZ 250321C110,buy,1,0.40,0,XYZ,2025-03-21,110,call,IC1,e4",
    "2025-03-05T15:00:00Z,XYZ 250321P90,sell,1,0.10,0,XYZ,2025-03-21,90,put,C1,e5",
    "2025-03-05T15:00:00Z,XYZ 250321P95,buy,1,0.30,0,XYZ,2025-03-21,95,put,C1,e6",
    "2025-03-05T15:00:00Z,XYZ 250321C105,buy,1,0.25,0,XYZ,2025-03-21,105,call,C1,e7",
    "2025-03-10T15:10:00Z,ABC 250418C100,buy,1,3.00,1.00,ABC,2025-04-18,100,call,,e8",
    "2025-03-10T15:10:01Z,ABC 250418P100,buy,1,2.80,1.00,ABC,2025-04-18,100,put,,e9",
    "2025-03-11T16:00:00Z,ABC 250418C100,sell,1,4.50,1.00,ABC,2025-04-18,100,call,,e10",
    "2025-03-11T16:00:05Z,ABC 250418P100,sell,1,1.00,1.00,ABC,2025-04-18,100,put,,e11",
]
CLOSING = ["2025-03-06T15:00:00Z,XYZ 250321C110,sell,1,0.05,0,XYZ,2025-03-21,110,call,C2,e12"]


def upload_generic(client: FlaskClient, name: str, rows: list[str]) -> None:
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    data: dict[str, Any] = {
        "file": (io.BytesIO(content), name),
        "account": "gen",
        "broker": "generic",
    }
    resp = client.post("/api/imports", data=data, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    assert resp.json["rejected"] == 0, resp.json


def test_open_leg_hides_the_position_until_it_closes(client: FlaskClient) -> None:
    upload_generic(client, "open.csv", OPENING)
    assert get(client, "/api/trades?account=gen")["total"] == 5  # three condor legs closed
    page = get(client, "/api/strategies?account=gen")
    # The condor's closed legs are not mistaken for a smaller strategy: it is not listed.
    assert [p["strategy"] for p in page["items"]] == ["straddle"]
    straddle = page["items"][0]
    # call (4.50 - 3.00) x 100 = 150, put (1.00 - 2.80) x 100 = -180: gross -30; fees 4
    assert (straddle["grossPnl"], straddle["fees"], straddle["netPnl"]) == (-30.0, 4.0, -34.0)
    assert (straddle["direction"], straddle["orderIds"]) == ("long", [])
    assert straddle["exitTime"] == "2025-03-11T16:00:05+00:00"  # the last leg's exit
    apart = get(client, "/api/strategies?account=gen&window=0")
    assert sorted(p["strategy"] for p in apart["items"]) == ["long_call", "long_put"]
    assert get(client, "/api/stats/strategies?account=gen")["total"]["count"] == 1

    upload_generic(client, "close.csv", CLOSING)
    kinds = {p["strategy"]: p for p in get(client, "/api/strategies?account=gen")["items"]}
    assert sorted(kinds) == ["iron_condor", "straddle"]
    condor = kinds["iron_condor"]
    # 90P (0.10 - 0.50) x 100 = -40; 95P short (1.20 - 0.30) x 100 = 90; 105C short
    # (1.10 - 0.25) x 100 = 85; 110C (0.05 - 0.40) x 100 = -35: gross 100, sold for 1.40
    assert (condor["grossPnl"], condor["direction"], condor["orderIds"]) == (
        100.0,
        "short",
        ["IC1"],
    )
    assert len(condor["legs"]) == 4
    assert condor["exitTime"] == "2025-03-06T15:00:00+00:00"
