"""Under gunicorn, Prometheus metrics are shared through files only if
PROMETHEUS_MULTIPROC_DIR is set before prometheus_client creates any metric. The
master process imports the CLI and server modules before it sets that variable, so
those imports must not pull in prometheus_client."""

from __future__ import annotations

import subprocess
import sys


def test_cli_and_server_do_not_import_prometheus_client() -> None:
    code = (
        "import sys, tradestats.cli, tradestats.server, tradestats.cli_journal; "
        "print('prometheus_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_scan_cli_default_concurrency_matches_the_scanner() -> None:
    from tradestats.jobs import cli, scan

    assert cli.DEFAULT_CONCURRENCY == scan.DEFAULT_CONCURRENCY
