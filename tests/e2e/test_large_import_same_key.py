"""A large (background) upload sent several times at once with one Idempotency-Key, to
a real server with two workers: every copy is answered 202 with the same job, and the
file is imported once. Before, all but one copy failed with a 500 (the job row's
primary key was violated); found with the chaos suite's re-submissions."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import requests

from support.fills import write_fills
from support.servers import ServerProcess

THRESHOLD = 5 * 1024 * 1024  # api/imports.py ASYNC_THRESHOLD_BYTES
COPIES = 4


def test_concurrent_copies_of_a_large_upload_make_one_import(
    data_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    rows = write_fills(path, 2000)
    data = path.read_bytes()
    data += b"\n" * (THRESHOLD + 1 - len(data))  # importers skip blank lines
    with ServerProcess(data_dir, env={"TRADESTATS_WORKERS": "2"}) as srv:
        for attempt in range(3):  # three keys: three chances for the race
            key = f"same-key-{attempt:04d}"
            barrier = threading.Barrier(COPIES)
            answers: list[Any] = []

            def send(
                key: str = key, barrier: threading.Barrier = barrier, answers: list[Any] = answers
            ) -> None:
                barrier.wait()
                resp = requests.post(
                    srv.url + "/api/imports",
                    files={"file": (f"big-{key}.csv", data, "text/csv")},
                    data={"account": key},
                    headers={"Idempotency-Key": key},
                    timeout=60,
                )
                answers.append((resp.status_code, resp.headers.get("Location")))

            threads = [threading.Thread(target=send) for _ in range(COPIES)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            assert len(answers) == COPIES
            assert {status for status, _ in answers} == {202}, answers
            locations = {loc for _, loc in answers}
            assert len(locations) == 1, answers
            deadline = time.monotonic() + 60
            job: dict[str, Any] = {}
            while time.monotonic() < deadline:
                job = requests.get(srv.url + locations.pop(), timeout=10).json()
                locations.add(f"/api/imports/jobs/{job['id']}")
                if job["status"] in ("done", "failed"):
                    break
                time.sleep(0.2)
            assert job["status"] == "done", job
            assert job["result"]["imported"] == rows
        listing = requests.get(srv.url + "/api/imports", timeout=10).json()
        assert listing["total"] == 3
