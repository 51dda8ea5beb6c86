"""The server warms the whole-journal strategy statistics before serving; a failure
there is never fatal."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest

from tradestats import server
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.journal import reports, strategy_reports
from tradestats.journal.strategies import DEFAULT_WINDOW_SECONDS
from tradestats.journal.strategy_reports import PositionFilter, strategy_statistics
from tradestats.store import strategy_queries
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

STATEMENT = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "brokers"
    / "thinkorswim"
    / "account_statement_spreads_written_for_tradestats.csv"
)


@pytest.fixture
def settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(strategy_reports, "_CACHE", strategy_reports._LruCache(8))
    monkeypatch.setattr(strategy_reports, "_RESULTS", strategy_reports._LruCache(64))
    monkeypatch.setattr(strategy_reports, "_SELECTIONS", strategy_reports._LruCache(8))
    settings = Settings.load(
        env={
            "TRADESTATS_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'tradestats.db'}",
        }
    )
    engine = build_engine(settings)
    upgrade(engine)
    client = create_app(settings, engine=engine).test_client()
    data: dict[str, Any] = {
        "file": (io.BytesIO(STATEMENT.read_bytes()), STATEMENT.name),
        "account": "tos",
    }
    resp = client.post("/api/imports", data=data, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    engine.dispose()
    return settings


def test_warm_caches_computes_the_default_strategy_statistics(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.warm_caches(settings)

    def no_load(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("the warmed statistics were computed again")

    monkeypatch.setattr(strategy_queries, "load_legs", no_load)
    engine = build_engine(settings)
    try:
        stats = strategy_statistics(engine, None, DEFAULT_WINDOW_SECONDS, PositionFilter(), "net")
    finally:
        engine.dispose()
    assert stats.total.count > 0
    assert any(kind != "custom" for kind, _ in stats.by_strategy)


def test_a_failing_strategy_warm_up_is_not_fatal(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(_engine: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(strategy_reports, "warm_cache", boom)
    warmed = []
    monkeypatch.setattr(reports, "warm_cache", lambda engine: warmed.append(engine))
    with caplog.at_level(logging.WARNING):
        server.warm_caches(settings)
    assert len(warmed) == 1  # the journal statistics were still warmed
    assert "could not precompute the strategy statistics" in caplog.text
