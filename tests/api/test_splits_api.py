"""Splits through the HTTP API, on SQLite and PostgreSQL: the import report says what
it did with the split rows, a split that does not fit the position is a 422 naming the
row, and a lot-method change re-matches with the stored splits."""

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
SCHWAB = FIXTURES / "schwab" / "export-to-ghostfolio_schwab-export.csv"
HEADER = "Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount\n"


@pytest.fixture
def client(empty_journal: tuple[Settings, Engine]) -> FlaskClient:
    settings, engine = empty_journal
    return create_app(settings, engine=engine).test_client()


def upload(client: FlaskClient, content: bytes, name: str) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(content), name), "account": "acct"}
    return client.post("/api/imports", data=data, content_type="multipart/form-data")


def avgo_trades(client: FlaskClient) -> list[dict[str, Any]]:
    items = client.get("/api/trades?symbol=AVGO").json["items"]
    return [i for i in items if i["symbol"] == "AVGO"]


def test_split_rows_in_the_report_and_the_trade_after_it(client: FlaskClient) -> None:
    first = upload(client, SCHWAB.read_bytes(), SCHWAB.name)
    assert first.status_code == 201, first.json
    body = first.json
    assert body["corporate_actions"] == 2
    assert body["skipped"]["split"] == 3
    assert body["skipped_rows"]["split"] == "108, 111-112"  # AVGO; the TNXP pair
    assert body["skipped_rows"]["dividend"].startswith("3-5, 9-11, ")
    detail = client.get(f"/api/imports/{body['id']}").json
    assert detail["skipped_rows"] == body["skipped_rows"]
    assert detail["corporate_actions"] == 2

    sell = HEADER + '"07/22/2024","Sell","AVGO","BROADCOM INC","10","$175.00","","$1750.00"\n'
    assert upload(client, sell.encode(), "sell.csv").status_code == 201
    (trade,) = avgo_trades(client)
    # 1 share at 1680, 10-for-1, 10 sold at 175: 1750 - 1680
    assert float(trade["grossPnl"]) == pytest.approx(70)
    assert float(trade["entryPrice"]) == pytest.approx(168)
    assert float(trade["quantity"]) == pytest.approx(10)

    for method in ("lifo", "average", "fifo"):
        patched = client.patch("/api/accounts/acct", json={"lot_method": method})
        assert patched.status_code == 200, patched.json
        assert [t["grossPnl"] for t in avgo_trades(client)] == [trade["grossPnl"]]


def test_split_that_does_not_fit_is_a_422_naming_the_row(client: FlaskClient) -> None:
    bad = (
        HEADER
        + '"07/15/2024","Stock Split","AVGO","BROADCOM INC","-5","","",""\n'
        + '"06/13/2024","Buy","AVGO","BROADCOM INC","5","$1680.00","","-$8400.00"\n'
    )
    response = upload(client, bad.encode(), "bad.csv")
    assert response.status_code == 422  # like every file the import cannot take
    assert response.content_type.startswith("application/problem+json")
    assert "row 2" in response.json["detail"] and "AVGO" in response.json["detail"]
    assert client.get("/api/imports").json["total"] == 0  # nothing stored
