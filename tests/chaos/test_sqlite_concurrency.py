"""Item 4 — concurrency on SQLite: 8 importers through the HTTP API of one server, 8
`tradestats import` CLI processes on the same data directory, and readers (HTTP clients
and `tradestats report` processes), all at once.

Pass: no "database is locked" (or any other error) reaches a user — every HTTP import is
201, every CLI exits 0, every read is 200 — and no row is lost: the executions stored
equal the sum of what every import reported, which equals the rows of every file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from chaos.conftest import SummaryRecorder
from chaos.harness import fills_csv, post_import, total_executions, total_imports
from support.servers import ServerProcess

pytestmark = pytest.mark.chaos

IMPORTERS = 8
FILES_PER_HTTP_IMPORTER = 3
ROUND_TRIPS_PER_FILE = 150
READERS = 4
CLI_READERS = 2
READ_PATHS = (
    "/api/trades?limit=100",
    "/api/stats",
    "/api/executions?limit=20",
    "/api/imports",
    "/api/stats/equity",
    "/api/positions",
)
LOCKED = "database is locked"


@dataclass
class Tally:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, error: str | None = None) -> None:
        with self.lock:
            self.requests += 1
            if error:
                self.errors.append(error)


def _file(tag: str, n: int) -> tuple[bytes, int]:
    # Same symbols and overlapping days for every file: imports re-match the same
    # instruments, the worst case for write contention.
    return fills_csv(
        tag,
        ROUND_TRIPS_PER_FILE,
        symbols=10,
        start=datetime(2024, 3, 1, 14, 30, tzinfo=UTC) + timedelta(hours=n),
    )


def test_sqlite_concurrent_importers_and_readers(
    tmp_path: Path, data_dir: Path, chaos_summary: SummaryRecorder
) -> None:
    with ServerProcess(data_dir) as server:
        http_results: list[tuple[int, int, str]] = []  # (expected rows, status, body)
        reads = Tally()
        done = threading.Event()
        start_gate = threading.Barrier(IMPORTERS + READERS + 1)

        def http_importer(i: int) -> None:
            start_gate.wait()
            for j in range(FILES_PER_HTTP_IMPORTER):
                data, rows = _file(f"H{i}x{j}", i * FILES_PER_HTTP_IMPORTER + j)
                try:
                    resp = post_import(
                        server.url, data, f"http-{i}-{j}.csv", key=f"chaos-h-{i}-{j}-key"
                    )
                    http_results.append((rows, resp.status_code, resp.text))
                except requests.RequestException as exc:
                    http_results.append((rows, 0, repr(exc)))

        def reader(i: int) -> None:
            session = requests.Session()
            start_gate.wait()
            n = i
            while not done.is_set():
                path = READ_PATHS[n % len(READ_PATHS)]
                n += 1
                try:
                    resp = session.get(server.url + path, timeout=60)
                    bad = resp.status_code != 200 or LOCKED in resp.text
                    reads.add(f"{path}: {resp.status_code} {resp.text[:200]}" if bad else None)
                except requests.RequestException as exc:
                    reads.add(f"{path}: {exc!r}")

        # The CLI importers: files written first, processes started with the threads.
        cli_files = []
        for k in range(IMPORTERS):
            data, rows = _file(f"C{k}", 100 + k)
            path = tmp_path / f"cli-{k}.csv"
            path.write_bytes(data)
            cli_files.append((path, rows))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADESTATS_")}
        env.pop("DATABASE_URL", None)
        env["TRADESTATS_DATA_DIR"] = str(data_dir)

        threads = [threading.Thread(target=http_importer, args=(i,)) for i in range(IMPORTERS)]
        threads += [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
        for t in threads:
            t.start()
        start_gate.wait()
        cli_procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tradestats.cli", "import", str(path), "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for path, _rows in cli_files
        ]
        reports = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tradestats.cli",
                    "report",
                    "--format",
                    "json",
                    "-o",
                    str(tmp_path / f"report-{k}.json"),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for k in range(CLI_READERS)
        ]
        started = time.monotonic()
        cli_results = []
        for proc, (_path, rows) in zip(cli_procs, cli_files, strict=True):
            out, err = proc.communicate(timeout=240)
            cli_results.append((rows, proc.returncode, out, err))
        report_errors = []
        for proc in reports:
            out, err = proc.communicate(timeout=240)
            if proc.returncode != 0 or LOCKED in err:
                report_errors.append(f"report rc={proc.returncode}: {err[-300:]}")
        for t in threads[:IMPORTERS]:
            t.join(240)
        done.set()
        for t in threads[IMPORTERS:]:
            t.join(60)
        elapsed = time.monotonic() - started

        http_errors = [
            f"{status}: {body[:300]}"
            for rows, status, body in http_results
            if status != 201 or json.loads(body).get("imported") != rows
        ]
        cli_errors = []
        cli_imported = 0
        for rows, rc, out, err in cli_results:
            report = json.loads(out) if rc == 0 and out.strip().startswith("{") else {}
            cli_imported += int(report.get("imported", 0))
            if rc != 0 or report.get("imported") != rows or LOCKED in err:
                cli_errors.append(f"rc={rc} imported={report.get('imported')} {err[-300:]}")
        http_imported = sum(
            int(json.loads(body)["imported"]) for _r, status, body in http_results if status == 201
        )
        expected = sum(rows for rows, *_ in http_results) + sum(rows for rows, *_ in cli_results)
        stored_api = total_executions(server.url)
        imports_api = total_imports(server.url)
        with sqlite3.connect(data_dir / "tradestats.db") as db:
            stored_db = int(db.execute("SELECT count(*) FROM executions").fetchone()[0])
        locked_in_logs = server.logs().count(LOCKED)
        unhandled = server.logs().count('"message":"unhandled error"')

    n_imports = IMPORTERS * FILES_PER_HTTP_IMPORTER + IMPORTERS
    chaos_summary(
        "sqlite-concurrency",
        load=f"{IMPORTERS} HTTP + {IMPORTERS} CLI importers, {READERS + CLI_READERS} readers",
        faults="write contention",
        requests=len(http_results) + len(cli_results) + reads.requests + len(reports),
        errors=len(http_errors)
        + len(cli_errors)
        + len(reads.errors)
        + len(report_errors)
        + locked_in_logs
        + unhandled,
        data_lost=abs(expected - stored_db) + abs(n_imports - imports_api),
        details={
            "imports": n_imports,
            "rows_expected": expected,
            "rows_reported_imported": http_imported + cli_imported,
            "rows_stored": stored_db,
            "reads": reads.requests,
            "seconds": round(elapsed, 1),
        },
    )
    assert not http_errors, http_errors[:5]
    assert not cli_errors, cli_errors[:5]
    assert not reads.errors, reads.errors[:5]
    assert not report_errors, report_errors
    assert locked_in_logs == 0 and unhandled == 0
    assert len(http_results) == IMPORTERS * FILES_PER_HTTP_IMPORTER
    assert http_imported + cli_imported == expected
    assert stored_db == stored_api == expected
    assert imports_api == n_imports
