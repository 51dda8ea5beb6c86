"""Currencies through the HTTP API, on SQLite and PostgreSQL: an import mixing currencies
without FX rates is a 400 problem naming the rows (nothing stored), statistics say their
currency, trades carry their own and the base-currency P&L; migration 0005 applies."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store.engine import build_engine
from tradestats.store.migrate import alembic_config, current_revision, head_revision, upgrade

FLEX = (
    Path(__file__).resolve().parents[1]
    / "fixtures" / "brokers" / "ibkr" / "ib-flex-reader_TestForCoding_flex.xml"
)


@pytest.fixture
def client(empty_journal: tuple[Settings, Engine]) -> FlaskClient:
    settings, engine = empty_journal
    return create_app(settings, engine=engine).test_client()


def upload(client: FlaskClient, name: str, content: bytes, **form: str) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(content), name), **form}
    return client.post("/api/imports", data=data, content_type="multipart/form-data")


def count(client: FlaskClient, table: str) -> int:
    engine = client.application.extensions["tradestats"].engine
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def fills(*rows: str) -> bytes:
    return ("date,symbol,side,quantity,price,fees,currency\n" + "\n".join(rows) + "\n").encode()


def test_mixed_currencies_without_rates_are_a_400_naming_the_rows(client: FlaskClient) -> None:
    resp = upload(
        client,
        "mixed.csv",
        fills(
            "2024-01-02 10:00,AAPL,buy,10,100,1,USD",
            "2024-01-02 11:00,SAP,buy,5,200,1,EUR",
            "2024-01-02 12:00,AAPL,sell,10,101,1,USD",
            "2024-01-02 13:00,SAP,sell,5,210,1,EUR",
        ),
        account="mixed",
    )
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    body = resp.json
    assert "row 3 (EUR)" in body["detail"] and "row 5 (EUR)" in body["detail"]
    assert [(e["row"], e["currency"], e["account"]) for e in body["errors"]] == [
        (3, "EUR", "mixed"), (5, "EUR", "mixed")
    ]
    assert "no FX rate" in body["errors"][0]["reason"]
    for table in ("executions", "imports", "accounts", "round_trips"):
        assert count(client, table) == 0, table


def test_flex_import_stats_and_trades_in_the_base_currency(client: FlaskClient) -> None:
    resp = upload(client, FLEX.name, FLEX.read_bytes())
    assert resp.status_code == 201, resp.json
    accounts = {a["name"]: a["baseCurrency"] for a in client.get("/api/accounts").json["items"]}
    # ("default", the import's own account, got no fill: it keeps its default USD)
    assert accounts == {"U1234567": "EUR", "U1234567F": "EUR", "default": "USD"}

    trades = client.get("/api/trades", query_string={"account": "U1234567"}).json["items"]
    (ym,) = trades
    # -478.12 USD at the closing fills' rate 0.88221 = -421.8022452 EUR
    assert (ym["currency"], ym["netPnl"], ym["grossPnl"], ym["fees"]) == (
        "USD", -478.12, -470.0, 8.12
    )
    assert (ym["baseCurrency"], ym["baseNetPnl"], ym["baseGrossPnl"], ym["baseFees"]) == (
        "EUR", -421.8022452, -414.6387, 7.1635452
    )
    detail = client.get(f"/api/trades/{ym['id']}").json
    assert detail["baseNetPnl"] == -421.8022452
    assert {(x["currency"], x["fxRate"]) for x in detail["executionList"]} == {
        ("USD", "0.88221")
    }
    positions = client.get("/api/positions", query_string={"account": "U1234567F"}).json
    items = positions["items"] if isinstance(positions, dict) else positions
    assert {p["symbol"]: p["currency"] for p in items}["Z     181221P00069500"] == "GBP"

    stats = client.get("/api/stats", query_string={"account": "U1234567"}).json
    assert stats["currency"] == "EUR"
    assert stats["kpis"]["net_pnl"] == -421.8
    equity = client.get("/api/stats/equity", query_string={"account": "U1234567"}).json
    assert equity["currency"] == "EUR" and equity["points"][-1]["pnl"] == -421.8
    calendar = client.get("/api/stats/calendar", query_string={"account": "U1234567"}).json
    assert calendar["currency"] == "EUR"
    # strategy statistics add legs up in the base currency too
    by_strategy = client.get("/api/stats/strategies", query_string={"account": "U1234567"})
    assert by_strategy.json["total"]["net_pnl"] == -421.8
    # both accounts are in EUR: the whole journal adds up, FDAX's 542 EUR included
    assert client.get("/api/stats").json["kpis"]["net_pnl"] == round(542 - 421.8022452, 2)


def test_stats_over_accounts_in_different_currencies_are_a_400(client: FlaskClient) -> None:
    eur = fills("2024-01-02 10:00,SAP,buy,5,200,1,EUR", "2024-01-02 13:00,SAP,sell,5,210,1,EUR")
    usd = fills("2024-01-02 10:00,SPY,buy,1,400,1,USD", "2024-01-02 13:00,SPY,sell,1,410,1,USD")
    assert upload(client, "eur.csv", eur, account="eu").status_code == 201
    assert upload(client, "usd.csv", usd, account="us").status_code == 201
    resp = client.get("/api/stats")
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert "eu (EUR)" in resp.json["detail"] and "us (USD)" in resp.json["detail"]
    assert client.get("/api/stats/equity").status_code == 400
    eu = client.get("/api/stats", query_string={"account": "eu"}).json
    assert (eu["currency"], eu["kpis"]["net_pnl"]) == ("EUR", 48.0)
    # Strategy statistics add up P&L too: refused over both, in EUR for one account.
    strat = client.get("/api/stats/strategies")
    assert strat.status_code == 400 and "eu (EUR)" in strat.json["detail"]
    eu_strat = client.get("/api/stats/strategies", query_string={"account": "eu"}).json
    assert (eu_strat["currency"], eu_strat["total"]["count"]) == ("EUR", 1)
    trades = client.get("/api/trades").json["items"]  # each trade in its own currency
    assert sorted((t["currency"], t["baseCurrency"]) for t in trades) == [
        ("EUR", "EUR"), ("USD", "USD")
    ]


def test_openapi_documents_the_currency_fields(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").json
    trade = doc["components"]["schemas"]["Trade"]["properties"]
    assert {"currency", "baseCurrency", "baseNetPnl", "baseGrossPnl", "baseFees"} <= set(trade)
    stats = doc["paths"]["/api/stats"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "currency" in stats["schema"]["required"]


def test_migration_0005_adds_nullable_columns(database_url: str, data_dir: Path) -> None:
    """Applied from 0004 on a database holding an execution: the old row keeps NULL
    rates (it is in its account's base currency, as before)."""
    if database_url.startswith("postgresql"):
        # a database of its own: the session's is at head already
        import psycopg

        admin = database_url.rsplit("/", 1)[0] + "/postgres"
        name = f"tradestats_mig_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = database_url.rsplit("/", 1)[0] + f"/{name}"
    else:
        admin, name, url = "", "", database_url
    engine = build_engine(
        Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": url})
    )
    try:
        upgrade(engine, "0004_trades_paging")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO accounts (id, name, base_currency, lot_method, is_demo, "
                    "created_at) VALUES (1, 'a', 'USD', 'fifo', false, CURRENT_TIMESTAMP)"
                )
            )
        upgrade(engine, "0005_currencies")
        assert current_revision(engine) == "0005_currencies"
        inspector = sa.inspect(engine)
        for table, column in (
            ("executions", "fx_rate"),
            ("realizations", "fx_rate"),
            ("round_trips", "base_gross_pnl"),
            ("round_trips", "base_fees"),
            ("round_trips", "base_net_pnl"),
        ):
            found = {c["name"]: c for c in inspector.get_columns(table)}
            assert found[column]["nullable"], (table, column)
        upgrade(engine)  # and on to head
        with engine.connect() as conn:
            assert conn.execute(text("SELECT base_currency FROM accounts")).scalar_one() == "USD"
        command.downgrade(alembic_config(engine), "0004_trades_paging")
        inspector = sa.inspect(engine)
        assert "fx_rate" not in {c["name"] for c in inspector.get_columns("executions")}
        assert "base_net_pnl" not in {c["name"] for c in inspector.get_columns("round_trips")}
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()
        if name:
            import psycopg

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
