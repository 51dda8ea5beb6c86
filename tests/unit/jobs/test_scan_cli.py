"""`tradestats scan` (the scan_command click command) on the demo market."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from tradestats.jobs.cli import VERDICT_ORDER, scan_command


def _weekday() -> str:
    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.isoformat()


def test_scan_json_sorted_by_verdict(tmp_path: Path) -> None:
    env = {"TRADESTATS_DATA_DIR": str(tmp_path), "TRADESTATS_MARKET_DATA": "demo"}
    result = CliRunner().invoke(
        scan_command, ["--date", _weekday(), "--json", "--min-avg-volume", "0"], env=env
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "done" and doc["source"] == "demo"
    ranks = [VERDICT_ORDER[r["analysis"]["verdict"]] for r in doc["results"]]
    assert ranks == sorted(ranks)
    p = doc["progress"]
    assert p["done"] == p["total"] == len(doc["results"]) + len(doc["skipped"])


def test_scan_table_and_bad_date(tmp_path: Path) -> None:
    env = {"TRADESTATS_DATA_DIR": str(tmp_path), "TRADESTATS_MARKET_DATA": "demo"}
    result = CliRunner().invoke(scan_command, ["--date", _weekday(), "--limit", "3"], env=env)
    assert result.exit_code == 0, result.output
    assert "DEMO DATA" in result.stdout and "TICKER" in result.stdout
    assert "on the calendar" in result.stdout
    bad = CliRunner().invoke(scan_command, ["--date", "2025-02-30"], env=env)
    assert bad.exit_code == 2 and "--date" in bad.output
