"""Building blocks of the chaos scenarios: generated fills, wrk with a per-route Lua
script, a background importer, and peak-RSS readings of a server's processes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from support.servers import ServerProcess

CSV_HEADER = "datetime,symbol,side,quantity,price,fees,account,execution id"


def fills_csv(
    tag: str,
    round_trips: int,
    *,
    symbols: int = 20,
    start: datetime | None = None,
    account: str = "default",
) -> tuple[bytes, int]:
    """A generic-format CSV of balanced round trips whose execution ids all start with
    `tag` (so files with different tags never share a fill); returns (bytes, rows)."""
    when0 = start or datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    seed = sum(tag.encode())
    lines = [CSV_HEADER]
    for i in range(round_trips):
        symbol = f"CH{(i + seed) % symbols}"
        when = when0 + timedelta(minutes=7 * i, seconds=seed % 50)
        price = 20 + ((i * 37 + seed) % 400) / 4
        qty = 1 + (i * 13 + seed) % 300
        exit_price = price * (1 + (((i * 7 + seed) % 21) - 10) / 1000)
        lines.append(f"{when.isoformat()},{symbol},buy,{qty},{price:.4f},1.00,{account},{tag}-{i}a")
        lines.append(
            f"{(when + timedelta(minutes=3)).isoformat()},{symbol},sell,{qty},"
            f"{exit_price:.4f},1.00,{account},{tag}-{i}b"
        )
    return ("\n".join(lines) + "\n").encode(), 2 * round_trips


def post_import(
    base_url: str,
    data: bytes,
    filename: str,
    *,
    key: str | None = None,
    account: str | None = None,
    timeout: float = 60.0,
    **form: str,
) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    fields = dict(form)
    if account is not None:
        fields["account"] = account
    return requests.post(
        base_url + "/api/imports",
        files={"file": (filename, data, "text/csv")},
        data=fields,
        headers=headers,
        timeout=timeout,
    )


def total_executions(base_url: str, **params: str) -> int:
    resp = requests.get(base_url + "/api/executions", params={"limit": "1", **params}, timeout=30)
    resp.raise_for_status()
    return int(resp.json()["total"])


def total_imports(base_url: str) -> int:
    resp = requests.get(base_url + "/api/imports", params={"limit": "1"}, timeout=30)
    resp.raise_for_status()
    return int(resp.json()["total"])


# -- wrk ------------------------------------------------------------------------------

_LUA = """
local paths = {%(paths)s}
local counter = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  s2 = 0; s3 = 0; s4 = 0; s5 = 0
  counter = math.random(#paths) - 1
end

function request()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter])
end

function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1
  elseif status >= 400 then s4 = s4 + 1
  elseif status >= 300 then s3 = s3 + 1
  else s2 = s2 + 1 end
end

function done(summary, latency, requests)
  local c2, c3, c4, c5 = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c2 = c2 + t:get("s2"); c3 = c3 + t:get("s3")
    c4 = c4 + t:get("s4"); c5 = c5 + t:get("s5")
  end
  local e = summary.errors
  io.write(string.format(
    'CHAOS_RESULT {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "timeout": %%d, "non_2xx": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d, "s2": %%d, "s3": %%d, "s4": %%d, "s5": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max, c2, c3, c4, c5))
end
"""


@dataclass(frozen=True)
class RouteLoad:
    """One kind of traffic: a name, the paths its connections cycle through, and how
    many of the scenario's connections it gets."""

    route: str
    paths: tuple[str, ...]
    connections: int


@dataclass
class RouteResult:
    route: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    status_2xx: int
    status_4xx: int
    status_5xx: int
    non_2xx: int
    socket_errors: int
    raw: dict[str, Any] = field(default_factory=dict)


def lua_script(paths: tuple[str, ...]) -> str:
    quoted = ", ".join(json.dumps(p) for p in paths)
    return _LUA % {"paths": quoted}


def run_wrk_mix(
    base_url: str,
    routes: list[RouteLoad],
    duration: int,
    workdir: Path,
    *,
    timeout_s: int = 10,
) -> list[RouteResult]:
    """Run one wrk per route at the same time (their connections add up to the
    scenario's), each cycling through its paths; wrk's own latency histogram gives each
    route's percentiles, the Lua `response` hook counts status classes."""
    procs: list[tuple[RouteLoad, subprocess.Popen[str]]] = []
    for load in routes:
        script = workdir / f"wrk-{load.route}.lua"
        script.write_text(lua_script(load.paths))
        cmd = [
            "wrk",
            "-t1",
            f"-c{load.connections}",
            f"-d{duration}s",
            "--timeout",
            f"{timeout_s}s",
            "-s",
            str(script),
            base_url,
        ]
        procs.append(
            (load, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        )
    results = []
    for load, proc in procs:
        out, err = proc.communicate(timeout=duration + 4 * timeout_s + 30)
        match = re.search(r"^CHAOS_RESULT (\{.*\})$", out, re.M)
        if proc.returncode != 0 or match is None:
            raise RuntimeError(f"wrk for {load.route} failed ({proc.returncode}): {err}\n{out}")
        raw = json.loads(match.group(1))
        seconds = raw["duration_us"] / 1e6
        results.append(
            RouteResult(
                route=load.route,
                connections=load.connections,
                requests=raw["requests"],
                rps=raw["requests"] / seconds if seconds else 0.0,
                p50_ms=raw["p50_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                max_ms=raw["max_us"] / 1000,
                status_2xx=raw["s2"],
                status_4xx=raw["s4"],
                status_5xx=raw["s5"],
                non_2xx=raw["non_2xx"],
                socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
                raw=raw,
            )
        )
    return results


# -- background importer ------------------------------------------------------------


@dataclass
class ImportOutcome:
    key: str
    status: int | None
    rows: int
    imported: int
    seconds: float
    error: str = ""


class PeriodicImporter(threading.Thread):
    """Posts a new small CSV (unique fills, unique Idempotency-Key) every `interval`
    seconds until stopped; records every outcome."""

    def __init__(self, base_url: str, interval: float, round_trips: int = 10) -> None:
        super().__init__(name="chaos-importer", daemon=True)
        self.base_url = base_url
        self.interval = interval
        self.round_trips = round_trips
        self.outcomes: list[ImportOutcome] = []
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        n = 0
        while not self._stop_event.is_set():
            n += 1
            key = f"chaos-{uuid.uuid4().hex}"
            data, rows = fills_csv(
                f"L{n}-{key[-8:]}",
                self.round_trips,
                start=datetime(2024, 6, 3, 14, 30, tzinfo=UTC) + timedelta(days=n),
            )
            started = time.monotonic()
            try:
                resp = post_import(self.base_url, data, f"load-{n}.csv", key=key)
                imported = int(resp.json().get("imported", 0)) if resp.status_code < 300 else 0
                error = "" if resp.status_code == 201 else resp.text[:300]
                outcome = ImportOutcome(
                    key, resp.status_code, rows, imported, time.monotonic() - started, error
                )
            except (requests.RequestException, ValueError) as exc:
                outcome = ImportOutcome(key, None, rows, 0, time.monotonic() - started, repr(exc))
            self.outcomes.append(outcome)
            self._stop_event.wait(self.interval)


# -- memory ---------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            text = (task / "children").read_text().split()
            out += [int(x) for x in text]
    except OSError:
        return []
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc)."""
    seen = [pid]
    i = 0
    while i < len(seen):
        seen += [c for c in _children(seen[i]) if c not in seen]
        i += 1
    return seen


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def peak_rss_kb(pids: list[int]) -> dict[int, int]:
    """High-water mark of resident memory (VmHWM, KiB) of each live process."""
    return {pid: _status_kb(pid, "VmHWM") for pid in pids if os.path.exists(f"/proc/{pid}")}


def current_rss_kb(pids: list[int]) -> dict[int, int]:
    return {pid: _status_kb(pid, "VmRSS") for pid in pids if os.path.exists(f"/proc/{pid}")}


# -- server faults: a killable server, the fault switch, who serves a connection -----


class GroupServer(ServerProcess):
    """A `tradestats serve` in its own session, so that `kill_group` can SIGKILL the
    arbiter and every worker at once (a power cut, an OOM kill of the whole cgroup)."""

    def start(self, wait: bool = True, timeout: float = 60.0) -> GroupServer:
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradestats.cli", "serve", *self.args],
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def kill_group(self) -> None:
        """SIGKILL the whole process group and reap the arbiter."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def stop(self) -> int | None:
        code = super().stop()
        if self.proc is not None:  # no worker may outlive the test
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return code


def set_faults(base_url: str, **rules: Any) -> dict[str, Any]:
    """Start a fault experiment (api/faults.py); returns the state (counters zeroed)."""
    resp = requests.post(base_url + "/api/_test/faults", json=rules, timeout=10)
    resp.raise_for_status()
    state: dict[str, Any] = resp.json()
    return state


def fault_state(base_url: str) -> dict[str, Any]:
    resp = requests.get(base_url + "/api/_test/faults", timeout=10)
    resp.raise_for_status()
    state: dict[str, Any] = resp.json()
    return state


def clear_faults(base_url: str) -> None:
    requests.delete(base_url + "/api/_test/faults", timeout=10).raise_for_status()


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll `predicate()` until true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def wait_matched(base_url: str, count: int, timeout: float = 30.0) -> float:
    """Wait until `count` requests have reached the fault middleware (they are then
    provably inside the server, held by the rule's latency); returns when."""
    return wait_until(
        lambda: int(fault_state(base_url)["counters"]["matched"]) >= count,
        timeout,
        f"{count} request(s) to reach the server's fault middleware",
    )


def worker_pids(arbiter_pid: int) -> list[int]:
    """The gunicorn workers (direct children) of an arbiter."""
    return _children(arbiter_pid)


def _tcp_inode(server_port: int, client_port: int) -> int | None:
    """Inode of the server side of the IPv4 connection 127.0.0.1:client -> :server."""
    want_local = f"0100007F:{server_port:04X}"
    want_remote = f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        cols = line.split()
        if cols[1] == want_local and cols[2] == want_remote:
            return int(cols[9])
    return None


def pid_serving(server_port: int, client_port: int, candidates: list[int]) -> int | None:
    """Which of `candidates` holds the server side of the connection from `client_port`
    (Linux /proc: the socket's inode among each process's file descriptors)."""
    inode = _tcp_inode(server_port, client_port)
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in candidates:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == target:
                    return pid
            except OSError:
                continue
    return None


class RawRequest:
    """One HTTP/1.1 request on its own socket, sent now and read later: the test knows
    the client port (to find the worker serving it) and sees exactly how it ended."""

    def __init__(self, port: int, path: str, *, timeout: float = 60.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.client_port = int(self.sock.getsockname()[1])
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )

    def read_all(self) -> tuple[bytes, str]:
        """(bytes received, how it ended: "eof", "reset" or "timeout")."""
        chunks: list[bytes] = []
        how = "eof"
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except ConnectionResetError:
            how = "reset"
        except TimeoutError:
            how = "timeout"
        finally:
            self.sock.close()
        return b"".join(chunks), how


def padded_csv(tag: str, round_trips: int, min_bytes: int, **kwargs: Any) -> tuple[bytes, int]:
    """`fills_csv` followed by blank lines (which importers skip) up to `min_bytes`: a
    file above the server's background-import threshold that stays quick to import."""
    data, rows = fills_csv(tag, round_trips, **kwargs)
    return data + b"\n" * max(0, min_bytes - len(data)), rows


def import_job(base_url: str, location: str) -> dict[str, Any]:
    resp = requests.get(base_url + location, timeout=10)
    resp.raise_for_status()
    job: dict[str, Any] = resp.json()
    return job


def wait_job_done(base_url: str, location: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll a background import until done/failed; returns the last job state."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = import_job(base_url, location)
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"background import {location} not finished in {timeout:g} s: {job}")
