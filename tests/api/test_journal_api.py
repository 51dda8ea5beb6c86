"""Journal endpoints end to end in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tradestats.app import create_app
from tradestats.config import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "brokers"
TASTY = (
    FIXTURES / "tastytrade" / "tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv"
)


@pytest.fixture
def client(empty_journal: tuple[Settings, Engine]) -> FlaskClient:
    settings, engine = empty_journal
    return create_app(settings, engine=engine).test_client()


def upload(client: FlaskClient, path: Path, key: str | None = None, **form: str) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    data: dict[str, Any] = {"file": (io.BytesIO(path.read_bytes()), path.name), **form}
    return client.post(
        "/api/imports", data=data, headers=headers, content_type="multipart/form-data"
    )


def count(client: FlaskClient, table: str) -> int:
    engine = client.application.extensions["tradestats"].engine
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_import_then_reimport_adds_no_duplicates(client: FlaskClient) -> None:
    first = upload(client, TASTY)
    assert first.status_code == 201
    body = first.json
    assert body["broker"] == "tastytrade"
    assert (body["rows_read"], body["imported"], body["duplicates"]) == (1082, 856, 0)
    assert body["skipped"]["dividend"] == 22
    trades = client.get("/api/trades").json["total"]
    again = upload(client, TASTY)
    assert again.status_code == 201
    assert (again.json["imported"], again.json["duplicates"]) == (0, 856)
    assert count(client, "executions") == 856
    assert client.get("/api/trades").json["total"] == trades


def test_idempotency_key_replays_the_first_import(client: FlaskClient) -> None:
    first = upload(client, TASTY, key="retry-key-123")
    replay = upload(client, TASTY, key="retry-key-123")
    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json["id"] == first.json["id"]
    assert replay.json["imported"] == 856
    assert count(client, "imports") == 1


def test_strict_import_with_rejections_stores_nothing(client: FlaskClient, tmp_path: Path) -> None:
    bad = tmp_path / "fills.csv"
    bad.write_text(
        "date,symbol,side,quantity,price\n"
        "2024-01-02 10:00,AAPL,buy,10,100\n"
        "not a date,AAPL,sell,10,101\n"
        "2024-01-02 11:00,AAPL,sideways,10,101\n"
        "2024-01-02 12:00,AAPL,sell,ten,101\n"
    )
    resp = upload(client, bad, strict="true")
    assert resp.status_code == 201
    assert resp.json["status"] == "rejected"
    rejected = {(r["row"], r["column"]) for r in resp.json["rejections"]}
    assert rejected == {(3, "date"), (4, "side"), (5, "quantity")}
    assert count(client, "executions") == 0 and count(client, "imports") == 0
    # Without strict, the good row is stored and the bad ones are reported.
    lenient = upload(client, bad)
    assert lenient.json["status"] == "imported"
    assert lenient.json["imported"] == 1 and lenient.json["rejected"] == 3
    assert count(client, "executions") == 1


@pytest.mark.parametrize(
    ("content", "name", "detail"),
    [
        (b"", "empty.csv", "empty"),
        (b"\x00\x01\x02\xff" * 50, "junk.csv", "binary"),
        (b"foo,bar\n1,2\n", "other.csv", "unrecognised"),
        (b"PK\x03\x04not really a zip", "book.xlsx", ""),
    ],
)
def test_unusable_files_are_422_and_store_nothing(
    client: FlaskClient, tmp_path: Path, content: bytes, name: str, detail: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    resp = upload(client, path)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert detail in resp.json["detail"]
    assert count(client, "imports") == 0 and count(client, "executions") == 0


def test_missing_column_is_named(client: FlaskClient, tmp_path: Path) -> None:
    path = tmp_path / "fills.csv"
    path.write_text("date,symbol,side,price\n2024-01-02,AAPL,buy,10\n")
    resp = upload(client, path, broker="generic")
    assert resp.status_code == 422
    assert resp.json["errors"][0]["name"] == "quantity"


def test_bad_form_fields_are_400(client: FlaskClient) -> None:
    resp = upload(client, TASTY, broker="nope", timezone="Mars/Olympus")
    assert resp.status_code == 400
    assert {e["name"] for e in resp.json["errors"]} == {"broker", "timezone"}
    no_file = client.post("/api/imports", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 400 and no_file.json["errors"][0]["name"] == "file"


def test_undo_removes_exactly_its_executions(client: FlaskClient, tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text(
        "date,symbol,side,quantity,price\n"
        "2024-01-02 10:00,AAPL,buy,10,100\n2024-01-02 11:00,AAPL,sell,10,110\n"
    )
    two = tmp_path / "two.csv"
    two.write_text(
        "date,symbol,side,quantity,price\n"
        "2024-01-03 10:00,MSFT,buy,5,300\n2024-01-03 11:00,MSFT,sell,5,290\n"
    )
    first = upload(client, one).json["id"]
    upload(client, two)
    assert client.get("/api/trades").json["total"] == 2
    assert client.delete(f"/api/imports/{first}").status_code == 200
    trades = client.get("/api/trades").json
    assert trades["total"] == 1 and trades["items"][0]["symbol"] == "MSFT"
    assert count(client, "executions") == 2
    assert client.delete(f"/api/imports/{first}").status_code == 404


def test_trades_paging_sorting_filtering(client: FlaskClient) -> None:
    upload(client, TASTY)
    page = client.get("/api/trades?limit=10&offset=0&sort=net_pnl&order=desc").json
    assert page["total"] == 351 and len(page["items"]) == 10
    pnls = [t["netPnl"] for t in page["items"]]
    assert pnls == sorted(pnls, reverse=True)
    second = client.get("/api/trades?limit=10&offset=10&sort=net_pnl&order=desc").json
    assert second["items"][0]["netPnl"] <= pnls[-1]
    longs = client.get("/api/trades?side=long&limit=1").json["total"]
    shorts = client.get("/api/trades?side=short&limit=1").json["total"]
    assert longs + shorts == 351
    options = client.get("/api/trades?asset_class=option&limit=500").json["items"]
    assert options and all(t["assetClass"] == "option" for t in options)
    assert all(t["multiplier"] == "100" for t in options)
    dated = client.get("/api/trades?start=2021-01-01&end=2021-12-31&tz=America/New_York&limit=500")
    assert all("2021" <= t["exitTime"][:4] <= "2022" for t in dated.json["items"])
    bad = client.get("/api/trades?limit=0&sort=color&start=yesterday")
    assert bad.status_code == 400
    assert {e["name"] for e in bad.json["errors"]} == {"limit", "sort", "start"}


def test_trade_detail_patch_and_annotations_survive_rematch(client: FlaskClient) -> None:
    upload(client, TASTY)
    trade = client.get("/api/trades?limit=1&sort=net_pnl&order=desc").json["items"][0]
    detail = client.get(f"/api/trades/{trade['id']}").json
    assert detail["executionList"] and detail["executionList"][0]["symbol"] == trade["symbol"]
    patched = client.patch(
        f"/api/trades/{trade['id']}",
        json={"tags": ["earnings", " earnings ", "A+"], "notes": "sized up", "risk": "500"},
    )
    assert patched.status_code == 200
    assert patched.json["tags"] == ["earnings", "A+"]
    assert patched.json["rMultiple"] == pytest.approx(trade["netPnl"] / 500)
    assert client.patch(f"/api/trades/{trade['id']}", json={"risk": -1}).status_code == 400
    assert client.patch("/api/trades/nope", json={"notes": "x"}).status_code == 404
    # Re-matching (lot method change) keeps ids and annotations.
    assert client.patch("/api/accounts/default", json={"lot_method": "lifo"}).status_code == 200
    again = client.get(f"/api/trades/{trade['id']}").json
    assert again["tags"] == ["earnings", "A+"] and again["notes"] == "sized up"
    assert client.get("/api/trades?tag=earnings").json["total"] == 1
    cleared = client.patch(f"/api/trades/{trade['id']}", json={"risk": None}).json
    assert cleared["risk"] is None and cleared["tags"] == ["earnings", "A+"]


def test_stats_obey_filters_and_lot_method_keeps_totals(client: FlaskClient) -> None:
    upload(client, TASTY)
    all_kpis = client.get("/api/stats").json["kpis"]
    long_kpis = client.get("/api/stats?side=long").json["kpis"]
    short_kpis = client.get("/api/stats?side=short").json["kpis"]
    assert long_kpis["count"] + short_kpis["count"] == all_kpis["count"] == 351
    assert long_kpis["net_pnl"] + short_kpis["net_pnl"] == pytest.approx(all_kpis["net_pnl"])
    assert all_kpis["net_pnl"] == pytest.approx(all_kpis["gross_pnl"] - all_kpis["fees"])
    gross = client.get("/api/stats?basis=gross").json
    assert gross["basis"] == "gross"
    equity = client.get("/api/stats/equity").json["points"]
    assert equity[-1]["equity"] == pytest.approx(
        10000 + sum(d["pnl"] for d in client.get("/api/stats/calendar").json["days"])
    )
    assert all(p["drawdown"] <= 0 for p in equity)
    for method in ("lifo", "average"):
        client.patch("/api/accounts/default", json={"lot_method": method})
        assert client.get("/api/stats").json["kpis"]["net_pnl"] == pytest.approx(
            all_kpis["net_pnl"]
        )
    assert client.get("/api/stats?capital=-5").status_code == 400
    assert client.get("/api/stats?tz=Nowhere/City").status_code == 400


def test_positions_and_executions(client: FlaskClient) -> None:
    upload(client, TASTY)
    positions = client.get("/api/positions").json["items"]
    assert {p["symbol"] for p in positions} >= {"SCHG"}
    schg = next(p for p in positions if p["symbol"] == "SCHG")
    assert schg["quantity"] == "100" and schg["direction"] == "long"
    execs = client.get("/api/executions?limit=5&symbol=SCHG").json
    assert execs["total"] >= 1
    assert all(e["symbol"].startswith("SCHG") for e in execs["items"])  # symbol or underlying


def test_csv_export_escapes_formulas(client: FlaskClient) -> None:
    upload(client, TASTY)
    trade = client.get("/api/trades?limit=1").json["items"][0]
    client.patch(
        f"/api/trades/{trade['id']}",
        json={"tags": ['=HYPERLINK("http://x")'], "notes": "@SUM(A1:A9)"},
    )
    resp = client.get("/api/trades.csv?limit=500")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 351
    row = next(r for r in rows if r["id"] == trade["id"])
    assert row["tags"].startswith("'=") and row["notes"].startswith("'@")
    for r in rows:
        for key in ("symbol", "notes", "tags", "account"):
            assert not r[key].startswith(("=", "+", "-", "@"))
        float(r["netPnl"])  # numbers stay numbers (a negative P&L is not escaped)


def test_import_list_and_detail(client: FlaskClient) -> None:
    created = upload(client, TASTY).json
    listing = client.get("/api/imports").json
    assert listing["total"] == 1 and listing["items"][0]["id"] == created["id"]
    detail = client.get(f"/api/imports/{created['id']}").json
    assert detail["skipped"] == created["skipped"]
    assert client.get("/api/imports/999999").status_code == 404


def test_reversed_date_range_is_400_naming_start(client: FlaskClient) -> None:
    for path in ("/api/trades", "/api/stats", "/api/stats/equity", "/api/trades.csv"):
        resp = client.get(f"{path}?start=2024-02-01&end=2024-01-01")
        assert resp.status_code == 400, path
        assert resp.json["errors"] == [{"name": "start", "in": "query", "reason": "after end"}]


@pytest.mark.parametrize(
    "sort", ["exit_time", "entry_time", "net_pnl", "holding_seconds", "symbol"]
)
def test_trades_pages_join_up_to_the_whole_selection(client: FlaskClient, sort: str) -> None:
    """Pages (ids chosen first, rows joined after; totals reused after the first page)
    are exactly the slices of one big page, for every sort, order and filter."""
    upload(client, TASTY)
    trade = client.get("/api/trades?limit=1").json["items"][0]
    client.patch(f"/api/trades/{trade['id']}", json={"tags": ["paged"]})
    account = trade["account"]
    for filters in ("", "&side=short", "&asset_class=option", f"&account={account}",
                    "&symbol=SPY", "&tag=paged", "&account=nobody"):
        for order in ("asc", "desc"):
            query = f"/api/trades?sort={sort}&order={order}{filters}"
            whole = client.get(f"{query}&limit=500").json
            pages = [client.get(f"{query}&limit=25&offset={o}").json for o in range(0, 400, 25)]
            assert [p["total"] for p in pages] == [whole["total"]] * len(pages), query
            ids = [t["id"] for p in pages for t in p["items"]]
            assert ids == [t["id"] for t in whole["items"]], query
            assert pages[1]["items"] == whole["items"][25:50], query
    assert client.get("/api/trades?tag=paged").json["total"] == 1
    assert client.get("/api/trades?account=nobody").json == {
        "total": 0, "limit": 50, "offset": 0, "items": []
    }


def test_trades_total_follows_writes_on_later_pages(client: FlaskClient, tmp_path: Path) -> None:
    upload(client, TASTY)
    before = client.get("/api/trades?limit=10&offset=10").json["total"]
    more = tmp_path / "more.csv"
    more.write_text(
        "date,symbol,side,quantity,price\n"
        "2024-01-02 10:00,AAPL,buy,10,100\n2024-01-02 11:00,AAPL,sell,10,110\n"
    )
    upload(client, more)
    assert client.get("/api/trades?limit=10&offset=10").json["total"] == before + 1


def test_default_trades_page_walks_the_exit_time_index(client: FlaskClient) -> None:
    """Newest-closed-first pages read the (exit_time, id) index and sort nothing, so a
    page costs the same on 200k round trips as on 20 (SQLite's plan)."""
    from tradestats.store.journal_queries import TradeQuery, page_ids_query

    engine = client.application.extensions["tradestats"].engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    for descending in (True, False):
        stmt = page_ids_query(TradeQuery(), "exit_time", descending, 50, 1000)
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            plan = " / ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
        assert "ix_round_trips_exit_id" in plan and "TEMP B-TREE" not in plan, plan
