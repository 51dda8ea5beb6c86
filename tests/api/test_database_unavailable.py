"""An unreachable database is a 503 problem with Retry-After, not a 500.

Before the fix every DB-backed route answered a PostgreSQL outage with 500 "unhandled
error" (and a stack trace in the log per request). The in-process app here talks to a
PostgreSQL URL on a port nobody listens on: a real refused TCP connection, not a mock.
The chaos scenario tests/chaos/test_dependency_faults.py covers the served app under
load through a real PostgreSQL restart.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import exc as sa_exc

from support.servers import free_port
from tradestats.api.problems import DATABASE_RETRY_AFTER, database_unavailable
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store.engine import build_engine

DB_ROUTES = (
    "/api/stats",
    "/api/stats/equity",
    "/api/trades",
    "/api/executions?limit=5",
    "/api/imports",
    "/api/info",
)


@pytest.fixture
def refused_client(data_dir: Path) -> FlaskClient:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    settings = Settings.load(
        env={"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": url},
        overrides={"db_connect_timeout": 2},
    )
    return create_app(settings, engine=build_engine(settings)).test_client()


@pytest.mark.parametrize("path", DB_ROUTES)
def test_unreachable_postgres_is_503_with_retry_after(
    refused_client: FlaskClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    resp = refused_client.get(path)
    assert resp.status_code == 503, resp.data
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["Retry-After"] == str(DATABASE_RETRY_AFTER)
    body = json.loads(resp.data)
    assert body["status"] == 503 and body["title"] == "Database unavailable"
    assert "unhandled error" not in caplog.text


def test_readiness_fails_and_liveness_passes_while_unreachable(
    refused_client: FlaskClient,
) -> None:
    ready = refused_client.get("/api/ready")
    assert ready.status_code == 503
    assert json.loads(ready.data)["status"] == "fail"
    assert refused_client.get("/api/health").status_code == 200


def test_sqlite_schema_errors_stay_500(data_dir: Path) -> None:
    """A missing table is our bug, not an outage: still a 500 (no migrations ran)."""
    settings = Settings.load(env={"TRADESTATS_DATA_DIR": str(data_dir)})
    client = create_app(settings, engine=build_engine(settings)).test_client()
    resp = client.get("/api/trades")
    assert resp.status_code == 500
    assert "Retry-After" not in resp.headers


def test_database_unavailable_classification() -> None:
    refused = psycopg.OperationalError("connection refused")
    wrapped = sa_exc.OperationalError("SELECT 1", {}, refused)
    assert database_unavailable(refused)
    assert database_unavailable(wrapped)
    assert database_unavailable(psycopg.InterfaceError("the connection is lost"))
    assert database_unavailable(sa_exc.TimeoutError("QueuePool limit reached"))
    invalidated = sa_exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert database_unavailable(invalidated)
    # Errors of the statement or the data are not outages.
    assert not database_unavailable(psycopg.errors.UniqueViolation("duplicate key"))
    assert not database_unavailable(
        sa_exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key"))
    )
    assert not database_unavailable(sa_exc.ProgrammingError("SELECT", {}, Exception("syntax")))
    assert not database_unavailable(ValueError("bad input"))
