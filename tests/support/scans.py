"""Helpers for scan tests: a server process with the scans API, an RQ worker process,
a Server-Sent Events reader over a raw socket, and the test Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from support.servers import ServerProcess

TESTS_DIR = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TRADESTATS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_skip() -> Any:
    """A client for the test Redis (db 15); skip if unreachable, fail when CI is set."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL} (CI must start it): {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return client


def _env_with_tests_path(env: dict[str, str]) -> dict[str, str]:
    paths = [str(TESTS_DIR), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


class ScanServerProcess(ServerProcess):
    """`tradestats serve` with the scans blueprint (see support.scan_serve)."""

    def start(self, wait: bool = True, timeout: float = 30.0) -> ScanServerProcess:
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "support.scan_serve", "serve", *self.args],
            env=_env_with_tests_path(dict(self.env)),
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready(timeout)
        return self


class WorkerProcess:
    """`python -m tradestats.jobs.worker` (run_worker) as a subprocess."""

    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRADESTATS_")}
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> WorkerProcess:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tradestats.jobs.worker"],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
        return self.proc.returncode

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class SseReader:
    """Reads Server-Sent Events from a raw socket: no client library between the test
    and the bytes on the wire."""

    def __init__(self, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        self.status, self.headers = self._read_head()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        self.body = b""
        self.ended = False

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        return data

    def _read_head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        first, *rest = head.decode().split("\r\n")
        headers = {}
        for line in rest:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        return int(first.split()[1]), headers

    def _fill(self) -> None:
        """Move at least one more piece of the body from the socket into ``self.body``."""
        if not self.chunked:
            self.body += self.buffer or self._recv()
            self.buffer = b""
            return
        while True:
            if b"\r\n" in self.buffer:
                size_line, rest = self.buffer.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self.ended = True
                    raise EOFError
                if len(rest) >= size + 2:
                    self.body += rest[:size]
                    self.buffer = rest[size + 2 :]
                    return
            self.buffer += self._recv()

    def next_event(self) -> dict[str, str] | None:
        """The next event (comments skipped) as its fields, or None at end of stream."""
        while True:
            while b"\n\n" not in self.body:
                try:
                    self._fill()
                except EOFError:
                    return None
            block, self.body = self.body.split(b"\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.decode().split("\n"):
                if not line or line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields[name] = fields.get(name, "") + value.removeprefix(" ")
            if "id" in fields or "event" in fields:
                return fields

    def close(self) -> None:
        self.sock.close()


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
