"""Scans over real sockets: SSE resume against `tradestats serve`, and the RQ path with
a real worker process and the real Redis."""

from __future__ import annotations

import datetime as dt
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from support.scans import (
    REDIS_URL,
    ScanServerProcess,
    SseReader,
    WorkerProcess,
    redis_or_skip,
    wait_for,
)


def next_weekday() -> dt.date:
    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


# Everything on the calendar passes the pre-filter: more events per scan.
OPEN_FILTERS = {"min_price": 0, "min_avg_volume": 0}


def finished(url: str, job_id: str) -> dict[str, Any] | None:
    body: dict[str, Any] = requests.get(f"{url}/api/scans/{job_id}", timeout=5).json()
    return body if body["status"] in ("done", "failed", "cancelled") else None


@pytest.fixture
def server(data_dir: Path) -> Iterator[ScanServerProcess]:
    # A short drain: gunicorn waits the whole graceful timeout after a JSON POST.
    srv = ScanServerProcess(data_dir, "--server", "gunicorn", "--graceful-timeout", "3").start()
    try:
        yield srv
    finally:
        srv.stop()


def test_sse_resume_over_a_real_socket_loses_and_repeats_nothing(
    server: ScanServerProcess,
) -> None:
    resp = requests.post(
        server.url + "/api/scans",
        json={"date": next_weekday().isoformat(), "filters": OPEN_FILTERS},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    job = resp.json()["id"]
    path = f"/api/scans/{job}/events"

    first = SseReader(server.port, path)
    assert first.status == 200
    assert first.headers["content-type"].startswith("text/event-stream")
    seen = []
    for _ in range(3):
        event = first.next_event()
        assert event is not None
        seen.append(event)
    first.close()  # the connection drops mid-stream

    second = SseReader(server.port, path, {"Last-Event-ID": seen[-1]["id"]})
    assert second.status == 200
    while (event := second.next_event()) is not None:
        seen.append(event)
    assert second.ended, "the stream must end (chunked terminator) after the terminal event"
    second.close()

    ids = [int(e["id"]) for e in seen]
    assert ids == list(range(1, len(ids) + 1)), "no event lost or duplicated, ids increasing"
    assert seen[-1]["event"] == "done"
    assert [e["event"] for e in seen].count("done") == 1
    body = wait_for(lambda: finished(server.url, job))
    assert body["last_event_id"] == ids[-1]
    assert sum(e["event"] == "result" for e in seen) == len(body["results"])

    # Resuming after the end replays nothing and ends at once; ?last_event_id= works too.
    tail = SseReader(server.port, f"{path}?last_event_id={ids[-1]}")
    assert tail.next_event() is None and tail.ended
    tail.close()


def test_idempotent_post_against_a_real_server(server: ScanServerProcess) -> None:
    key = f"e2e-{uuid.uuid4().hex}"
    payload = {"date": next_weekday().isoformat(), "filters": {"limit": 2}}
    first = requests.post(
        server.url + "/api/scans", json=payload, headers={"Idempotency-Key": key}, timeout=10
    )
    # Several retries, likely reaching both gunicorn workers.
    retries = [
        requests.post(
            server.url + "/api/scans", json=payload, headers={"Idempotency-Key": key}, timeout=10
        )
        for _ in range(4)
    ]
    assert first.status_code == 202
    assert {r.json()["id"] for r in retries} == {first.json()["id"]}
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in retries)
    assert first.headers["Location"] == retries[0].headers["Location"]


@pytest.mark.redis
def test_rq_worker_processes_scans_submitted_to_the_server(data_dir: Path) -> None:
    client = redis_or_skip()
    env = {"REDIS_URL": REDIS_URL, "TRADESTATS_MARKET_DATA": "demo"}
    worker = WorkerProcess(
        data_dir / "worker.log", {**env, "TRADESTATS_DATA_DIR": str(data_dir)}
    ).start()
    try:
        with ScanServerProcess(
            data_dir, "--server", "gunicorn", "--graceful-timeout", "3", env=env
        ) as server:
            resp = requests.post(
                server.url + "/api/scans",
                json={"date": next_weekday().isoformat(), "filters": OPEN_FILTERS},
                timeout=10,
            )
            assert resp.status_code == 202, resp.text
            job = resp.json()["id"]
            try:
                body = wait_for(lambda: finished(server.url, job), timeout=60)
            except AssertionError:
                raise AssertionError(f"worker log:\n{worker.logs()}") from None
            assert body["status"] == "done", body
            p = body["progress"]
            assert p["done"] == p["total"] == len(body["results"]) + len(body["skipped"])

            # The server's SSE stream reads the same (Redis) state.
            reader = SseReader(server.port, f"/api/scans/{job}/events")
            events = []
            while (event := reader.next_event()) is not None:
                events.append(event)
            reader.close()
            assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
            assert events[-1]["event"] == "done"

            # It really went through the queue, to the worker process.
            from rq.job import Job

            rq_job = Job.fetch(f"scan-{job}", connection=client)
            assert rq_job.get_status() == "finished"
            assert rq_job.origin == "tradestats-scans"
            assert rq_job.worker_name
    finally:
        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGTERM)  # warm shutdown: exits 0 when idle
        code = worker.stop()
    assert code == 0, worker.logs()
