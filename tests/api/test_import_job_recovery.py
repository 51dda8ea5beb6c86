"""A background import whose process died (SIGKILL, OOM) is run again when the same file
is re-submitted with its Idempotency-Key; a job whose owner may still be alive is not.

Before this, the job row stayed ``running`` forever: every re-submission answered 202
with the dead job and the file was never imported (found by the chaos suite,
tests/chaos/test_server_faults.py)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from support.fills import write_fills
from tradestats.api import imports as imports_api
from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.store import journal_repo as repo

KEY = "recover-me-0001"
JOB_ID = hashlib.sha256(f"import-job|{KEY}".encode()).hexdigest()[:32]


@pytest.fixture
def client(empty_journal: tuple[Settings, Engine]) -> FlaskClient:
    settings, engine = empty_journal
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs WHERE id = :id"), {"id": JOB_ID})
    return create_app(settings, engine=engine).test_client()


@pytest.fixture
def big_file(tmp_path: Path) -> tuple[bytes, int]:
    """A file above the background threshold that imports quickly (blank-line padding)."""
    path = tmp_path / "big.csv"
    rows = write_fills(path, 2000)
    data = path.read_bytes()
    return data + b"\n" * (imports_api.ASYNC_THRESHOLD_BYTES + 1 - len(data)), rows


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _stale_job(client: FlaskClient, owner: dict[str, Any] | None) -> None:
    engine = client.application.extensions["tradestats"].engine
    with engine.begin() as conn:
        repo.create_job(conn, JOB_ID, "import", {"stage": "parse", "rows": 0})
        repo.update_job(
            conn,
            JOB_ID,
            status="running",
            params_json=json.dumps(owner) if owner is not None else None,
        )


def _submit(client: FlaskClient, data: bytes) -> Any:
    return client.post(
        "/api/imports",
        data={"file": (io.BytesIO(data), "big.csv")},
        headers={"Idempotency-Key": KEY},
        content_type="multipart/form-data",
    )


def _wait_done(client: FlaskClient) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/api/imports/jobs/{JOB_ID}").json
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job not finished: {job}")


def test_job_of_a_dead_process_is_run_again(
    client: FlaskClient, big_file: tuple[bytes, int]
) -> None:
    data, rows = big_file
    _stale_job(client, {"host": socket.gethostname(), "pid": _dead_pid(), "started": "1"})
    # Until someone re-submits, the job reads as failed (interrupted), not "running".
    shown = client.get(f"/api/imports/jobs/{JOB_ID}").json
    assert shown["status"] == "failed" and shown["error"] == imports_api.INTERRUPTED_ERROR
    resp = _submit(client, data)
    assert resp.status_code == 202
    assert resp.json["id"] == JOB_ID and resp.json["status"] == "queued"
    job = _wait_done(client)
    assert job["status"] == "done", job
    assert job["result"]["imported"] == rows
    assert client.get("/api/executions?limit=1").json["total"] == rows
    assert client.get("/api/imports").json["total"] == 1
    # Once done, the same key answers with the finished job: nothing runs again.
    again = _submit(client, data)
    assert again.status_code == 202 and again.json["status"] == "done"
    assert client.get("/api/imports").json["total"] == 1


@pytest.mark.parametrize(
    "owner",
    [
        pytest.param("self", id="owner-alive"),
        pytest.param("other-host", id="other-host"),
        pytest.param(None, id="unknown-owner"),
    ],
)
def test_job_that_may_still_run_is_left_alone(
    client: FlaskClient, big_file: tuple[bytes, int], owner: str | None
) -> None:
    identity: dict[str, Any] | None = None
    if owner == "self":
        identity = imports_api._process_identity()
    elif owner == "other-host":
        identity = {"host": socket.gethostname() + "-elsewhere", "pid": _dead_pid()}
    _stale_job(client, identity)
    resp = _submit(client, big_file[0])
    assert resp.status_code == 202
    assert resp.json["status"] == "running"
    time.sleep(0.3)
    assert client.get(f"/api/imports/jobs/{JOB_ID}").json["status"] == "running"
    assert client.get("/api/executions?limit=1").json["total"] == 0


def test_owner_gone_sees_a_reused_pid() -> None:
    me = imports_api._process_identity()
    assert not imports_api._owner_gone(json.dumps(me))
    if me["started"] is not None:  # Linux: the same pid, started at another time
        assert imports_api._owner_gone(json.dumps(me | {"started": "1"}))
    assert imports_api._owner_gone(json.dumps(me | {"pid": _dead_pid()}))
    assert not imports_api._owner_gone("not json")
    assert not imports_api._owner_gone(json.dumps({"host": me["host"], "pid": "x"}))
    assert os.getpid() == me["pid"]


def test_concurrent_first_submissions_share_one_job(
    client: FlaskClient, big_file: tuple[bytes, int]
) -> None:
    """Several uploads of one large file with one key at the same moment: every one is
    answered 202 with the same job, and the file is imported once (in-process, on both
    databases; tests/e2e/test_large_import_same_key.py races real worker processes)."""
    data, rows = big_file
    barrier = threading.Barrier(4)
    answers: list[Any] = []

    def submit() -> None:
        barrier.wait()
        resp = _submit(client.application.test_client(), data)
        answers.append((resp.status_code, (resp.json or {}).get("id")))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [(202, JOB_ID)] * 4, answers
    job = _wait_done(client)
    assert job["status"] == "done" and job["result"]["imported"] == rows
    assert client.get("/api/imports").json["total"] == 1
    assert client.get("/api/executions?limit=1").json["total"] == rows
