"""The frontend benchmark's pure helpers (bench/frontend.py): percentiles, verdicts, the
table and the note naming the statistics requests (the part that says whether a cold
load waited on retries)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_PATH = Path(__file__).resolve().parents[2] / "bench" / "frontend.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_frontend", BENCH_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_nearest_rank_percentiles(bench: ModuleType) -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert bench.percentile(values, 50) == 10
    assert bench.percentile(values, 95) == 19
    assert bench.percentile(values, 100) == 20
    assert bench.percentile([7.0], 95) == 7
    s = bench.summarize([30.0, 10.0, 20.0])
    assert (s["p50"], s["min"], s["max"], s["mean"]) == (20, 10, 30, 20)


def test_verdicts_name_a_smaller_journal(bench: ModuleType) -> None:
    assert bench.verdict(True, bench.FULL_N) == "PASS"
    assert bench.verdict(False, bench.FULL_N) == "FAIL"
    assert bench.verdict(True, 50_000) == "pass (at 50,000)"


def test_table_and_request_note(bench: ModuleType) -> None:
    rows = [
        bench.Row("Trades: next page p50", 64.5, "ms", "<= 200 ms", "PASS", "p95 112 ms"),
        bench.Row("JS heap", None, "MB", "(no target)", "info"),
    ]
    lines = bench.format_table(rows).splitlines()
    assert lines[0].split() == ["figure", "measured", "target", "verdict"]
    assert "64.5 ms" in lines[2] and lines[2].rstrip().endswith("PASS")
    assert lines[3] == "    p95 112 ms"
    assert " - " in lines[4]
    api = [
        {"url": "/api/stats?tz=UTC", "start": 100.0, "end": 10100.0},  # timed out, retried
        {"url": "/api/stats?tz=UTC", "start": 10200.0, "end": 10230.0},
        {"url": "/api/stats/equity?tz=UTC", "start": 100.0, "end": 130.0},
        {"url": "/api/health", "start": 0.0, "end": 5.0},
    ]
    assert bench.api_note({"api": api}) == (
        "; /api/stats 30 ms, /api/stats/equity 30 ms; 1 request(s) retried"
    )
    assert bench.api_note({"api": []}) == ""
