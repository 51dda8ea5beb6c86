"""Item 2 — server faults: the server process dies or is stopped under our feet.

1. **SIGKILL during an import, restart** (SQLite, PostgreSQL): the whole process group
   of `tradestats serve` is SIGKILLed while a file is being imported — three times, at
   three moments: while the upload is held inside the server by the fault switch's
   latency, about a third into a synchronous import, and while a large (background)
   import is storing rows. After each restart on the same database every file is
   there whole or not at all (executions, imports and round trips agree). Then each
   file is re-submitted twice at once with its original ``Idempotency-Key``: exactly
   one import per key, executions equal to the file's rows.
2. **SIGTERM during load** (SQLite, PostgreSQL): wrk's mixed load plus requests held in
   flight by the fault switch (slow ``GET /api/accounts``, a synchronous import) and a
   running background import; SIGTERM to the arbiter. Every request in flight at the
   signal is answered 2xx, both imports are stored whole (the worker finishes its
   background import before it exits), the server exits 0 within its graceful timeout,
   and a client connecting during the drain is refused at once rather than left in the
   listen backlog. wrk's refused reconnects are counted apart, not as errors.
3. **Worker killed by the gunicorn timeout**: gthread workers heartbeat from their main
   loop, so a merely slow request does not trip ``--timeout`` (checked: the worker
   holding a request past the timeout is still alive). What the timeout catches is a
   *hung* worker; we hang the one holding a slow request (SIGSTOP) and check it is
   killed and replaced, light traffic keeps succeeding, the slow request ends with
   its connection closed, and ``/metrics`` stays consistent (counters never go back
   and still equal what clients saw, the dead worker's live gauges are dropped).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from chaos.conftest import ChaosKnobs, SummaryRecorder
from chaos.harness import (
    GroupServer,
    RawRequest,
    clear_faults,
    fills_csv,
    import_job,
    padded_csv,
    pid_serving,
    post_import,
    run_wrk_mix,
    set_faults,
    total_executions,
    total_imports,
    wait_job_done,
    wait_matched,
    wait_until,
    worker_pids,
)
from chaos.test_load import route_mix
from support.metrics import samples
from support.servers import ServerProcess

pytestmark = pytest.mark.chaos

ASYNC_BYTES = 5 * 1024 * 1024 + 64 * 1024  # just above the background-import threshold


def _pg_env(url: str | None) -> dict[str, str]:
    return {"DATABASE_URL": url} if url else {}


def _trades_total(base_url: str, **params: str) -> int:
    resp = requests.get(base_url + "/api/trades", params={"limit": "1", **params}, timeout=30)
    resp.raise_for_status()
    return int(resp.json()["total"])


def _import_names(base_url: str) -> list[str]:
    resp = requests.get(base_url + "/api/imports", params={"limit": "500"}, timeout=30)
    resp.raise_for_status()
    return [item["file_name"] for item in resp.json()["items"]]


# -- 1. SIGKILL during an import ------------------------------------------------------


@dataclass
class KillFile:
    """One file the scenario tries to import, and what it must look like in the DB."""

    name: str
    account: str
    key: str
    data: bytes
    rows: int


@dataclass
class KillRecord:
    moment: str
    file: str
    delay_s: float
    answered_before_kill: bool
    found_rows: int
    outcome: str  # "none" | "all" | "partial"
    extra: dict[str, Any] = field(default_factory=dict)


def _file_state(url: str, f: KillFile) -> tuple[int, int]:
    return total_executions(url, account=f.account), _trades_total(url, account=f.account)


def _check_all_or_none(url: str, files: list[KillFile], base: KillFile) -> dict[str, str]:
    """Per file: "none" or "all" when consistent, else "partial" (data half-written)."""
    out: dict[str, str] = {}
    for f in [base, *files]:
        execs, trips = _file_state(url, f)
        whole = execs == f.rows and trips == f.rows // 2
        empty = execs == 0 and trips == 0
        out[f.name] = "all" if whole else "none" if empty else f"partial ({execs}, {trips})"
    names = _import_names(url)
    for f in [base, *files]:
        n = names.count(f.name)
        if (out[f.name] == "all" and n != 1) or (out[f.name] == "none" and n != 0):
            out[f.name] += f" but {n} import rows"
    return out


def _post_import_thread(
    url: str, data: bytes, name: str, key: str, sink: list[Any]
) -> threading.Thread:
    """POST an import from a thread; its response (or exception) lands in `sink`."""

    def go() -> None:
        try:
            sink.append(post_import(url, data, name, key=key, timeout=180))
        except requests.RequestException as exc:
            sink.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def _post_in_thread(url: str, f: KillFile, sink: list[Any]) -> threading.Thread:
    return _post_import_thread(url, f.data, f.name, f.key, sink)


def _run_sigkill(
    backend: str,
    data_dir: Path,
    db_url: str | None,
    chaos_summary: SummaryRecorder,
) -> None:
    env = _pg_env(db_url)
    latency_ms = 1500
    sync_trips = 6000  # 12,000 rows, ~0.9 MB: imported inside the request
    base = KillFile(
        "kill-base.csv",
        "killbase",
        "kill-base-0001",
        *fills_csv("KB", sync_trips, account="killbase"),
    )
    sync = KillFile(
        "kill-sync.csv",
        "killsync",
        "kill-sync-0001",
        *fills_csv("KS", sync_trips, account="killsync"),
    )
    big = KillFile(
        "kill-big.csv",
        "killbig",
        "kill-big-0001",
        *padded_csv("KG", 8000, ASYNC_BYTES, account="killbig"),
    )
    kills: list[KillRecord] = []
    problems: list[str] = []

    srv = GroupServer(data_dir, "--test-faults", env=env).start()
    try:
        # The base file (same size as the synchronous one) is there before any kill and
        # must survive them all; its duration tells us where "a third into" is.
        started = time.monotonic()
        resp = post_import(srv.url, base.data, base.name, key=base.key, timeout=120)
        sync_seconds = time.monotonic() - started
        assert resp.status_code == 201, resp.text

        moments: list[tuple[str, KillFile, Callable[[float], float]]] = [
            ("held in the fault latency", sync, lambda t0: t0 + 0.3 * latency_ms / 1000),
            (
                "a third into the import",
                sync,
                lambda t0: t0 + latency_ms / 1000 + 0.3 * sync_seconds,
            ),
            ("background import storing rows", big, lambda _t0: 0.0),
        ]
        for moment, f, when in moments:
            set_faults(srv.url, latency_ms=latency_ms, paths="^/api/imports$", methods=["POST"])
            sink: list[Any] = []
            thread = _post_in_thread(srv.url, f, sink)
            t0 = wait_matched(srv.url, 1)
            extra: dict[str, Any] = {}
            if f is big:
                # 202 first; then wait until the job reports stored rows (on SQLite only
                # the worker running it knows, so poll until that worker answers).
                thread.join(60)
                assert sink and isinstance(sink[0], requests.Response), sink
                assert sink[0].status_code == 202, sink[0].text
                location = sink[0].headers["Location"]
                job = {}

                def storing(url: str = srv.url, location: str = location) -> bool:
                    nonlocal job
                    job = import_job(url, location)
                    return bool(job["status"] == "running" and job["progress"].get("rows", 0) > 0)

                wait_until(storing, 60, "the background import to store rows", 0.02)
                extra = {"job_progress": job["progress"]}
            else:
                time.sleep(max(0.0, when(t0) - time.monotonic()))
            answered = bool(sink)
            delay = time.monotonic() - t0
            srv.kill_group()
            thread.join(10)
            srv = GroupServer(data_dir, "--test-faults", env=env).start()
            clear_faults(srv.url)
            state = _check_all_or_none(srv.url, [sync, big], base)
            found = total_executions(srv.url, account=f.account)
            outcome = state[f.name]
            kills.append(
                KillRecord(moment, f.name, round(delay, 2), answered, found, outcome, extra)
            )
            bad = {k: v for k, v in state.items() if v not in ("all", "none")}
            if bad or state[base.name] != "all":
                problems.append(f"after kill '{moment}': {state}")

        # Re-submit each file twice at once with its original key: one import each.
        clear_faults(srv.url)
        answers: list[Any] = []
        threads = [_post_in_thread(srv.url, f, answers) for f in (sync, sync, big, big)]
        for t in threads:
            t.join(180)
        statuses = sorted(
            a.status_code if isinstance(a, requests.Response) else -1 for a in answers
        )
        for a in answers:
            if not isinstance(a, requests.Response) or a.status_code not in (200, 201, 202):
                problems.append(f"re-submission failed: {a!r} {getattr(a, 'text', '')[:300]}")
        locations = {
            a.headers["Location"]
            for a in answers
            if isinstance(a, requests.Response) and a.status_code == 202
        }
        jobs = [wait_job_done(srv.url, loc) for loc in locations]
        for job in jobs:
            if job["status"] != "done":
                problems.append(f"background import after restart: {job}")
        # And once more, after it is all done: a replay, nothing new.
        again = post_import(srv.url, sync.data, sync.name, key=sync.key, timeout=120)
        if again.status_code != 200 or again.headers.get("Idempotent-Replayed") != "true":
            problems.append(f"late re-submission not replayed: {again.status_code}")
        final = _check_all_or_none(srv.url, [sync, big], base)
        imports_total = total_imports(srv.url)
    finally:
        srv.stop()

    expected = {base.name: "all", sync.name: "all", big.name: "all"}
    partial = [k for k in kills if k.outcome not in ("all", "none")]
    # Rows missing at the end, plus rows of a file found half-written after a kill.
    lost_rows = sum(0 if final[f.name] == "all" else f.rows for f in (base, sync, big))
    lost_rows += sum(k.found_rows for k in partial)
    chaos_summary(
        f"sigkill-import-{backend}",
        load=f"imports of {sync.rows:,} / {big.rows:,} rows ({len(big.data) / 1e6:.1f} MB)",
        faults=f"SIGKILL server group x{len(kills)}, restart",
        requests=1 + len(kills) + len(answers) + 1,  # the import POSTs
        errors=len(problems),
        data_lost=lost_rows,
        details={
            "backend": backend,
            "sync_import_s": round(sync_seconds, 2),
            "kills": [asdict(k) for k in kills],
            "resubmit_statuses": statuses,
            "imports": imports_total,
            "problems": problems,
            "notes": [
                f"kill {i + 1} ({k.moment}, {k.delay_s:g} s after the request reached "
                f"the server, answered before kill: {k.answered_before_kill}): "
                f"{k.file} -> {k.outcome}"
                for i, k in enumerate(kills)
            ],
        },
    )
    assert not problems, problems
    assert final == expected, final
    assert imports_total == 3
    assert kills[2].outcome == "none", kills[2]  # killed while storing: nothing kept


def test_sigkill_during_import_sqlite(data_dir: Path, chaos_summary: SummaryRecorder) -> None:
    _run_sigkill("sqlite", data_dir, None, chaos_summary)


@pytest.mark.postgres
def test_sigkill_during_import_postgres(
    data_dir: Path, chaos_pg_url: str, chaos_summary: SummaryRecorder
) -> None:
    _run_sigkill("postgresql", data_dir, chaos_pg_url, chaos_summary)


# -- 2. SIGTERM during load -----------------------------------------------------------


def _slow_get(url: str, sink: list[Any]) -> threading.Thread:
    def go() -> None:
        try:
            sink.append(requests.get(url, headers={"Connection": "close"}, timeout=120))
        except requests.RequestException as exc:
            sink.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def _job_status(data_dir: Path, db_url: str | None, job_id: str) -> str:
    """A job's status read from the server's database directly."""
    if db_url is None:
        with sqlite3.connect(data_dir / "tradestats.db", timeout=30) as conn:
            row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
    else:
        import psycopg

        with psycopg.connect(db_url, connect_timeout=10) as pg:
            row = pg.execute("SELECT status FROM jobs WHERE id = %s", (job_id,)).fetchone()
    assert row is not None, job_id
    return str(row[0])


def _new_connection_fate(base_url: str) -> str:
    """What a new client sees while the server drains: refused, timeout or a status."""
    try:
        resp = requests.get(base_url + "/api/health", timeout=2)
    except requests.ConnectionError as exc:
        return "refused" if "refused" in str(exc).lower() else f"closed ({type(exc).__name__})"
    except requests.Timeout:
        return "timeout (held in the listen backlog)"
    return f"answered {resp.status_code}"


def _run_sigterm(
    backend: str,
    data_dir: Path,
    db_url: str | None,
    knobs: ChaosKnobs,
    workdir: Path,
    chaos_summary: SummaryRecorder,
) -> None:
    env = _pg_env(db_url)
    graceful = 45
    latency_ms = 8000
    # Held requests never fill a worker's threads (8 each): the load keeps being served.
    slow_n = 6
    # wrk must still be running when the signal comes (at most 3 s in).
    duration = max(knobs.duration, 12)
    base_data, base_rows = fills_csv("TB", 1500, account="termbase")
    sync_data, sync_rows = fills_csv("TS", 5000, account="termsync")
    # Big enough to be still storing when the signal comes (~4 s after it started).
    big_trips = 20000 if db_url is None else 10000
    big_data, big_rows = padded_csv("TG", big_trips, ASYNC_BYTES, account="termbig")
    srv = ServerProcess(
        data_dir, "--test-faults", "--graceful-timeout", str(graceful), "--threads", "8", env=env
    )
    srv.start()
    wrk_results: list[Any] = []
    wrk_error: list[BaseException] = []
    slow: list[Any] = []
    sync_sink: list[Any] = []
    try:
        resp = post_import(srv.url, base_data, "term-base.csv", key="term-base-0001")
        assert resp.status_code == 201, resp.text
        for load in route_mix(knobs.connections):  # warm every path once
            for path in load.paths:
                assert requests.get(srv.url + path, timeout=30).status_code == 200, path

        # A large file: 202 at once, then stored by a background thread of one worker.
        job_started = time.monotonic()
        big = post_import(srv.url, big_data, "term-big.csv", key="term-big-0001", timeout=120)
        assert big.status_code == 202, big.text
        location = big.headers["Location"]
        # "running" is written when its thread starts; on SQLite only that worker knows
        # the row count (and it accepts few connections while importing), so do not wait
        # for rows: the import has all of its file still to store.
        wait_until(
            lambda: import_job(srv.url, location)["status"] == "running",
            60,
            "the background import to start",
            0.02,
        )
        # Requests held inside the server by the fault switch: slow reads and an import.
        # Sent before the load starts, so that they reach the server at once whatever
        # the number of connections; held long enough to be in flight at the signal.
        set_faults(srv.url, latency_ms=latency_ms, paths="^/api/(accounts|imports)$")
        threads = [_slow_get(srv.url + "/api/accounts", slow) for _ in range(slow_n)]
        threads.append(
            _post_import_thread(srv.url, sync_data, "term-sync.csv", "term-sync-0001", sync_sink)
        )
        wait_matched(srv.url, slow_n + 1)

        def run_load() -> None:
            try:
                wrk_results.extend(
                    run_wrk_mix(srv.url, route_mix(knobs.connections), duration, workdir)
                )
            except BaseException as exc:  # reported below
                wrk_error.append(exc)

        wrk = threading.Thread(target=run_load, daemon=True)
        wrk.start()
        load_started = time.monotonic()
        started_at = load_started - job_started
        time.sleep(min(3.0, duration / 4))  # the load runs a while before the signal
        # Read straight from the database: an HTTP request would queue behind the load.
        job_at_signal = _job_status(data_dir, db_url, location.rsplit("/", 1)[-1])
        wrk_running = wrk.is_alive()
        signalled = time.monotonic()
        srv.signal(signal.SIGTERM)
        # Each worker lets go of the listener at its next loop turn (<= 1 s): from then
        # on, while the held requests are still being served, a new client is refused.
        fates = []
        while time.monotonic() - signalled < 4 and "refused" not in fates:
            fates.append(_new_connection_fate(srv.url))
        probe = fates[-1]
        code = srv.wait(graceful + 15)
        exit_seconds = time.monotonic() - signalled
        for t in threads:
            t.join(30)
        wrk.join(duration + 120)
        load_seconds = signalled - load_started
    finally:
        srv.stop()
    logs = srv.log_path.read_text(errors="replace")

    # After a restart on the same database: what was stored?
    with ServerProcess(data_dir, env=env) as after:
        execs = {
            name: total_executions(after.url, account=name)
            for name in ("termbase", "termsync", "termbig")
        }
        trips = {
            name: _trades_total(after.url, account=name)
            for name in ("termbase", "termsync", "termbig")
        }
        imports_stored = total_imports(after.url)
        job_after = import_job(after.url, location)

    assert not wrk_error, wrk_error
    in_flight = [*slow, *sync_sink]
    in_flight_ok = sum(
        1 for r in in_flight if isinstance(r, requests.Response) and 200 <= r.status_code < 300
    )
    in_flight_failed = [
        (r.status_code, r.text[:200]) if isinstance(r, requests.Response) else repr(r)
        for r in in_flight
        if not (isinstance(r, requests.Response) and 200 <= r.status_code < 300)
    ]
    wrk_requests = sum(r.requests for r in wrk_results)
    wrk_5xx = sum(r.status_5xx for r in wrk_results)
    wrk_non_2xx = sum(r.non_2xx for r in wrk_results)
    # Once the listener is closed wrk's reconnects are refused; a non-blocking connect
    # reports that as a read/write error, so wrk's socket errors are these refusals.
    # (What was in flight is proven by the held requests above, not by wrk.) A request
    # left hanging would show as a timeout.
    refused = sum(r.raw["connect"] + r.raw["read"] + r.raw["write"] for r in wrk_results)
    hung = sum(r.raw["timeout"] for r in wrk_results)
    expected = {"termbase": base_rows, "termsync": sync_rows, "termbig": big_rows}
    lost = sum(abs(expected[k] - execs[k]) for k in expected) + abs(3 - imports_stored)
    lost += sum(abs(expected[k] // 2 - trips[k]) for k in expected)
    errors = len(in_flight_failed) + wrk_non_2xx + hung + (0 if code == 0 else 1)
    chaos_summary(
        f"sigterm-load-{backend}",
        load=f"{knobs.connections} conns x {duration}s + {slow_n} slow + 2 imports",
        faults=f"SIGTERM arbiter {load_seconds:.1f}s into load",
        requests=wrk_requests + len(in_flight) + 1,
        errors=errors,
        data_lost=lost,
        details={
            "backend": backend,
            "in_flight_at_signal": len(in_flight) + 1,
            "in_flight_2xx": in_flight_ok + (1 if job_after["status"] == "done" else 0),
            "in_flight_failed": in_flight_failed,
            "background_job_at_signal": job_at_signal,
            "background_job_age_at_load_s": round(started_at, 2),
            "background_job_after": job_after["status"],
            "wrk_running_at_signal": wrk_running,
            "wrk_requests": wrk_requests,
            "wrk_5xx": wrk_5xx,
            "wrk_non_2xx": wrk_non_2xx,
            "refused_after_close": refused,
            "wrk_timeouts": hung,
            "new_connection_during_drain": fates,
            "exit_code": code,
            "exit_seconds": round(exit_seconds, 2),
            "executions": execs,
            "notes": [
                f"{in_flight_ok + 1}/{len(in_flight) + 1} in flight at SIGTERM answered 2xx "
                f"(incl. the background import: {job_after['status']}); exit {code} after "
                f"{exit_seconds:.1f}s; {refused:,} connections refused after the listener "
                f"closed (expected, not errors); {hung} wrk timeouts; a new connection during the "
                f"drain: {probe}"
            ],
        },
    )
    assert wrk_running, "the load ended before the signal"
    assert job_at_signal == "running", job_at_signal
    assert not in_flight_failed, in_flight_failed
    assert code == 0, logs[-3000:]
    assert exit_seconds < graceful + 5
    assert wrk_5xx == 0 and wrk_non_2xx == 0, [asdict(r) for r in wrk_results]
    assert hung == 0, [asdict(r) for r in wrk_results]
    assert probe == "refused", probe  # not held in the backlog for the whole drain
    assert job_after["status"] == "done", job_after
    assert execs == expected, execs
    assert trips == {k: v // 2 for k, v in expected.items()}, trips
    assert imports_stored == 3


def test_sigterm_during_load_sqlite(
    tmp_path: Path, data_dir: Path, chaos_knobs: ChaosKnobs, chaos_summary: SummaryRecorder
) -> None:
    _run_sigterm("sqlite", data_dir, None, chaos_knobs, tmp_path, chaos_summary)


@pytest.mark.postgres
def test_sigterm_during_load_postgres(
    tmp_path: Path,
    data_dir: Path,
    chaos_pg_url: str,
    chaos_knobs: ChaosKnobs,
    chaos_summary: SummaryRecorder,
) -> None:
    _run_sigterm("postgresql", data_dir, chaos_pg_url, chaos_knobs, tmp_path, chaos_summary)


# -- 3. a worker killed by the gunicorn timeout ---------------------------------------


class LightLoad(threading.Thread):
    """One request at a time, each on a new connection (so any live worker may take it),
    alternating /api/info and /api/health; `paused()` holds it between two requests."""

    PATHS = ("/api/info", "/api/health")

    def __init__(self, base_url: str) -> None:
        super().__init__(name="light-load", daemon=True)
        self.base_url = base_url
        self.statuses: dict[str, dict[int, int]] = {p: {} for p in self.PATHS}
        self.failures: list[str] = []
        self._gate = threading.Lock()
        self._stop_event = threading.Event()

    def run(self) -> None:
        n = 0
        while not self._stop_event.is_set():
            path = self.PATHS[n % len(self.PATHS)]
            n += 1
            with self._gate:
                try:
                    resp = requests.get(
                        self.base_url + path, headers={"Connection": "close"}, timeout=10
                    )
                    row = self.statuses[path]
                    row[resp.status_code] = row.get(resp.status_code, 0) + 1
                except requests.RequestException as exc:
                    self.failures.append(f"{path}: {exc!r}")
            self._stop_event.wait(0.02)

    def paused(self) -> threading.Lock:
        return self._gate

    def stop(self) -> None:
        self._stop_event.set()
        self.join(30)

    @property
    def total(self) -> int:
        return sum(sum(row.values()) for row in self.statuses.values()) + len(self.failures)


Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(base_url: str) -> tuple[str, Series]:
    text = requests.get(base_url + "/metrics", timeout=10).text
    from prometheus_client.parser import text_string_to_metric_families

    out: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if family.type in ("counter", "histogram"):
                out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return text, out


def _route_count(text: str, route: str) -> float:
    return sum(
        v
        for labels, v in samples(text, "tradestats_http_requests_total")
        if labels["route"] == route
    )


def _gauge(text: str, name: str) -> float:
    return sum(v for _labels, v in samples(text, name))


def test_worker_killed_by_timeout_is_replaced(
    data_dir: Path, chaos_summary: SummaryRecorder
) -> None:
    timeout_s = 2
    with ServerProcess(
        data_dir,
        "--timeout",
        str(timeout_s),
        "--request-deadline",
        "1",
        "--test-faults",
        env={"TRADESTATS_WORKERS": "2", "TRADESTATS_THREADS": "4"},
    ) as srv:
        assert srv.proc is not None
        arbiter = srv.proc.pid
        wait_until(lambda: len(worker_pids(arbiter)) == 2, 30, "two workers")
        before = set(worker_pids(arbiter))
        # Both workers open their DB pool (the pool-size gauge then counts 2 x threads),
        # so a dead worker's gauge still counted afterwards would show.
        threads = 4
        for _ in range(60):
            requests.get(srv.url + "/api/accounts", headers={"Connection": "close"}, timeout=10)
            text0 = requests.get(srv.url + "/metrics", timeout=10).text
            if _gauge(text0, "tradestats_db_pool_size") >= 2 * threads:
                break
        warm_accounts = _route_count(text0, "/api/accounts")
        text0, counters0 = _scrape(srv.url)
        info0 = _route_count(text0, "/api/info")
        in_flight0 = _gauge(text0, "tradestats_http_requests_in_flight")
        pool0 = _gauge(text0, "tradestats_db_pool_size")

        set_faults(srv.url, latency_ms=10_000, paths="^/api/accounts$")
        load = LightLoad(srv.url)
        load.start()
        slow = RawRequest(srv.port, "/api/accounts", timeout=60)
        wait_matched(srv.url, 1)
        victim = pid_serving(srv.port, slow.client_port, sorted(before))
        assert victim is not None, "could not find the worker holding the slow request"
        # A request merely slower than --timeout: a gthread worker keeps its heartbeat.
        time.sleep(timeout_s + 1.5)
        slow_request_killed_worker = victim not in worker_pids(arbiter)
        # Now the worker hangs (as if stuck in C code holding the GIL): no heartbeat.
        with load.paused():
            # A client has its response before the server counts it (the count comes
            # when the response is closed): let the last one be counted first. The only
            # request left in flight is then the held one, besides this scrape.
            wait_until(
                lambda: (
                    _gauge(
                        requests.get(srv.url + "/metrics", timeout=10).text,
                        "tradestats_http_requests_in_flight",
                    )
                    <= in_flight0 + 1
                ),
                10,
                "the light load's last request to be counted",
            )
            os.kill(victim, signal.SIGSTOP)
        hung_at = time.monotonic()
        wait_until(
            lambda: victim not in worker_pids(arbiter) and len(worker_pids(arbiter)) == 2,
            timeout_s * 5 + 20,
            "the hung worker to be killed and replaced",
        )
        replaced_s = time.monotonic() - hung_at
        answer, how = slow.read_all()
        new_workers = set(worker_pids(arbiter)) - before
        # The replacement serves: requests on new connections until one is held by it.
        set_faults(srv.url, latency_ms=300, paths="^/api/accounts$")
        served_by_new = 0
        accounts_ok = 0
        for n in range(1, 21):
            probe = RawRequest(srv.port, "/api/accounts", timeout=30)
            wait_matched(srv.url, n)
            holder = pid_serving(srv.port, probe.client_port, worker_pids(arbiter))
            body, _how = probe.read_all()
            if body.startswith(b"HTTP/1.1 200"):
                accounts_ok += 1
            if holder in new_workers and body.startswith(b"HTTP/1.1 200"):
                served_by_new += 1
                break
        time.sleep(1.0)  # a little more light load on the new pair of workers
        load.stop()
        clear_faults(srv.url)
        text1, counters1 = _scrape(srv.url)
        logs = srv.logs()

    went_back = {
        f"{name}{dict(labels)}": (counters0[(name, labels)], counters1.get((name, labels)))
        for name, labels in counters0
        if counters1.get((name, labels), -1.0) < counters0[(name, labels)]
    }
    info_seen = sum(load.statuses["/api/info"].values())
    info_counted = _route_count(text1, "/api/info") - info0
    accounts_counted = _route_count(text1, "/api/accounts") - warm_accounts
    in_flight1 = _gauge(text1, "tradestats_http_requests_in_flight")
    pool1 = _gauge(text1, "tradestats_db_pool_size")
    five_xx = sum(
        v
        for labels, v in samples(text1, "tradestats_http_requests_total")
        if labels["status"].startswith("5")
    )
    non_2xx = sum(n for row in load.statuses.values() for s, n in row.items() if s >= 300)
    slow_outcome = (
        f"5xx ({answer[:12]!r})"
        if answer.startswith(b"HTTP/1.1 5")
        else "connection closed, no response"
        if not answer
        else f"unexpected {answer[:40]!r}"
    )
    problems = []
    if slow_request_killed_worker:
        problems.append("a merely slow request got its worker killed")
    if not served_by_new:
        problems.append("no request was served by the replacement worker")
    if went_back:
        problems.append(f"counters went backwards: {went_back}")
    if info_counted != info_seen:
        problems.append(f"/api/info counted {info_counted:g}, clients saw {info_seen}")
    if accounts_counted != accounts_ok:
        problems.append(f"/api/accounts counted {accounts_counted:g}, answered {accounts_ok}")
    if in_flight1 != in_flight0:
        problems.append(f"in-flight gauge {in_flight1:g} after, {in_flight0:g} before")
    if pool0 != 2 * threads or pool1 != pool0:
        problems.append(f"pool-size gauge {pool1:g} after, {pool0:g} before (dead worker?)")
    if f"WORKER TIMEOUT (pid:{victim})" not in logs:
        problems.append("no WORKER TIMEOUT line for the hung worker")
    if answer.startswith(b"HTTP/1.1 2"):
        problems.append("the slow request on the killed worker was answered 2xx?")
    chaos_summary(
        "worker-timeout",
        load="1 conn, light (info+health), new conn each",
        faults=f"request held 10 s > --timeout {timeout_s}; worker hung (SIGSTOP)",
        requests=load.total + 1 + n,
        errors=len(load.failures) + non_2xx + int(five_xx) + len(problems),
        data_lost=0,
        details={
            "victim": victim,
            "replacements": sorted(new_workers),
            "replaced_after_s": round(replaced_s, 2),
            "slow_request": slow_outcome,
            "slow_request_end": how,
            "light_load_failures": load.failures[:5],
            "light_load_statuses": {p: dict(r) for p, r in load.statuses.items()},
            "in_flight_gauge": [in_flight0, in_flight1],
            "pool_size_gauge": [pool0, pool1],
            "problems": problems,
            "notes": [
                f"slow request (10 s) outlived --timeout {timeout_s} s on a healthy gthread "
                f"worker: worker kept (heartbeat from its main loop); hung worker {victim} "
                f"killed and replaced after {replaced_s:.1f} s; the slow request on it: "
                f"{slow_outcome}; light load: {load.total} requests, "
                f"{len(load.failures)} failed"
            ],
        },
    )
    assert not problems, problems
    assert not load.failures, load.failures[:5]
    assert non_2xx == 0 and five_xx == 0
    assert not answer, answer[:200]  # the connection closed without a response
