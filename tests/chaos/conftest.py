"""Chaos suite plumbing: knobs, per-scenario summary rows, the closing summary table.

Every test here is marked ``chaos`` (module-level ``pytestmark``); the default run
(``pytest``, ``make test``) deselects them through ``addopts = -m "not chaos"`` in
pyproject.toml, and ``make chaos`` selects them with ``-m chaos``.

Knobs (environment variables, read here only):

- ``CHAOS_DURATION``: seconds of load per load scenario (default 60; ``.ci/run`` uses 20).
- ``CHAOS_CONNECTIONS``: concurrent HTTP connections of the load scenarios (default 256).
- ``CHAOS_EXAMPLES``: schemathesis test cases per API operation (default 30).
- ``CHAOS_FUZZ_SECONDS``: time budget of each schemathesis run, one per backend (default
  120; ``.ci/run`` uses 60).
- ``CHAOS_SEED``: schemathesis seed (default fixed, so a run can be replayed).
- ``CHAOS_REPEAT_MB``: size of the one-repeated-line upload (default 12, at most 15).

Each scenario records one row with `chaos_summary` (scenario, load, faults, requests,
errors, data lost, plus free-form details); the rows are printed as a table at the end
of the run and written to ``test-output/chaos-summary.json``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support.servers import pg_admin_url, pg_available


@dataclass
class ChaosRow:
    """One line of the summary table."""

    scenario: str
    load: str
    faults: str
    requests: int
    errors: int
    data_lost: int
    passed: bool = True
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChaosKnobs:
    duration: int
    connections: int
    examples: int
    fuzz_seconds: int
    seed: int
    repeat_mb: int


_ROWS: list[ChaosRow] = []


def _int_env(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw)
    if value < minimum:
        raise pytest.UsageError(f"{name} must be >= {minimum}, got {value}")
    return value


@pytest.fixture(scope="session")
def chaos_knobs() -> ChaosKnobs:
    return ChaosKnobs(
        duration=_int_env("CHAOS_DURATION", 60, 2),
        connections=_int_env("CHAOS_CONNECTIONS", 256, 4),
        examples=_int_env("CHAOS_EXAMPLES", 30, 1),
        fuzz_seconds=_int_env("CHAOS_FUZZ_SECONDS", 120, 5),
        seed=_int_env("CHAOS_SEED", 20261126, 0),
        repeat_mb=_int_env("CHAOS_REPEAT_MB", 12, 6),
    )


class SummaryRecorder:
    """Adds rows to the run's summary table (kept even when the test then fails)."""

    def __call__(
        self,
        scenario: str,
        *,
        load: str,
        faults: str,
        requests: int,
        errors: int,
        data_lost: int,
        details: dict[str, Any] | None = None,
    ) -> ChaosRow:
        row = ChaosRow(
            scenario=scenario,
            load=load,
            faults=faults,
            requests=requests,
            errors=errors,
            data_lost=data_lost,
            passed=errors == 0 and data_lost == 0,
            details=details or {},
        )
        _ROWS.append(row)
        return row


@pytest.fixture
def chaos_summary() -> SummaryRecorder:
    return SummaryRecorder()


@pytest.fixture
def chaos_pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (``chaos_<random>``) for one scenario, dropped after."""
    admin = pg_admin_url()
    if not pg_available(admin):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {admin} (CI must start it)")
        pytest.skip(f"PostgreSQL not reachable at {admin}")
    import psycopg

    name = f"chaos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fmt(n: int) -> str:
    return f"{n:,}"


def format_table(rows: list[ChaosRow]) -> list[str]:
    """The summary as aligned text lines (scenario, load, faults, requests, errors, lost)."""
    header = ("scenario", "load", "faults", "requests", "errors", "data lost", "")
    body = [
        (
            r.scenario,
            r.load,
            r.faults,
            _fmt(r.requests),
            _fmt(r.errors),
            _fmt(r.data_lost),
            "ok" if r.passed else "FAIL",
        )
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    numeric = {3, 4, 5}

    def render(cells: tuple[str, ...]) -> str:
        return " | ".join(
            c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    lines = [render(header), "-+-".join("-" * w for w in widths)]
    lines += [render(cells) for cells in body]
    return lines


def format_routes(rows: list[ChaosRow]) -> list[str]:
    """Per-route figures of the load scenarios (req/s, p50, p99, 5xx, socket errors)."""
    lines: list[str] = []
    for row in rows:
        routes = row.details.get("routes")
        if not routes:
            continue
        lines.append(f"{row.scenario}:")
        lines.append(
            f"  {'route':<12} {'conns':>5} {'requests':>9} {'req/s':>8} {'p50 ms':>8} "
            f"{'p99 ms':>8} {'5xx':>4} {'4xx':>4} {'sock err':>8}"
        )
        for r in routes:
            lines.append(
                f"  {r['route']:<12} {r['connections']:>5} {r['requests']:>9,} "
                f"{r['rps']:>8.1f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                f"{r['status_5xx']:>4} {r['status_4xx']:>4} {r['socket_errors']:>8}"
            )
    return lines


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _ROWS:
        return
    tr = terminalreporter
    tr.section("chaos summary")
    for line in format_table(_ROWS):
        tr.write_line(line)
    route_lines = format_routes(_ROWS)
    if route_lines:
        tr.write_line("")
        for line in route_lines:
            tr.write_line(line)
    notes = [(r.scenario, note) for r in _ROWS for note in r.details.get("notes", [])]
    if notes:
        tr.write_line("")
        for scenario, note in notes:
            tr.write_line(f"{scenario}: {note}")
    out_dir = Path(config.rootpath) / "test-output"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "chaos-summary.json"
    path.write_text(json.dumps([asdict(r) for r in _ROWS], indent=2, default=str) + "\n")
    tr.write_line(f"\n(written to {path})")
