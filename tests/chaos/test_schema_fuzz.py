"""Item 5a — bad input, generated from the API's own contract: schemathesis against
``/api/openapi.json`` of a running `tradestats serve`, every operation, every phase
(examples, coverage, fuzzing, and stateful sequences over the links it infers from
Location headers and ids), every check.

Hard failures (the test fails): a 5xx (ST101/ST102), a response whose status, media type,
headers or body the schema does not document (ST103-ST111), or a network error (a
dropped/broken response). Request-side precision findings — the schema accepts what the
server rejects or the reverse (ST2xx), a resource still served after DELETE (ST301),
slow responses (ST112, timing is not asserted here) — are reported in the summary row's
details and the test output, not failed on.

Knobs (tests/chaos/conftest.py): CHAOS_EXAMPLES, CHAOS_FUZZ_SECONDS, CHAOS_SEED. One run
per backend: PostgreSQL rejects what SQLite stores (NUL characters, 64-bit overflows).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chaos.conftest import ChaosKnobs, SummaryRecorder
from chaos.harness import fills_csv, post_import
from support.servers import ServerProcess

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]

# Codes that mean the server broke or answered outside its contract.
HARD_CODES = {
    "ST101",  # 5xx
    "ST102",  # 5xx for an undeclared Content-Type
    "ST103",  # undocumented status code
    "ST104",  # missing Content-Type
    "ST105",  # undocumented Content-Type
    "ST106",  # malformed Content-Type
    "ST107",  # required response header missing
    "ST108",  # body/header violates the response schema
    "ST109",  # invalid JSON
    "ST110",  # unparseable body
    "ST111",  # unknown discriminator
}


_SERVER_ERROR = re.compile(r"network|connection|timeout|response|server", re.I)


def _schemathesis() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "schemathesis.cli"]


def _har_counts(har_path: Path) -> tuple[int, int, dict[str, int]]:
    """(requests, 5xx responses, 5xx per 'METHOD path') from the HAR report."""
    entries = json.loads(har_path.read_text())["log"]["entries"]
    five_xx: dict[str, int] = {}
    for entry in entries:
        status = int(entry["response"]["status"])
        if status >= 500:
            url = entry["request"]["url"].split("?", 1)[0]
            key = f"{entry['request']['method']} {url.split('/', 3)[-1]}"
            five_xx[key] = five_xx.get(key, 0) + 1
    return len(entries), sum(five_xx.values()), five_xx


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_schemathesis_against_openapi(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    data_dir: Path,
    chaos_knobs: ChaosKnobs,
    chaos_summary: SummaryRecorder,
) -> None:
    budget = chaos_knobs.fuzz_seconds
    seed = str(chaos_knobs.seed)
    report_dir = tmp_path / "schemathesis"
    env = {}
    if backend == "postgresql":
        # NUL characters, 64-bit overflows and collations differ from SQLite's.
        env["DATABASE_URL"] = str(request.getfixturevalue("chaos_pg_url"))
    with ServerProcess(data_dir, env=env) as server:
        data, _rows = fills_csv("FUZZSEED", 40)
        assert post_import(server.url, data, "seed.csv").status_code == 201
        cmd = [
            *_schemathesis(),
            "run",
            server.url + "/api/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(chaos_knobs.examples),
            "--max-time",
            str(budget),
            "--seed",
            seed,
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--no-shrink",
            "--suppress-health-check",
            "all",
            "--report",
            "json,har",
            "--report-dir",
            str(report_dir),
        ]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=budget + 300,
            cwd=tmp_path,  # schemathesis keeps a .schemathesis/ cache in its working directory
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
            check=False,
        )
        logs = server.logs()
    (tmp_path / "schemathesis.out").write_text(proc.stdout + proc.stderr)
    json_reports = sorted(report_dir.glob("json-*.json"))
    har_reports = sorted(report_dir.glob("har-*.json"))
    assert json_reports and har_reports, proc.stdout[-3000:] + proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(json_reports[-1].read_text())
    requests_sent, five_xx, five_xx_by_route = _har_counts(har_reports[-1])

    failures = report.get("failures", [])
    hard = [f for f in failures if f.get("code") in HARD_CODES]
    soft = [f for f in failures if f.get("code") not in HARD_CODES]
    # Errors are the run's own (not a check failing): a broken or dropped response counts
    # against the server; schemathesis' internal ones ("Runtime Error") are reported only.
    errors = [e for e in report.get("errors", []) if _SERVER_ERROR.search(e.get("title", ""))]
    tool_errors = [e for e in report.get("errors", []) if e not in errors]
    tracebacks = logs.count('"message":"unhandled error"')
    chaos_summary(
        f"openapi-fuzz-{backend}",
        load=f"schemathesis {report['operations']['tested']} ops, {budget}s",
        faults="generated bad input",
        requests=requests_sent,
        errors=sum(int(f.get("count", 1)) for f in hard)
        + sum(int(e.get("count", 1)) for e in errors)
        + five_xx,
        data_lost=0,
        details={
            "test_cases": report.get("test_cases"),
            "five_xx_by_route": five_xx_by_route,
            "hard_failures": hard,
            "errors": errors,
            "tool_errors": tool_errors,
            "spec_precision_findings": soft,
            "server_unhandled_errors": tracebacks,
            "output": str(tmp_path / "schemathesis.out"),
            "notes": [f"{f['code']} {f['title']} x{f.get('count')} (not failed on)" for f in soft]
            + [f"schemathesis internal error: {e.get('title')}" for e in tool_errors],
        },
    )
    if soft:
        print("schemathesis request-side findings (not failed on):")
        for f in soft:
            print(f"  {f['code']} {f['title']} x{f.get('count')}: {', '.join(f['operations'])}")
    detail = proc.stdout[-12000:]
    assert report["operations"]["tested"] == report["operations"]["total"], detail
    assert five_xx == 0, (five_xx_by_route, detail)
    assert not hard, (hard, detail)
    assert not errors, (errors, detail)
    assert tracebacks == 0
