"""gunicorn's ``gthread`` worker, with kept-alive connections watched by the pool threads.

The model stays gunicorn's: a fixed pool of threads parses and serves requests, one
main thread accepts connections, keeps the worker's heartbeat and closes connections
left idle past ``--keep-alive``. What changes is the path of a request on a kept-alive
connection. Stock ``gthread`` watches idle connections in the main thread's poller;
each request then wakes the main thread, which unregisters the socket and submits a
``concurrent.futures`` job to the pool; when the job is done a future callback writes
to a pipe that wakes the main thread again to register the socket once more. Under wrk
at 256 connections on a 2-core machine that was most of a worker's thread switches
(strace: 52 futex calls per request) and a tenth of its GIL time (py-spy).

Here idle connections wait in one epoll set of their own, registered one-shot: a pool
thread blocked in ``epoll_wait`` on it wakes with exactly one ready connection (the
kernel wakes one waiter per event and disarms the socket), serves it, and re-arms it
with a single ``epoll_ctl``. The main thread is not involved. New connections join
the same set as soon as they are accepted, so no pool thread waits for a client's
first bytes. Everything else (a response that closes the connection, an exception,
a worker that is stopping) goes through gunicorn's own ``finish_request`` on the main
thread as before.

Linux only (epoll); elsewhere `worker_class` names gunicorn's own ``gthread``.
Written here because gunicorn has no option for it; subclassing keeps gunicorn's
parser, WSGI environ, response, timeouts, heartbeat and graceful drain.
"""

from __future__ import annotations

import collections
import errno
import os
import select
import socket
import threading
import time
from typing import Any

from gunicorn.http.body import LengthReader
from gunicorn.workers import gthread

_WAIT_EVENTS = select.EPOLLIN | select.EPOLLONESHOT if hasattr(select, "EPOLLONESHOT") else 0


def worker_class() -> str:
    """The gunicorn worker class for this platform."""
    return "tradestats.gunicorn_worker.ThreadWorker" if hasattr(select, "epoll") else "gthread"


def _has_bytes(sock: Any) -> bool:
    """Whether the client has sent something not read yet (or closed its side)."""
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:  # BlockingIOError: nothing yet; others: the socket is gone
        return False
    return True


class _Socket(socket.socket):
    """A client socket whose ``setblocking(True)`` is free when it is blocking already.

    gunicorn's ``handle`` sets blocking mode before every request, an ``ioctl`` and a
    release of the GIL each time; our connections never leave blocking mode after their
    first request (`ThreadWorker._park`), and ``gettimeout()`` tells without a syscall."""

    def setblocking(self, flag: bool) -> None:
        if flag and self.gettimeout() is None:
            return
        super().setblocking(flag)


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


class _Pool:
    """The serving threads; ``shutdown`` mirrors the executor's that gunicorn calls.

    Threads are not daemons, like the executor's: a request still running when the
    worker leaves its loop is finished before the process exits (the master's graceful
    timeout still bounds that)."""

    def __init__(self, worker: ThreadWorker, size: int) -> None:
        self.worker = worker
        self.threads = [
            threading.Thread(target=worker.serve_connections, name=f"gthread-{n}")
            for n in range(size)
        ]
        for thread in self.threads:
            thread.start()

    def shutdown(self, wait: bool = True) -> None:
        self.worker.stop_serving()
        if wait:
            for thread in self.threads:
                thread.join()


class ThreadWorker(gthread.ThreadWorker):  # type: ignore[misc]
    """``gthread`` with idle connections in a one-shot epoll set served by the pool
    threads (module docstring), reading its configuration through `SettledConfig`."""

    tpool: _Pool
    cfg: Any

    def init_process(self) -> None:
        self.cfg = SettledConfig(self.cfg)
        self._idle = select.epoll()
        self._idle_conns: dict[int, Any] = {}  # fd -> connection, while armed
        # keepalived_conns (gunicorn's, oldest timeout first) and _idle_conns change
        # together, from pool threads and the main thread: always under this lock.
        self._idle_lock = threading.Lock()
        # Connections with a request already read into their buffer (the socket will not
        # become readable for it), handed to any pool thread through the wake pipe.
        self._ready: collections.deque[Any] = collections.deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._idle.register(self._wake_r, select.EPOLLIN)  # level-triggered: wakes all
        self._stopping = False
        super().init_process()  # creates the pool (get_thread_pool), then runs the loop

    def get_thread_pool(self) -> _Pool:
        return _Pool(self, self.cfg.threads)

    # --- main thread ---------------------------------------------------------------

    def accept(self, listener: Any) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:  # as gunicorn: another worker won it, or the client left
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        family, kind, proto = client_sock.family, client_sock.type, client_sock.proto
        sock = _Socket(family, kind, proto, client_sock.detach())
        conn = gthread.TConn(self.cfg, sock, client_addr, listener.getsockname())
        conn.fd = sock.fileno()  # kept: a closed socket's fileno() is -1
        conn.armed = False  # registered in the idle set yet (then re-armed with modify)
        # gunicorn gives a new connection this long to send its first bytes.
        wait = max(self.cfg.keepalive, gthread.DEFAULT_WORKER_DATA_TIMEOUT)
        self._park(conn, time.monotonic() + wait)

    def enqueue_req(self, conn: Any) -> None:
        """gunicorn's paths that hand a connection to the pool (its keep-alive branch of
        ``finish_request`` while stopping, a request already read ahead)."""
        self._ready.append(conn)
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:  # pipe full: the pool threads are awake already
            pass

    def murder_keepalived(self, force: bool = False) -> None:
        """Close connections idle past their timeout (all of them with ``force``).

        A connection whose request has arrived but that no pool thread has taken yet
        (all busy) is not idle: it keeps its place, as gunicorn's queue of submitted
        connections would, and is looked at again after another keep-alive period."""
        now = time.monotonic()
        while True:
            with self._idle_lock:
                if not self.keepalived_conns:
                    return
                conn = self.keepalived_conns[0]
                if conn.timeout > now and not force:
                    return
                self.keepalived_conns.popleft()
                if not force and _has_bytes(conn.sock):  # under the lock: not claimed yet
                    conn.timeout = now + max(self.cfg.keepalive, 1)
                    self.keepalived_conns.append(conn)
                    continue
                armed = self._idle_conns.pop(conn.fd, None) is conn
            if armed:
                try:
                    self._idle.unregister(conn.fd)
                except (OSError, ValueError):  # pragma: no cover - already gone
                    pass
            else:  # parked by gunicorn's own finish_request, in its poller
                try:
                    self.poller.unregister(conn.sock)
                except (OSError, KeyError, ValueError):
                    pass
            self.nr_conns -= 1
            conn.close()

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        # gunicorn's poller path (connections kept by its finish_request while stopping).
        self.poller.unregister(client)
        with self._idle_lock:
            try:
                self.keepalived_conns.remove(conn)
            except ValueError:
                return  # closed as expired meanwhile
        self.enqueue_req(conn)

    def _cap_keepalive(self, deadline: float) -> None:
        with self._idle_lock:
            for conn in self.keepalived_conns:
                conn.timeout = min(conn.timeout, deadline)

    # --- pool threads --------------------------------------------------------------

    def stop_serving(self) -> None:
        self._stopping = True
        try:
            os.write(self._wake_w, b"\0")  # never read: every thread sees the pipe ready
        except BlockingIOError:
            pass

    def serve_connections(self) -> None:
        poll = self._idle.poll
        wake = self._wake_r
        while not self._stopping:
            for fd, _events in poll(-1, 1):
                if fd == wake:
                    conn = self._take_ready()
                else:
                    conn = self._claim(fd)
                if conn is not None:
                    self._serve(conn)

    def _take_ready(self) -> Any | None:
        try:
            conn = self._ready.popleft()
        except IndexError:
            return None
        try:
            os.read(self._wake_r, 1)
        except BlockingIOError:  # another thread took the byte of a later connection
            pass
        return conn

    def _claim(self, fd: int) -> Any | None:
        with self._idle_lock:
            conn = self._idle_conns.pop(fd, None)
            if conn is None:
                return None  # closed as expired just before its socket became ready
            try:
                self.keepalived_conns.remove(conn)
            except ValueError:  # pragma: no cover - the two change together
                pass
        conn.data_ready = True  # handle() must not wait for bytes that have arrived
        return conn

    def _serve(self, conn: Any) -> None:
        while True:
            try:
                result = self.handle(conn)
            except BaseException as exc:  # what the executor would store in the future
                self.method_queue.defer(self.finish_request, conn, _Outcome(error=exc))
                return
            if result is not True or not self.alive:
                self.method_queue.defer(self.finish_request, conn, _Outcome(result))
                return
            if not conn.parser.unreader.buf.getvalue():
                self._park(conn, time.monotonic() + self.cfg.keepalive)
                return
            # The next request was read along with this one (pipelining): serve it now,
            # its socket will not become readable for bytes already read.

    def _park(self, conn: Any, timeout: float) -> None:
        """Wait for the connection's next request in the idle set (any thread).

        The socket stays in blocking mode there, unlike gunicorn's: only readiness is
        watched, and ``handle`` sets blocking mode anyway (one ``ioctl`` less per
        request)."""
        conn.timeout = timeout
        with self._idle_lock:
            self.keepalived_conns.append(conn)
            self._idle_conns[conn.fd] = conn
            if not self.alive:  # stopping: linger briefly, as gunicorn does
                conn.timeout = min(timeout, time.monotonic() + gthread.STOP_KEEPALIVE_LINGER)
            # Armed under the lock: the main thread cannot close it in between.
            if conn.armed:
                self._idle.modify(conn.fd, _WAIT_EVENTS)
            else:
                self._idle.register(conn.fd, _WAIT_EVENTS)
                conn.armed = True

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        """gunicorn drains an unread request body before keeping a connection, bounding
        the drain with two ``settimeout`` calls, and its parser restores the socket's
        timeout once more before the next request: three syscalls per request, each a
        release of the GIL. A request without a body, or whose body was read to its end,
        has nothing to drain; the parser then forgets it, so the next request starts
        without that restore (the response already said the connection stays open, so
        the request did not ask to close it)."""
        if keepalive:
            parser = conn.parser
            body: Any = getattr(parser.mesg, "body", None)
            reader: Any = getattr(body, "reader", None)
            if (
                type(reader) is LengthReader
                and reader.length == 0
                and not body.failed
                and body.buf.tell() == 0
            ):
                parser.mesg = None
                return True
        return bool(super()._keepalive_after(conn, keepalive))
