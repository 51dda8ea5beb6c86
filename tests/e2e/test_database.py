"""The store foundation on SQLite and PostgreSQL, in-process and through a real server."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import text

from support.servers import ServerProcess, TcpProxy
from tradestats.config import Settings
from tradestats.store.engine import build_engine, ping
from tradestats.store.kv import ensure_instance_id, get_value, set_value
from tradestats.store.migrate import current_revision, head_revision, upgrade


def settings_for(url: str, data_dir: Path, **overrides: object) -> Settings:
    return Settings.load(
        env={"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": url}, overrides=overrides
    )


def test_migrations_apply_and_are_idempotent(database_url: str, data_dir: Path) -> None:
    engine = build_engine(settings_for(database_url, data_dir))
    try:
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
        first = ensure_instance_id(engine)
        assert ensure_instance_id(engine) == first
        set_value(engine, "k", "v1")
        set_value(engine, "k", "v2")
        assert get_value(engine, "k") == "v2"
        assert ping(engine) > 0
    finally:
        engine.dispose()


def test_concurrent_upgrades_apply_once(database_url: str, data_dir: Path) -> None:
    """Several servers starting together against one database must not race."""
    errors: list[BaseException] = []
    engines = [build_engine(settings_for(database_url, data_dir)) for _ in range(3)]

    def run(engine):  # type: ignore[no-untyped-def]
        try:
            upgrade(engine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors
        assert current_revision(engines[0]) == head_revision(engines[0])
    finally:
        for e in engines:
            e.dispose()


def test_sqlite_pragmas(data_dir: Path) -> None:
    engine = build_engine(settings_for(f"sqlite:///{data_dir / 'x.db'}", data_dir))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_pool_sized_from_threads(database_url: str, data_dir: Path) -> None:
    engine = build_engine(settings_for(database_url, data_dir, threads=6))
    try:
        assert engine.pool.size() == 6  # type: ignore[attr-defined]
        # pre-ping survives a PostgreSQL restart; a SQLite file has nothing to reconnect to
        expected = engine.dialect.name == "postgresql"
        assert engine.pool._pre_ping is expected  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_server_ready_against_database(database_url: str, data_dir: Path) -> None:
    with ServerProcess(data_dir, env={"DATABASE_URL": database_url}) as srv:
        body = requests.get(srv.url + "/api/ready", timeout=5).json()
        check = body["checks"]["database:responseTime"][0]
        assert body["status"] == "pass"
        assert check["componentId"] == (
            "sqlite" if database_url.startswith("sqlite") else "postgresql"
        )
        assert isinstance(check["observedValue"], float)
        info = requests.get(srv.url + "/api/info", timeout=5).json()
        assert info["instanceId"]


def test_readiness_follows_postgres_outage_without_restart(
    pg_database: str, data_dir: Path
) -> None:
    """Cut PostgreSQL off (a proxy in between), readiness fails fast; restore it, and
    readiness passes again with the same server process (pool pre-ping)."""
    parts = urlsplit(pg_database)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432).start()
    url = pg_database.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    try:
        with ServerProcess(data_dir, env={"DATABASE_URL": url}) as srv:
            assert requests.get(srv.url + "/api/ready", timeout=5).status_code == 200
            proxy.cut()
            started = time.monotonic()
            resp = requests.get(srv.url + "/api/ready", timeout=15)
            elapsed = time.monotonic() - started
            assert resp.status_code == 503
            assert resp.headers["Content-Type"] == "application/health+json"
            body = resp.json()
            assert body["status"] == "fail"
            assert body["checks"]["database:responseTime"][0]["output"]
            assert elapsed < 10, f"readiness took {elapsed:.1f}s while the DB was down"
            # Liveness is unaffected by the outage.
            assert requests.get(srv.url + "/api/health", timeout=5).status_code == 200
            proxy.restore()
            deadline = time.monotonic() + 20
            status = None
            while time.monotonic() < deadline:
                status = requests.get(srv.url + "/api/ready", timeout=15).status_code
                if status == 200:
                    break
                time.sleep(0.2)
            assert status == 200
            assert srv.proc is not None and srv.proc.poll() is None
    finally:
        proxy.cut()


@pytest.mark.parametrize("redis_url", ["redis://127.0.0.1:6379/15", "redis://127.0.0.1:1/0"])
def test_ready_reports_redis(redis_url: str, data_dir: Path) -> None:
    """A configured Redis appears in readiness; unreachable, it degrades to warn (200)."""
    import redis

    reachable = redis_url.endswith("/15")
    if reachable:
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.fail("Redis is not running on 127.0.0.1:6379")
    with ServerProcess(data_dir, env={"REDIS_URL": redis_url}) as srv:
        resp = requests.get(srv.url + "/api/ready", timeout=10)
        body = resp.json()
        entry = body["checks"]["redis:responseTime"][0]
        assert resp.status_code == 200
        assert entry["status"] == ("pass" if reachable else "warn")
        assert body["status"] == ("pass" if reachable else "warn")
