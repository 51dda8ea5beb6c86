"""Shared fixtures: settings, in-process apps, real server subprocesses, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.servers import pg_admin_url, pg_available

PG_URL_ENV = "TRADESTATS_TEST_PG_URL"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end.

    Uses the machine's server (TRADESTATS_TEST_PG_URL, default postgres@127.0.0.1/test).
    In CI (CI=true) an unreachable server fails the run instead of skipping.
    """
    admin = pg_admin_url()
    if not pg_available(admin):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {admin} (CI must start it)")
        pytest.skip(f"PostgreSQL not reachable at {admin}")
    import psycopg

    name = f"tradestats_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, data_dir: Path) -> str:
    """Parametrizes a test over SQLite (file in a temp dir) and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{data_dir / 'tradestats.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


#: Tables emptied by `empty_journal`, children before parents.
JOURNAL_TABLES = (
    "trade_annotations",
    "open_positions",
    "realizations",
    "round_trips",
    "corporate_actions",
    "executions",
    "imports",
    "instruments",
    "accounts",
    "idempotency_keys",
    "jobs",
)


@pytest.fixture
def empty_journal(database_url: str, data_dir: Path) -> tuple[Any, Any]:
    """Settings and a migrated engine for `database_url` with the journal tables emptied
    (the PostgreSQL database is shared by the test session)."""
    from sqlalchemy import text

    from tradestats.config import Settings
    from tradestats.store.engine import build_engine
    from tradestats.store.migrate import upgrade

    settings = Settings.load(
        env={"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    )
    engine = build_engine(settings)
    upgrade(engine)
    with engine.begin() as conn:
        for table in JOURNAL_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    return settings, engine
