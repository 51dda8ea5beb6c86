"""A scale-out deployment on this machine, for the chaos suite: N ``tradestats serve``
and M ``tradestats worker`` processes sharing one PostgreSQL database and one Redis
database, with market data from a ``FakeUpstream``.

Redis isolation: the dashboard's Redis keys (``tradestats:*``) and its RQ queue
(``tradestats-scans``) have fixed names, so a scale-out test takes a whole spare Redis
database (``SCALE_OUT_REDIS_URL``, default db 13 of the machine's Redis; override with
``TRADESTATS_TEST_SCALE_OUT_REDIS_URL``). It claims the database with a lock key (two
runs at once fail fast instead of stealing each other's jobs), empties it before the
cluster starts and after it stops.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from support.fake_upstream import FakeUpstream, RequestRecord
from support.servers import ServerProcess

SCALE_OUT_REDIS_URL = os.environ.get(
    "TRADESTATS_TEST_SCALE_OUT_REDIS_URL", "redis://127.0.0.1:6379/13"
)
_LOCK_KEY = "tradestats-test:scale-out:lock"
YAHOO_ROUTES = ("quote", "chart", "options")  # the yahoo client's rate-limited calls


@contextmanager
def claimed_redis_db(url: str = SCALE_OUT_REDIS_URL, ttl: int = 600) -> Iterator[Any]:
    """A client of the spare Redis database ``url``, emptied and locked for this test;
    skips when Redis is unreachable (fails when ``CI`` is set)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {url} (CI must start it): {exc}")
        pytest.skip(f"Redis not reachable at {url}")
    token = uuid.uuid4().hex
    if not client.set(_LOCK_KEY, token, nx=True, ex=ttl):
        pytest.fail(
            f"Redis database {url} is in use by another scale-out run (key {_LOCK_KEY}); "
            "set TRADESTATS_TEST_SCALE_OUT_REDIS_URL to a free database"
        )
    try:
        _empty_except_lock(client)
        yield client
    finally:
        _empty_except_lock(client)
        if client.get(_LOCK_KEY) == token.encode():
            client.delete(_LOCK_KEY)
        client.close()


def _empty_except_lock(client: Any) -> None:
    keys = [k for k in client.scan_iter(count=1000) if k != _LOCK_KEY.encode()]
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux ``/proc``)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields_after_name = text.rsplit(")", 1)[1].split()
        if int(fields_after_name[1]) == pid:
            out.append(int(stat.parent.name))
    return out


class WorkerProcess:
    """``tradestats worker`` (the real CLI) in its own session. ``kill_all`` SIGKILLs the
    worker and its work horse (the forked process running the job, which RQ puts in a
    process group of its own), as a lost host or container would."""

    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TRADESTATS_", "DATABASE_URL"))
        }
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> WorkerProcess:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradestats.cli", "worker"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill_horse(self) -> list[int]:
        """SIGKILL only the work horse (as the OOM killer would); returns its pid(s)."""
        assert self.proc is not None
        horses = child_pids(self.proc.pid)
        for pid in horses:
            os.kill(pid, signal.SIGKILL)
        return horses

    def kill_all(self) -> list[int]:
        """SIGKILL the worker, then its children (the work horse); returns their pids.
        The worker goes first so it cannot notice its horse's death and fail the job
        itself: the job is left to the other workers' clean-up, as after a host loss."""
        assert self.proc is not None
        horses = child_pids(self.proc.pid)
        os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in horses:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        return horses

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # warm shutdown: exits 0 when idle
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:  # still busy with a scan: cut it short
                self.kill_all()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def upstream_env(up: FakeUpstream, *, rate: float, burst: int) -> dict[str, str]:
    """Settings pointing the yahoo provider at ``up`` with an upstream rate limit."""
    return {
        "TRADESTATS_MARKET_DATA": "yahoo",
        "TRADESTATS_YAHOO_URL": up.url,
        "TRADESTATS_YAHOO_COOKIE_URL": up.cookie_url,
        "TRADESTATS_NASDAQ_URL": up.url,
        "TRADESTATS_UPSTREAM_RATE": f"{rate:g}",
        "TRADESTATS_UPSTREAM_BURST": str(burst),
    }


@dataclass
class Cluster:
    """Two (or more) servers and workers; ``servers[i].url`` and ``workers[i].pid``."""

    servers: list[ServerProcess]
    workers: list[WorkerProcess]
    redis: Any
    started_at: float = field(default_factory=time.monotonic)

    def worker_index_by_name(self) -> dict[str, int]:
        """RQ worker name -> index in ``workers`` (matched by pid)."""
        from rq import Worker

        by_pid = {w.pid: i for i, w in enumerate(self.workers) if w.proc is not None}
        return {w.name: by_pid[w.pid] for w in Worker.all(connection=self.redis) if w.pid in by_pid}

    def wait_workers_registered(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.worker_index_by_name()) == len(self.workers):
                return
            time.sleep(0.1)
        logs = "\n".join(w.logs() for w in self.workers)
        raise AssertionError(f"workers did not register within {timeout}s:\n{logs}")

    def logs(self) -> str:
        parts = [f"--- server {s.port}\n{s.logs()}" for s in self.servers]
        parts += [f"--- worker {i}\n{w.logs()}" for i, w in enumerate(self.workers)]
        return "\n".join(parts)


@contextmanager
def scale_out_cluster(
    data_dir: Path,
    *,
    pg_url: str,
    redis_client: Any,
    env: dict[str, str],
    servers: int = 2,
    workers: int = 2,
    server_env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """Start ``servers`` x ``tradestats serve`` (DATABASE_URL + REDIS_URL) and
    ``workers`` x ``tradestats worker`` (REDIS_URL) with ``env``; stop them after."""
    redis_url = redis_client.connection_pool.connection_kwargs
    url = f"redis://{redis_url['host']}:{redis_url['port']}/{redis_url.get('db', 0)}"
    common = {"REDIS_URL": url, "TRADESTATS_DATA_DIR": str(data_dir), **env}
    srv = [
        ServerProcess(
            data_dir,
            env={
                **common,
                "DATABASE_URL": pg_url,
                "TRADESTATS_GRACEFUL_TIMEOUT": "3",
                **(server_env or {}),
            },
        )
        for _ in range(servers)
    ]
    wrk = [WorkerProcess(data_dir / f"worker-{i}.log", common) for i in range(workers)]
    cluster = Cluster(srv, wrk, redis_client)
    try:
        for w in wrk:
            w.start()
        for s in srv:
            s.start(wait=False)
        for s in srv:
            s.wait_ready(60)
        cluster.wait_workers_registered()
        cluster.started_at = time.monotonic()
        yield cluster
    finally:
        for s in srv:
            if s.proc is not None:
                s.proc.send_signal(signal.SIGTERM)
        for w in wrk:
            w.stop()
        for s in srv:
            s.stop()


# -- market data and measurements ------------------------------------------------------


def synthetic_calendar(up: FakeUpstream, day: dt.date, tickers: Iterable[str]) -> list[str]:
    """Make ``up`` answer Nasdaq's earnings calendar of ``day`` with ``tickers`` (every
    symbol the fake knows quotes, bars and options for); returns the tickers."""
    symbols = list(tickers)
    rows = [
        {
            "lastYearRptDt": "N/A",
            "lastYearEPS": "N/A",
            "time": "time-after-hours",
            "symbol": s,
            "name": f"{s} Example Corp.",
            "marketCap": "$1,000,000,000",
            "fiscalQuarterEnding": "Dec/2025",
            "epsForecast": "$1.00",
            "noOfEsts": "3",
        }
        for s in symbols
    ]
    body = {
        "data": {"asOf": day.strftime("%a, %b %d, %Y"), "headers": {}, "rows": rows},
        "message": None,
        "status": {"rCode": 200, "bCodeMessage": None, "developerMessage": None},
    }
    up.override("earnings", day.isoformat(), json.dumps(body))
    return symbols


def weekdays_from(start: dt.date, n: int) -> list[dt.date]:
    out: list[dt.date] = []
    day = start
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@dataclass(frozen=True)
class RateFigures:
    """Calls that reached the upstream: total, span, mean rate, and the most calls seen
    in any window of ``window`` seconds."""

    calls: int
    span: float
    mean_rate: float
    window: float
    max_in_window: int

    def as_dict(self) -> dict[str, float]:
        return {
            "calls": self.calls,
            "span_s": round(self.span, 2),
            "mean_per_s": round(self.mean_rate, 2),
            "window_s": self.window,
            "max_in_window": self.max_in_window,
        }


def rate_figures(
    records: Iterable[RequestRecord], routes: Iterable[str], window: float = 1.0
) -> RateFigures:
    wanted = set(routes)
    times = sorted(r.at for r in records if r.route in wanted)
    if not times:
        return RateFigures(0, 0.0, 0.0, window, 0)
    span = times[-1] - times[0]
    best = 0
    j = 0
    for i, t in enumerate(times):  # sliding window [t, t + window)
        while j < len(times) and times[j] < t + window:
            j += 1
        best = max(best, j - i)
    mean = (len(times) - 1) / span if span > 0 else float(len(times))
    return RateFigures(len(times), span, mean, window, best)


def get_json(url: str, timeout: float = 10.0) -> Any:
    resp = requests.get(url, timeout=timeout)
    resp.raise_for_status()
    return resp.json()
