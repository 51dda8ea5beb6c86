"""gunicorn's ``gthread`` worker with a shorter hand-off between its threads.

The model is gunicorn's own and unchanged: one main thread accepts connections and
watches kept-alive ones in a poller; a fixed pool of threads parses and serves each
request; after a response a kept-alive connection goes back to the poller. What changes
is how a connection travels between them. Stock ``gthread`` wraps every request in a
``concurrent.futures`` future and sends each one back to the main thread through a pipe,
which wakes the main thread a second time per request to put the connection back in the
poller. Under wrk on a 2-core machine (py-spy, ``--gil``) that machinery was about a tenth
of a worker's GIL time on ``/api/health``, before counting the extra syscalls and thread
switches.

Here the pool threads take connections from one `queue.SimpleQueue` and, in the common
case (keep-alive, worker running, nothing read ahead), put the connection back in the
poller themselves: the kernel's epoll and the selector's key table accept registrations
from any thread (a dict insert under the GIL), and the main thread's epoll wait picks
the connection up as soon as it is registered. Every other outcome (close, deferral of a
connection that sent nothing yet, a worker that is stopping, an exception) goes through
gunicorn's own ``finish_request`` on the main thread, exactly as before.

Written here rather than configured: gunicorn has no option for this; subclassing keeps
its parser, WSGI environ, response, timeouts, heartbeat and graceful drain untouched.
"""

from __future__ import annotations

import queue
import selectors
import threading
import time
from functools import partial
from typing import Any

from gunicorn.workers import gthread

_STOP = object()


class _Outcome:
    """What ``finish_request`` reads of a future: ``cancelled()`` and ``result()``."""

    __slots__ = ("_error", "_value")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self._value = value
        self._error = error

    def cancelled(self) -> bool:
        return False

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


class _Pool:
    """The threads serving connections; ``shutdown`` mirrors the executor's.

    Threads are not daemons, like the executor's: a request still running when the
    worker leaves its loop is finished before the process exits (the master's graceful
    timeout still bounds that)."""

    def __init__(self, worker: ThreadWorker, size: int) -> None:
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=worker.serve_jobs, args=(self.jobs,), name=f"gthread-{n}")
            for n in range(size)
        ]
        for thread in self.threads:
            thread.start()

    def shutdown(self, wait: bool = True) -> None:
        for _ in self.threads:
            self.jobs.put(_STOP)
        if wait:
            for thread in self.threads:
                thread.join()


class SettledConfig:
    """A worker's read-through view of gunicorn's ``Config``, each name looked up once.

    ``Config`` answers every attribute through ``__getattr__`` (a dict lookup and a
    ``Setting.get`` call), and the parser, environ and response read it a few dozen times
    per request: 3% of a worker's GIL time under wrk (py-spy). A worker's settings do not
    change after it has forked (a reload forks new workers), so the first answer for a
    name is kept as a plain attribute of this view."""

    def __init__(self, cfg: Any) -> None:
        self.__dict__["_cfg"] = cfg

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cfg, name)
        self.__dict__[name] = value  # found directly from now on, without __getattr__
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a worker's configuration is read-only ({name})")


class ThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    """``gthread`` with the hand-off described in the module docstring, reading its
    configuration through `SettledConfig`."""

    tpool: _Pool
    cfg: Any

    def init_process(self) -> None:
        self.cfg = SettledConfig(self.cfg)
        super().init_process()

    def get_thread_pool(self) -> _Pool:
        return _Pool(self, self.cfg.threads)

    def enqueue_req(self, conn: Any) -> None:
        self.tpool.jobs.put(conn)

    def serve_jobs(self, jobs: queue.SimpleQueue[Any]) -> None:
        while True:
            conn = jobs.get()
            if conn is _STOP:
                return
            try:
                result = self.handle(conn)
            except BaseException as exc:  # the executor would store it in the future
                self.method_queue.defer(self.finish_request, conn, _Outcome(error=exc))
                continue
            if result is True and self.alive and not conn.parser.unreader.buf.getvalue():
                self._keep_alive(conn)
            else:
                self.method_queue.defer(self.finish_request, conn, _Outcome(result))

    def _keep_alive(self, conn: Any) -> None:
        """``finish_request``'s keep-alive branch, run on the pool thread."""
        conn.sock.setblocking(False)
        conn.set_timeout()
        self.keepalived_conns.append(conn)  # before it can become readable
        if not self.alive:  # stopping began meanwhile: linger briefly, as gunicorn does
            conn.timeout = min(conn.timeout, time.monotonic() + gthread.STOP_KEEPALIVE_LINGER)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
        )

    def _cap_keepalive(self, deadline: float) -> None:
        # Pool threads may append while the main thread caps: iterate over a snapshot.
        for conn in list(self.keepalived_conns):
            conn.timeout = min(conn.timeout, deadline)
