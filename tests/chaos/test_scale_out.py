"""Item 6 — scale-out: two ``tradestats serve`` instances and two ``tradestats worker``
processes sharing one fresh PostgreSQL database and one Redis database (a spare db of the
machine's Redis, see ``support.scale_out``), market data from a ``FakeUpstream`` over
real sockets.

- **scans**: scans submitted to either server are run by both workers; a scan's
  progress is read from the *other* server (``GET /api/scans/{id}`` and its SSE stream).
- **killed worker**: mid-scan, first a work horse alone, then a whole worker (with its
  horse) is SIGKILLed; RQ retries the job (the second time through the survivor's
  registry clean-up), and it finishes ``done`` with every ticker recorded once.
- **shared breaker**: a storm of upstream errors through server 1 opens the yahoo
  breaker; server 2 reports it open in ``/api/ready`` and refuses without calling out.
- **global rate limit**: both servers and both workers saturate the upstream; the calls
  the fake upstream receives stay within one token bucket (rate, burst) — not four.

Each scenario starts its own cluster on its own database and records one summary row.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chaos.conftest import ChaosKnobs, SummaryRecorder
from support.fake_upstream import FakeUpstream
from support.scale_out import (
    YAHOO_ROUTES,
    Cluster,
    claimed_redis_db,
    get_json,
    rate_figures,
    scale_out_cluster,
    synthetic_calendar,
    upstream_env,
    weekdays_from,
)
from support.scans import SseReader
from tradestats.jobs.runner import SCAN_RETRIES
from tradestats.market.service import market_day
from tradestats.resilience.clock import SystemClock

pytestmark = [pytest.mark.chaos, pytest.mark.redis]

OPEN_FILTERS = {"min_price": 0, "min_avg_volume": 0}
TERMINAL = ("done", "failed", "cancelled")


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(seed=11, today=market_day(SystemClock())) as up:
        yield up


@pytest.fixture
def redis_db() -> Iterator[Any]:
    with claimed_redis_db() as client:
        yield client


def submit(url: str, day: dt.date, **extra: Any) -> str:
    resp = requests.post(
        url + "/api/scans",
        json={"date": day.isoformat(), "filters": {**OPEN_FILTERS, **extra}},
        timeout=10,
    )
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def scan(url: str, job: str) -> dict[str, Any]:
    body: dict[str, Any] = get_json(f"{url}/api/scans/{job}")
    return body


def wait_terminal(cluster: Cluster, url: str, job: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = scan(url, job)
        if body["status"] in TERMINAL:
            return body
        time.sleep(0.2)
    raise AssertionError(f"scan {job} not finished within {timeout}s\n{cluster.logs()[-6000:]}")


def outcome_tickers(body: dict[str, Any]) -> list[str]:
    return [o["ticker"] for o in body["results"]] + [o["ticker"] for o in body["skipped"]]


def rq_worker_of(cluster: Cluster, job: str) -> str | None:
    from rq.job import Job

    name = Job.fetch(f"scan-{job}", connection=cluster.redis).worker_name
    return str(name) if name else None


def read_events(port: int, path: str) -> list[dict[str, str]]:
    reader = SseReader(port, path)
    assert reader.status == 200
    events = []
    try:
        while (event := reader.next_event()) is not None:
            events.append(event)
    finally:
        reader.close()
    return events


# -- 1. scans across servers and workers ---------------------------------------------


def test_scans_from_either_server_run_on_both_workers_progress_seen_from_the_other(
    data_dir: Path,
    chaos_pg_url: str,
    redis_db: Any,
    upstream: FakeUpstream,
    chaos_summary: SummaryRecorder,
) -> None:
    scans, per_scan = 6, 6
    days = weekdays_from(dt.date.today() + dt.timedelta(days=1), scans)
    for i, day in enumerate(days):
        synthetic_calendar(upstream, day, [f"S{i}T{k}" for k in range(per_scan)])
    upstream.faults.configure(latency=0.03)  # a scan takes a few seconds
    env = upstream_env(upstream, rate=200, burst=50)
    with scale_out_cluster(data_dir, pg_url=chaos_pg_url, redis_client=redis_db, env=env) as c:
        jobs: list[tuple[str, int]] = []  # (job id, index of the server it went to)
        for i, day in enumerate(days):
            jobs.append((submit(c.servers[i % 2].url, day), i % 2))

        # The first scan, followed from the other server: its SSE stream and its state.
        first, via = jobs[0]
        other = c.servers[1 - via]
        seen_running: list[dict[str, Any]] = []

        def poll() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                body = scan(other.url, first)
                if body["status"] == "running" and 0 < body["progress"].get("done", 0):
                    seen_running.append(body["progress"])
                if body["status"] in TERMINAL:
                    return
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        events = read_events(other.port, f"/api/scans/{first}/events")
        poller.join(60)

        finals = {job: wait_terminal(c, c.servers[1 - s].url, job, 60) for job, s in jobs}
        names = c.worker_index_by_name()
        split = Counter(names.get(rq_worker_of(c, job) or "", -1) for job, _ in jobs)

    errors = 0
    lost = 0
    for (job, _), day in zip(jobs, days, strict=True):
        body = finals[job]
        p = body["progress"]
        tickers = outcome_tickers(body)
        expected = {f"S{days.index(day)}T{k}" for k in range(per_scan)}
        if body["status"] != "done" or p["errors"]:
            errors += 1
        lost += len(expected - set(tickers)) + (len(tickers) - len(set(tickers)))
    progress_events = [e for e in events if e.get("event") not in ("done",)]
    chaos_summary(
        "scale-out-scans",
        load=f"{scans} scans x {per_scan} tickers, alternately to 2 servers",
        faults="none (2 serve + 2 worker processes, PostgreSQL + Redis)",
        requests=scans,
        errors=errors,
        data_lost=lost,
        details={
            "per_worker_jobs": {f"worker-{k}": n for k, n in sorted(split.items())},
            "sse_events_from_other_server": len(events),
            "running_snapshots_from_other_server": len(seen_running),
            "notes": [
                f"jobs per worker: {dict(sorted(split.items()))}; first scan followed on the "
                f"other server: {len(events)} SSE events, {len(seen_running)} running "
                "snapshots with partial progress"
            ],
        },
    )
    assert errors == 0 and lost == 0, finals
    assert set(split) == {0, 1}, f"both workers must take jobs: {split}"
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["event"] == "done"
    assert len(progress_events) >= per_scan, events
    assert seen_running, "the other server never showed the scan running with progress"


# -- 2. a worker killed mid-scan --------------------------------------------------------


def wait_partway(cluster: Cluster, url: str, job: str, tickers: int) -> None:
    """Until ``url`` shows scan ``job`` running with 2..tickers/2 tickers recorded."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = scan(url, job)
        if body["status"] == "running" and 2 <= body["progress"].get("done", 0) < tickers // 2:
            return
        time.sleep(0.05)
    raise AssertionError(f"scan {job} never ran partway\n{cluster.logs()[-4000:]}")


def follow_retry(
    cluster: Cluster, url: str, job: str, killed: float, timeout: float
) -> tuple[dict[str, Any], int, float | None, float]:
    """Poll scan ``job`` on ``url`` after a kill: (final body, tickers done at the kill,
    seconds until it recorded a ticker again, seconds until it finished)."""
    done_at_kill = scan(url, job)["progress"]["done"]  # nothing runs it right now
    resumed = None
    deadline = killed + timeout
    while time.monotonic() < deadline:
        body = scan(url, job)
        if resumed is None and body["progress"].get("done", 0) > done_at_kill:
            resumed = time.monotonic() - killed
        if body["status"] in TERMINAL:
            return body, done_at_kill, resumed, time.monotonic() - killed
        time.sleep(0.1)
    raise AssertionError(f"scan {job} not finished {timeout}s after the kill\n{cluster.logs()}")


def seconds_since(when: dt.datetime | None, wall: float) -> float | None:
    """``when`` (RQ's UTC datetime, maybe naive) minus the wall-clock time ``wall``."""
    if when is None:
        return None
    aware = when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)
    return round(aware.timestamp() - wall, 1)


def test_killed_worker_scan_is_retried_by_the_other_worker_without_duplicates(
    data_dir: Path,
    chaos_pg_url: str,
    redis_db: Any,
    upstream: FakeUpstream,
    chaos_summary: SummaryRecorder,
) -> None:
    """Two kills, one scan each: (1) only the work horse (what the OOM killer picks): the
    worker sees it die and RQ retries the job at once; (2) the worker and its horse (a
    lost host or container): the job is abandoned, the survivor's registry clean-up
    requeues it after the heartbeat grace, and the survivor runs it."""
    from rq.job import Job

    tickers = 24
    days = weekdays_from(dt.date.today() + dt.timedelta(days=1), 2)
    for i, day in enumerate(days):
        synthetic_calendar(upstream, day, [f"K{i}T{k}" for k in range(tickers)])
    upstream.faults.configure(latency=0.1)
    env = upstream_env(upstream, rate=200, burst=50)
    phases: list[dict[str, Any]] = []
    finals: list[dict[str, Any]] = []
    with scale_out_cluster(data_dir, pg_url=chaos_pg_url, redis_client=redis_db, env=env) as c:
        names = c.worker_index_by_name()
        for phase, day in enumerate(days):
            via, other = c.servers[phase], c.servers[1 - phase]
            job = submit(via.url, day)
            wait_partway(c, other.url, job, tickers)
            victim_name = rq_worker_of(c, job)
            assert victim_name in names, (victim_name, names)
            victim = names[victim_name]
            worker = c.workers[victim]
            if phase == 0:
                horses = worker.kill_horse()
                what = "work horse"
            else:
                horses = worker.kill_all()
                what = "worker + work horse"
            killed, killed_wall = time.monotonic(), time.time()
            assert horses, "the victim had no work horse to kill"
            final, done_at_kill, resumed, finished = follow_retry(c, other.url, job, killed, 90)
            rq_job = Job.fetch(f"scan-{job}", connection=c.redis)
            events = read_events(via.port, f"/api/scans/{job}/events")
            got = outcome_tickers(final)
            finals.append(final)
            phases.append(
                {
                    "killed": what,
                    "victim": victim,
                    "killed_at": f"{done_at_kill}/{tickers}",
                    "retried_by": names.get(str(rq_job.worker_name), -1),
                    # RQ's pickup of the retry, and the first ticker it recorded.
                    "picked_up_after_s": seconds_since(rq_job.started_at, killed_wall),
                    "resumed_after_s": None if resumed is None else round(resumed, 1),
                    "finished_after_s": round(finished, 1),
                    "rq_retries_left": rq_job.retries_left,
                    "status": final["status"],
                    "done": final["progress"]["done"],
                    "duplicates": len(got) - len(set(got)),
                    "missing": len({f"K{phase}T{k}" for k in range(tickers)} - set(got)),
                    "event_ids_contiguous": [int(e["id"]) for e in events]
                    == list(range(1, len(events) + 1)),
                    "last_event": events[-1].get("event") if events else None,
                }
            )

    errors = sum(int(p["status"] != "done") for p in phases) + sum(
        int(f["progress"]["errors"]) for f in finals
    )
    lost = sum(p["duplicates"] + p["missing"] for p in phases)
    chaos_summary(
        "scale-out-killed-worker",
        load=f"2 scans x {tickers} tickers",
        faults="SIGKILL mid-scan: a work horse; then a worker + its horse",
        requests=2,
        errors=errors,
        data_lost=lost,
        details={
            "phases": phases,
            "notes": [
                f"{p['killed']} of worker-{p['victim']} killed at {p['killed_at']}: picked up "
                f"by worker-{p['retried_by']} after {p['picked_up_after_s']} s, next ticker "
                f"recorded after {p['resumed_after_s']} s, done "
                f"{p['finished_after_s']} s after the kill; {p['duplicates']} duplicate, "
                f"{p['missing']} missing outcomes"
                for p in phases
            ],
        },
    )
    for p in phases:
        assert p["status"] == "done" and p["done"] == tickers, p
        assert p["duplicates"] == 0 and p["missing"] == 0, p
        assert p["event_ids_contiguous"] and p["last_event"] == "done", p
        assert p["rq_retries_left"] == SCAN_RETRIES - 1, p  # RQ's retry, not a new job
    # The second kill took the whole worker: only the survivor can have resumed it.
    assert phases[1]["retried_by"] == 1 - phases[1]["victim"], phases[1]


# -- 3. a breaker opened through one server is open on the other -------------------------


def yahoo_breaker(url: str) -> tuple[str, str]:
    """(overall readiness status, the yahoo breaker's state) as ``url`` reports them."""
    body = get_json(url + "/api/ready")
    checks = body["checks"]["upstream:circuitBreaker"]
    yahoo = next(c for c in checks if c["componentId"] == "yahoo")
    return str(body["status"]), str(yahoo["observedValue"])


def test_breaker_opened_through_one_server_is_open_on_the_other(
    data_dir: Path,
    chaos_pg_url: str,
    redis_db: Any,
    upstream: FakeUpstream,
    chaos_summary: SummaryRecorder,
) -> None:
    day = weekdays_from(dt.date.today() + dt.timedelta(days=1), 1)[0]
    synthetic_calendar(upstream, day, [f"B{k}" for k in range(6)])
    env = {
        **upstream_env(upstream, rate=200, burst=50),
        "TRADESTATS_REQUEST_DEADLINE": "5",
        "TRADESTATS_TIMEOUT": "30",
    }
    statuses: Counter[int] = Counter()
    with scale_out_cluster(data_dir, pg_url=chaos_pg_url, redis_client=redis_db, env=env) as c:
        a, b = c.servers
        assert yahoo_breaker(a.url) == ("pass", "closed")
        assert yahoo_breaker(b.url) == ("pass", "closed")

        # The storm: every Yahoo call fails; only server A is asked.
        upstream.faults.configure(error_rate=1.0, scope=YAHOO_ROUTES)
        storm = 0
        while yahoo_breaker(a.url)[1] != "open":
            assert storm < 40, f"breaker still closed after {storm} failing requests"
            resp = requests.get(f"{a.url}/api/options/E{storm}X/analysis", timeout=30)
            statuses[resp.status_code] += 1
            storm += 1
        storm_calls = upstream.count()

        # Server B: never asked during the storm, reports the breaker open...
        ready_b = yahoo_breaker(b.url)
        # ...and refuses at once, without calling the upstream.
        started = time.monotonic()
        refused = requests.get(f"{b.url}/api/options/NEWB/analysis", timeout=30)
        refused_s = time.monotonic() - started
        statuses[refused.status_code] += 1
        calls_after_b = upstream.count() - storm_calls
        routes_after_b = [r.route for r in upstream.records()[storm_calls:]]

        # A worker reads the same breaker: a scan's tickers are refused without calls.
        job = submit(b.url, day)
        final = wait_terminal(c, a.url, job, 60)
        yahoo_calls_by_scan = sum(upstream.count(route) for route in YAHOO_ROUTES) - sum(
            1 for r in upstream.records()[:storm_calls] if r.route in YAHOO_ROUTES
        )

        # The upstream heals; once the open period is over, server B's requests probe it
        # and close the breaker, and server A sees it closed.
        upstream.faults.clear()
        time.sleep(float(refused.headers.get("Retry-After", "15")) + 0.5)
        healed = [
            requests.get(f"{b.url}/api/options/{t}/analysis", timeout=30).status_code
            for t in ("H1X", "H2X", "H3X")
        ]
        ready_a_after = yahoo_breaker(a.url)

    errors = (
        int(ready_b[1] != "open")
        + int(refused.status_code != 503)
        + calls_after_b
        + sum(1 for code in healed if code != 200)
    )
    chaos_summary(
        "scale-out-shared-breaker",
        load=f"{storm} analysis requests to server 1, then 1 to server 2 + 1 scan",
        faults="upstream: 100% Yahoo errors",
        requests=storm + 5,
        errors=errors,
        data_lost=0,
        details={
            "storm_requests_to_open": storm,
            "upstream_calls_during_storm": storm_calls,
            "server2_ready": list(ready_b),
            "server2_refusal": {
                "status": refused.status_code,
                "retry_after": refused.headers.get("Retry-After"),
                "seconds": round(refused_s, 3),
                "upstream_calls": calls_after_b,
                "upstream_routes": routes_after_b,
            },
            "scan_via_server2": {
                "status": final["status"],
                "progress": final["progress"],
                "yahoo_calls": yahoo_calls_by_scan,
            },
            "after_heal": {"server2_statuses": healed, "server1_ready": list(ready_a_after)},
            "notes": [
                f"breaker opened after {storm} requests ({storm_calls} upstream calls) "
                f"through server 1; server 2 /api/ready = {ready_b[0]} (yahoo {ready_b[1]}), "
                f"its request answered {refused.status_code} (Retry-After "
                f"{refused.headers.get('Retry-After')}) in {refused_s * 1000:.0f} ms with "
                f"{calls_after_b} upstream calls; a scan via server 2 made "
                f"{yahoo_calls_by_scan} Yahoo calls; healed: server 2 probes {healed} closed "
                f"it, server 1 /api/ready = {ready_a_after[0]} (yahoo {ready_a_after[1]})"
            ],
        },
    )
    assert ready_b == ("warn", "open")
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    assert calls_after_b == 0, routes_after_b
    assert final["status"] == "done" and final["progress"]["errors"] == 6, final
    assert yahoo_calls_by_scan == 0
    assert healed == [200, 200, 200]
    assert ready_a_after == ("pass", "closed")


# -- 4. the upstream rate limit is global ------------------------------------------------


RATE, BURST = 20.0, 5


def test_upstream_rate_limit_holds_across_both_servers_and_both_workers(
    data_dir: Path,
    chaos_pg_url: str,
    redis_db: Any,
    upstream: FakeUpstream,
    chaos_knobs: ChaosKnobs,
    chaos_summary: SummaryRecorder,
) -> None:
    duration = min(max(chaos_knobs.duration, 10), 20)  # CI: 20 s
    days = weekdays_from(dt.date.today() + dt.timedelta(days=1), 2)
    for i, day in enumerate(days):
        synthetic_calendar(upstream, day, [f"R{i}T{k}" for k in range(30)])
    env = {
        **upstream_env(upstream, rate=RATE, burst=BURST),
        "TRADESTATS_REQUEST_DEADLINE": "5",
        "TRADESTATS_TIMEOUT": "30",
    }
    statuses: Counter[tuple[int, int]] = Counter()  # (server index, status)
    bad: list[str] = []
    lock = threading.Lock()
    with scale_out_cluster(data_dir, pg_url=chaos_pg_url, redis_client=redis_db, env=env) as c:
        upstream.reset_counts()
        jobs = [submit(c.servers[i].url, day) for i, day in enumerate(days)]
        stop = threading.Event()

        def client(server: int, n: int) -> None:
            k = 0
            while not stop.is_set():
                url = f"{c.servers[server].url}/api/options/L{server}C{n}N{k}/analysis"
                k += 1
                try:
                    resp = requests.get(url, timeout=30)
                except requests.RequestException as exc:
                    with lock:
                        bad.append(f"{url}: {exc}")
                    continue
                with lock:
                    statuses[(server, resp.status_code)] += 1
                    if resp.status_code not in (200, 503) or (
                        resp.status_code == 503 and "Retry-After" not in resp.headers
                    ):
                        bad.append(f"{url}: {resp.status_code} {resp.text[:200]}")

        threads = [threading.Thread(target=client, args=(s, n)) for s in (0, 1) for n in range(4)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(duration)
        stop.set()
        for t in threads:
            t.join(40)
        ended = time.monotonic()
        server_errors = [
            line[:2000]
            for s in c.servers
            for line in s.logs().splitlines()
            if '"level":"error"' in line or '"level": "error"' in line
        ]
        names = c.worker_index_by_name()
        scan_workers = [names.get(rq_worker_of(c, job) or "", -1) for job in jobs]
        for i, job in enumerate(jobs):  # cancelled through the other server
            resp = requests.delete(f"{c.servers[1 - i].url}/api/scans/{job}", timeout=10)
            assert resp.status_code in (200, 202), resp.text
        finals = [wait_terminal(c, c.servers[0].url, job, 60) for job in jobs]
        progress = [f["progress"] for f in finals]
        error_reasons = [
            o["reason"] for f in finals for o in f["skipped"] if o["outcome"] == "error"
        ]

    records = [r for r in upstream.records() if started <= r.at <= ended]
    # Who made each Yahoo call, from its ticker: L<server>... (API), R<scan>... (worker).
    callers: Counter[str] = Counter()
    for r in records:
        if r.route in YAHOO_ROUTES and r.key[:1] in ("L", "R") and r.key[1:2].isdigit():
            n = int(r.key[1])
            callers[f"server-{n}" if r.key[0] == "L" else f"worker-{scan_workers[n]}"] += 1
    yahoo = rate_figures(records, YAHOO_ROUTES, window=1.0)
    yahoo5 = rate_figures(records, YAHOO_ROUTES, window=5.0)
    # A token bucket lets at most burst + rate x T calls through in any T seconds; the
    # fake upstream stamps arrivals, so allow a little network/scheduling jitter.
    limit_1s = BURST + RATE * 1.0
    limit_5s = BURST + RATE * 5.0
    over = max(0, yahoo.max_in_window - int(limit_1s * 1.2 + 1)) + max(
        0, yahoo5.max_in_window - int(limit_5s * 1.1 + 1)
    )
    api = sum(statuses.values())
    per_server = {
        f"server-{s}": {str(code): n for (srv, code), n in sorted(statuses.items()) if srv == s}
        for s in (0, 1)
    }
    chaos_summary(
        "scale-out-rate-limit",
        load=f"8 clients on 2 servers + 2 scans on 2 workers, {duration} s",
        faults=f"upstream limit {RATE:g}/s burst {BURST} (shared bucket)",
        requests=api,
        errors=len(bad) + over,
        data_lost=0,
        details={
            "configured": {"rate": RATE, "burst": BURST},
            "yahoo_1s": yahoo.as_dict(),
            "yahoo_5s": yahoo5.as_dict(),
            "api_statuses": per_server,
            "scan_progress": progress,
            "scan_workers": scan_workers,
            "yahoo_calls_by_process": dict(sorted(callers.items())),
            "bad": bad[:10],
            "server_errors": server_errors[:5],
            "notes": [
                f"Yahoo calls at the upstream: {yahoo.calls} in {yahoo.span:.1f} s = "
                f"{yahoo.mean_rate:.1f}/s (limit {RATE:g}/s), at most {yahoo.max_in_window} in "
                f"any 1 s (bound {limit_1s:g}) and {yahoo5.max_in_window} in any 5 s "
                f"(bound {limit_5s:g}); calls by process {dict(sorted(callers.items()))}; API "
                f"answers per server {per_server}; scans (cancelled at the end): "
                f"{[(p.get('done'), p.get('errors')) for p in progress]} (done, errors); "
                f"first scan errors: {error_reasons[:2]}"
            ],
        },
    )
    assert not bad, (bad[:10], server_errors[:5])
    assert sorted(scan_workers) == [0, 1], "each worker should run one of the scans"
    # Several processes drew on the one bucket at once (usually all four; the bucket is
    # first come, first served, so a process can lose every race for a while).
    assert len(callers) >= 3, callers
    # Each server answered (200, or 503 + Retry-After when no token came in its deadline).
    assert all(any(srv == s for srv, _ in statuses) for s in (0, 1)), statuses
    # Demand from four processes far exceeded one bucket, so the limiter was binding...
    assert yahoo.mean_rate >= 0.6 * RATE, yahoo
    # ...and yet the upstream saw one bucket's worth, not four.
    assert yahoo.max_in_window <= limit_1s * 1.2 + 1, yahoo
    assert yahoo5.max_in_window <= limit_5s * 1.1 + 1, yahoo5
    assert yahoo.calls <= BURST + RATE * yahoo.span * 1.1 + 2, yahoo
