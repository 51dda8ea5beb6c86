"""The DB pool gauges follow the pools by sampling, not by checkout/checkin events."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import event

from tradestats.config import Settings
from tradestats.store.engine import build_engine, sample_pool_gauges


def _gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


def test_sampled_gauges_count_checked_out_connections(tmp_path: Path) -> None:
    settings = Settings.load({"TRADESTATS_DATA_DIR": str(tmp_path), "TRADESTATS_THREADS": "2"})
    engine = build_engine(settings)
    try:
        # No per-checkout listener is left on the request path.
        assert not event.contains(engine, "checkout", lambda *_: None)
        assert not engine.pool.dispatch.checkout
        assert not engine.pool.dispatch.checkin
        baseline, _ = sample_pool_gauges()
        first = engine.raw_connection()
        second = engine.raw_connection()
        checked_out, overflow = sample_pool_gauges()
        assert checked_out == baseline + 2
        assert overflow >= 0
        assert _gauge("tradestats_db_pool_checked_out") == checked_out
        first.close()
        second.close()
        assert sample_pool_gauges()[0] == baseline
        assert _gauge("tradestats_db_pool_checked_out") == baseline
    finally:
        engine.dispose()
