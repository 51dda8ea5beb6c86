"""Item 1 — load: CHAOS_CONNECTIONS (256) concurrent connections for CHAOS_DURATION (60 s)
of mixed traffic against `tradestats serve` (gunicorn gthread, default workers/threads),
on SQLite and on PostgreSQL, while a background thread imports a new small file every
few seconds.

Traffic: one wrk process per route, all at once, their connections adding up to the
total — health (liveness), stats with filters (KPIs, equity, calendar; cycling filter
sets), trades pages (cycling sorts, filters and offsets) and cached options analysis
(demo market data). Per-route req/s and p50/p99 come from wrk's own histograms.

Pass: zero 5xx, zero non-2xx, zero socket errors (connect/read/write/timeout), every
import 201, and no lost rows (executions = base + sum of imported; one import row each).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
import requests

from chaos.conftest import ChaosKnobs, SummaryRecorder
from chaos.harness import (
    PeriodicImporter,
    RouteLoad,
    fills_csv,
    post_import,
    run_wrk_mix,
    total_executions,
    total_imports,
)
from support.servers import ServerProcess

pytestmark = pytest.mark.chaos

IMPORT_INTERVAL_S = 3.0
BASE_ROUND_TRIPS = 1500

_STATS_PATHS = (
    "/api/stats",
    "/api/stats?symbol=CH3",
    "/api/stats?side=long&tz=America/New_York",
    "/api/stats?start=2024-01-01&end=2024-03-31&basis=gross",
    "/api/stats/equity?capital=25000",
    "/api/stats/calendar?tz=Europe/London",
    "/api/stats?asset_class=stock&annualization=365",
)
_TRADES_PATHS = (
    "/api/trades",
    "/api/trades?limit=100&offset=100",
    "/api/trades?sort=net_pnl&order=asc",
    "/api/trades?symbol=CH7&limit=20",
    "/api/trades?sort=holding_seconds&offset=500",
    "/api/trades?side=long&start=2024-02-01&end=2024-12-31",
    "/api/executions?limit=50",
)
_ANALYSIS_PATHS = (
    "/api/options/NVDA/analysis",
    "/api/options/AAPL/analysis",
    "/api/options/MSFT/analysis",
    "/api/options/JPM/analysis",
)


def route_mix(connections: int) -> list[RouteLoad]:
    """Split the connections: 1/8 health, 1/4 stats, 3/8 trades, 1/4 analysis."""
    health = max(1, connections // 8)
    stats = max(1, connections // 4)
    analysis = max(1, connections // 4)
    trades = max(1, connections - health - stats - analysis)
    return [
        RouteLoad("health", ("/api/health",), health),
        RouteLoad("stats", _STATS_PATHS, stats),
        RouteLoad("trades", _TRADES_PATHS, trades),
        RouteLoad("analysis", _ANALYSIS_PATHS, analysis),
    ]


def _run_load(
    backend: str,
    server: ServerProcess,
    knobs: ChaosKnobs,
    workdir: Path,
    chaos_summary: SummaryRecorder,
) -> None:
    base_data, base_rows = fills_csv("BASE", BASE_ROUND_TRIPS)
    resp = post_import(server.url, base_data, "base.csv", key="chaos-base-import")
    assert resp.status_code == 201, resp.text
    for load in route_mix(knobs.connections):  # warm every path once (caches, imports)
        for path in load.paths:
            assert requests.get(server.url + path, timeout=30).status_code == 200, path

    importer = PeriodicImporter(server.url, IMPORT_INTERVAL_S)
    importer.start()
    try:
        results = run_wrk_mix(server.url, route_mix(knobs.connections), knobs.duration, workdir)
    finally:
        importer.stop()
        importer.join(90)

    outcomes = importer.outcomes
    failed_imports = [o for o in outcomes if o.status != 201 or o.imported != o.rows]
    expected_rows = base_rows + sum(o.rows for o in outcomes if o.status == 201)
    stored_rows = total_executions(server.url)
    imports_stored = total_imports(server.url)
    lost = (expected_rows - stored_rows) + (1 + len(outcomes) - imports_stored)
    five_xx = sum(r.status_5xx for r in results)
    non_2xx = sum(r.non_2xx for r in results)
    socket_errors = sum(r.socket_errors for r in results)
    total = sum(r.requests for r in results) + len(outcomes)
    import_lat = sorted(o.seconds for o in outcomes)
    chaos_summary(
        f"load-{backend}",
        load=f"{knobs.connections} conns x {knobs.duration}s + import/{IMPORT_INTERVAL_S:g}s",
        faults="none",
        requests=total,
        errors=non_2xx + socket_errors + len(failed_imports),
        data_lost=abs(lost),
        details={
            "backend": backend,
            "rps_total": round(sum(r.rps for r in results), 1),
            "routes": [
                {k: v for k, v in asdict(r).items() if k != "raw"}
                | {"p50_ms": round(r.p50_ms, 1), "p99_ms": round(r.p99_ms, 1)}
                for r in results
            ]
            + [
                {
                    "route": "import",
                    "connections": 1,
                    "requests": len(outcomes),
                    "rps": len(outcomes) / knobs.duration,
                    "p50_ms": 1000 * import_lat[len(import_lat) // 2] if import_lat else 0.0,
                    "p99_ms": 1000 * import_lat[-1] if import_lat else 0.0,
                    "status_5xx": sum(1 for o in outcomes if (o.status or 0) >= 500),
                    "status_4xx": sum(1 for o in outcomes if 400 <= (o.status or 0) < 500),
                    "socket_errors": sum(1 for o in outcomes if o.status is None),
                }
            ],
            "imports": len(outcomes),
            "rows_expected": expected_rows,
            "rows_stored": stored_rows,
        },
    )
    assert five_xx == 0, [asdict(r) for r in results]
    assert non_2xx == 0, [asdict(r) for r in results]
    assert socket_errors == 0, [asdict(r) for r in results]
    assert outcomes, "the importer never ran"
    assert not failed_imports, failed_imports[:5]
    assert stored_rows == expected_rows
    assert imports_stored == 1 + len(outcomes)


def test_load_sqlite(
    tmp_path: Path, data_dir: Path, chaos_knobs: ChaosKnobs, chaos_summary: SummaryRecorder
) -> None:
    with ServerProcess(data_dir) as server:
        _run_load("sqlite", server, chaos_knobs, tmp_path, chaos_summary)
        assert "database is locked" not in server.logs()
        assert '"message":"unhandled error"' not in server.logs()


@pytest.mark.postgres
def test_load_postgres(
    tmp_path: Path,
    data_dir: Path,
    chaos_pg_url: str,
    chaos_knobs: ChaosKnobs,
    chaos_summary: SummaryRecorder,
) -> None:
    with ServerProcess(data_dir, env={"DATABASE_URL": chaos_pg_url}) as server:
        _run_load("postgresql", server, chaos_knobs, tmp_path, chaos_summary)
        assert '"message":"unhandled error"' not in server.logs()
