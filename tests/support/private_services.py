"""Private PostgreSQL and Redis server instances for fault-injection tests.

The machine's own PostgreSQL (5432) and Redis (6379) are shared by every test run, so a
test that stops or kills a dependency starts its own instance on a free port instead::

    with PrivatePostgres(tmp_root) as pg:     # initdb + pg_ctl start, trust auth
        url = pg.create_database("app")       # postgresql://postgres@127.0.0.1:<port>/app
        pg.stop(mode="immediate")             # the outage
        pg.start()                            # same data dir, same port

    with PrivateRedis() as r:                 # redis-server --port <free> in memory
        r.kill()                              # SIGKILL: an outage with no goodbye
        r.start()                             # same port again

PostgreSQL refuses to run as root: when the tests run as root, its commands run as the
``postgres`` system user through ``runuser``, in a temporary directory that user owns.
The binaries are found through ``TRADESTATS_PG_BINDIR``, ``pg_config --bindir`` or
``/usr/lib/postgresql/<major>/bin`` (highest major first). `postgres_missing` and
`redis_missing` say why an instance cannot be started here (``None`` when it can).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from support.servers import free_port

PG_SYSTEM_USER = "postgres"


# -- PostgreSQL ----------------------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The directory holding ``initdb``/``pg_ctl``, or None if there is none."""
    candidates: list[Path] = []
    env = os.environ.get("TRADESTATS_PG_BINDIR")
    if env:
        candidates.append(Path(env))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        majors = sorted(
            (p for p in root.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
        )
        candidates += [p / "bin" for p in majors]
    for cand in candidates:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    return None


def postgres_missing() -> str | None:
    """Why a private PostgreSQL cannot be started here, or None if it can."""
    if postgres_bindir() is None:
        return "no PostgreSQL server binaries (initdb/pg_ctl) found"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            return f"running as root but there is no {PG_SYSTEM_USER!r} user to run PostgreSQL"
        if shutil.which("runuser") is None:
            return "running as root but runuser is missing"
    return None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port> (trust auth, no fsync).

    ``start()`` initializes the cluster on first use; ``stop()`` and ``start()`` can be
    repeated (an outage and a recovery on the same port and data). ``close()`` stops it
    and deletes the directory.
    """

    def __init__(self, parent: Path | None = None, port: int | None = None) -> None:
        missing = postgres_missing()
        if missing:
            raise RuntimeError(missing)
        bindir = postgres_bindir()
        assert bindir is not None
        self.bindir = bindir
        self.port = port or free_port()
        # pytest's tmp_path is private to root (0700): the postgres user could not reach
        # a directory below it, so the cluster gets its own top-level temporary directory.
        self.root = Path(tempfile.mkdtemp(prefix="tradestats-pg-", dir=parent))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log_path = self.root / "postgres.log"
        self._as_postgres = os.geteuid() == 0
        self._initialized = False
        self.root.chmod(0o755)
        self.sockets.mkdir()
        if self._as_postgres:
            entry = pwd.getpwnam(PG_SYSTEM_USER)
            for path in (self.root, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    # -- commands ------------------------------------------------------------------------

    def _run(self, tool: str, *args: str, timeout: float = 120.0) -> str:
        cmd = [str(self.bindir / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", PG_SYSTEM_USER, "--", *cmd]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({proc.returncode}): {proc.stderr.strip()}\n{self.log_tail()}"
            )
        return proc.stdout

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        self._initialized = True

    def start(self, timeout: float = 60.0) -> PrivatePostgres:
        """Start (initializing the cluster the first time); returns once it accepts."""
        if not self._initialized:
            self._initdb()
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.sockets}",
                # fsync off is safe for these tests: they stop the server process, never
                # the machine, so written WAL survives in the kernel. synchronous_commit
                # stays on: off, a commit is acknowledged before its WAL is written, and
                # `pg_ctl stop -m immediate` then loses imports already answered 201.
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c shared_buffers=32MB",
            ]
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            str(int(timeout)),
            "start",
            timeout=timeout + 10,
        )
        return self

    def stop(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """``pg_ctl stop -m <mode>`` (smart | fast | immediate); waits until it is down."""
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        if not self.running():
            return
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-m",
            mode,
            "-w",
            "-t",
            str(int(timeout)),
            "stop",
            timeout=timeout + 10,
        )

    def running(self) -> bool:
        if not self._initialized:
            return False
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"]
        if self._as_postgres:
            cmd = ["runuser", "-u", PG_SYSTEM_USER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, timeout=30, check=False).returncode == 0

    def accepting(self) -> bool:
        """The TCP port answers (the server may still be starting up or shutting down)."""
        return _port_open(self.port)

    # -- databases -----------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        try:
            if self._initialized and self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()


# -- Redis ---------------------------------------------------------------------------------


def redis_missing() -> str | None:
    """Why a private Redis cannot be started here, or None if it can."""
    return None if shutil.which("redis-server") else "redis-server is not installed"


class PrivateRedis:
    """``redis-server`` in the foreground on 127.0.0.1:<free port>, in memory only.

    ``kill()`` (SIGKILL) and ``start()`` can be repeated; the port stays the same, so a
    client configured with `url` reconnects to the new process.
    """

    def __init__(self, port: int | None = None) -> None:
        missing = redis_missing()
        if missing:
            raise RuntimeError(missing)
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self.log_path = Path(tempfile.mkstemp(prefix="tradestats-redis-", suffix=".log")[1])

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 15.0) -> PrivateRedis:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("this Redis is already running")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited {self.proc.returncode}: "
                    f"{self.log_path.read_text(errors='replace')[-2000:]}"
                )
            if self.ping():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server not answering on port {self.port} within {timeout}s")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """End the server abruptly (default SIGKILL) and wait for it to be gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(15)
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self.kill()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
