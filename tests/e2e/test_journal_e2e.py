"""The journal through real processes: kill mid-import, CLI, background imports, demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from support.fills import write_fills
from support.servers import ServerProcess
from tradestats.store.engine import normalize_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "brokers"
TASTY = (
    FIXTURES / "tastytrade" / "tastyworksTaxes_tastytrade_transactions_history_180201_to_240817.csv"
)


def cli(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADESTATS_")}
    env.update({"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": database_url})
    return subprocess.run(
        [sys.executable, "-m", "tradestats.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def counts(database_url: str) -> tuple[int, int]:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            executions = conn.execute(text("SELECT COUNT(*) FROM executions")).scalar_one()
            imports = conn.execute(text("SELECT COUNT(*) FROM imports")).scalar_one()
        return int(executions), int(imports)
    finally:
        engine.dispose()


def reset(database_url: str) -> None:
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.begin() as conn:
            exists = conn.execute(
                text("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'imports'")
                if engine.dialect.name == "postgresql"
                else text("SELECT COUNT(*) FROM sqlite_master WHERE name = 'imports'")
            ).scalar_one()
            if exists:
                for table in (
                    "trade_annotations",
                    "open_positions",
                    "realizations",
                    "round_trips",
                    "executions",
                    "imports",
                    "instruments",
                    "accounts",
                    "jobs",
                ):
                    conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()


def test_kill_mid_import_leaves_database_unchanged(
    database_url: str, data_dir: Path, tmp_path: Path
) -> None:
    reset(database_url)
    big = tmp_path / "big.csv"
    rows = write_fills(big, 60_000)
    assert cli(data_dir, database_url, "db", "upgrade").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADESTATS_")}
    env.update({"TRADESTATS_DATA_DIR": str(data_dir), "DATABASE_URL": database_url})
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradestats.cli", "import", str(big)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2.5)
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert counts(database_url) == (0, 0)
    done = cli(data_dir, database_url, "import", "--json", str(big))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["imported"] == rows
    assert counts(database_url) == (rows, 1)


def test_cli_import_and_report(database_url: str, data_dir: Path, tmp_path: Path) -> None:
    reset(database_url)
    ok = cli(data_dir, database_url, "import", str(TASTY), "--account", "tasty")
    assert ok.returncode == 0, ok.stderr
    assert "imported 856" in ok.stdout and "dividend 22" in ok.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("date,symbol,side,quantity,price\n2024-01-02,AAPL,buy,1,1\nx,AAPL,sell,1,2\n")
    strict = cli(data_dir, database_url, "import", "--strict", str(bad))
    assert strict.returncode == 1
    assert "REJECTED" in strict.stdout and "row 3 column date" in strict.stdout
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\xff" * 100)
    failed = cli(data_dir, database_url, "import", str(junk))
    assert failed.returncode == 1 and "error: junk.csv" in failed.stderr
    assert counts(database_url) == (856, 1)
    report = cli(data_dir, database_url, "report", "--format", "json", "--account", "tasty")
    assert report.returncode == 0, report.stderr
    kpis = json.loads(report.stdout)["kpis"]
    assert kpis["count"] == 351
    assert kpis["net_pnl"] == pytest.approx(kpis["gross_pnl"] - kpis["fees"])
    table = cli(data_dir, database_url, "report", "--side", "long")
    assert "Win rate" in table.stdout and "Net P&L" in table.stdout
    html_path = tmp_path / "r.html"
    html = cli(data_dir, database_url, "report", "--format", "html", "-o", str(html_path))
    assert html.returncode == 0
    page = html_path.read_text()
    assert "<h1>Trading statistics</h1>" in page and "Plotly" in page
    assert '<script src="http' not in page  # standalone: no network


def test_large_upload_is_imported_in_background(data_dir: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    rows = write_fills(big, 45_000)
    assert big.stat().st_size > 5 * 1024 * 1024
    with ServerProcess(data_dir) as srv:
        with big.open("rb") as fh:
            resp = requests.post(
                srv.url + "/api/imports",
                files={"file": ("big.csv", fh)},
                headers={"Idempotency-Key": "big-upload-1"},
                timeout=60,
            )
        assert resp.status_code == 202
        location = resp.headers["Location"]
        with big.open("rb") as fh:
            retry = requests.post(
                srv.url + "/api/imports",
                files={"file": ("big.csv", fh)},
                headers={"Idempotency-Key": "big-upload-1"},
                timeout=60,
            )
        assert retry.status_code == 202 and retry.headers["Location"] == location
        deadline = time.monotonic() + 120
        job = {}
        while time.monotonic() < deadline:
            job = requests.get(srv.url + location, timeout=10).json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.3)
        assert job["status"] == "done", job
        assert job["result"]["imported"] == rows
        assert (
            requests.get(srv.url + "/api/trades?limit=1", timeout=10).json()["total"] == rows // 2
        )
        listing = requests.get(srv.url + "/api/imports", timeout=10).json()
        assert listing["total"] == 1


def test_demo_server_shows_a_labelled_demo_account(data_dir: Path) -> None:
    with ServerProcess(data_dir, "--demo") as srv:
        info = requests.get(srv.url + "/api/info", timeout=5).json()
        assert info["demo"] is True
        accounts = requests.get(srv.url + "/api/accounts", timeout=5).json()["items"]
        assert accounts == [
            {"name": "Demo", "baseCurrency": "USD", "lotMethod": "fifo", "demo": True}
        ]
        stats = requests.get(srv.url + "/api/stats", timeout=30).json()
        assert stats["kpis"]["count"] > 200
        classes = {b["key"] for b in stats["breakdowns"]["asset_class"]}
        assert {"stock", "option", "future", "crypto_spot"} <= classes
        assert requests.get(srv.url + "/api/positions", timeout=5).json()["items"]
    # A restart does not seed twice.
    with ServerProcess(data_dir, "--demo") as srv:
        assert requests.get(srv.url + "/api/imports", timeout=5).json()["total"] == 1
