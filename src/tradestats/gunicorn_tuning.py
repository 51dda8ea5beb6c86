"""Two per-response costs of gunicorn's ``Response``, trimmed in our workers.

Measured with py-spy on a `gthread` worker under wrk: gunicorn formats the ``Date``
header with `email.utils.formatdate` on every response (~3% of the worker's GIL time on
``/api/info``) and sends the header block and the body with two ``sendall`` calls (a
second syscall, and a second GIL release and re-acquire, per response). Here the date is
formatted once per second, as nginx does, and a body that is the whole response (the
case of every JSON answer: one chunk, ``Content-Length`` equal to its size) leaves in the
same ``sendall`` as its headers. Anything else (streams, chunked, HEAD, partial bodies)
takes gunicorn's own path. Applied in each worker after fork (`apply`), never in the
master; `apply` leaves gunicorn untouched when its internals are not the ones this was
written against.

Also here, for the same reason of living on gunicorn's internals:
`close_listeners_when_stopping` (a draining worker stops holding the listening socket).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

_date: tuple[int, str] = (0, "")


def cached_http_date(timestamp: float | None = None) -> str:
    """gunicorn's ``http_date``, formatted once per second for the current time."""
    global _date
    if timestamp is not None:
        return formatdate(timestamp, localtime=False, usegmt=True)
    second = int(time.time())
    cached = _date  # one tuple: readers never see a second with another second's text
    if cached[0] != second:
        cached = _date = (second, formatdate(second, localtime=False, usegmt=True))
    return cached[1]


def coalescing_write(original: Callable[[Any, bytes], None]) -> Callable[[Any, bytes], None]:
    """``Response.write`` sending headers and a complete body in one ``sendall``."""

    def write(self: Any, arg: bytes) -> None:
        if (
            not self.headers_sent
            and type(arg) is bytes
            and arg
            and not self.chunked
            and self.response_length == len(arg)
            and not getattr(self, "_omits_body", True)
        ):
            lines = self.default_headers()
            lines.extend([f"{k}: {v}\r\n" for k, v in self.headers])
            head = ("".join(lines) + "\r\n").encode("latin-1")
            self.headers_sent = True
            self.sent = len(arg)
            self.sock.sendall(head + arg)
            return
        original(self, arg)

    write.__wrapped__ = original  # type: ignore[attr-defined]
    return write


def apply() -> bool:
    """Install both in this process; False (nothing changed) if gunicorn's `Response`
    lacks what the fast path relies on."""
    from gunicorn import util
    from gunicorn.http import wsgi

    response = wsgi.Response
    needed = ("default_headers", "send_headers", "write", "_emit_body")
    if not all(hasattr(response, name) for name in needed) or not hasattr(util, "http_date"):
        return False
    util.http_date = cached_http_date
    if not hasattr(response.write, "__wrapped__"):
        response.write = coalescing_write(response.write)
    return True


def close_listeners_when_stopping(worker: Any) -> bool:
    """Make a stopping worker close its copy of the listening sockets as soon as it stops
    accepting, instead of at the end of its drain.

    The kernel completes connections into the listen backlog for as long as any process
    holds the socket open. gunicorn's master closes its copy on SIGTERM, but a ``gthread``
    worker keeps its own until the drain is over: a client connecting meanwhile waits
    out the whole drain (up to --graceful-timeout) and is then reset. Closed at once,
    the socket refuses new connections while in-flight requests finish, so clients and
    load balancers retry elsewhere straight away. Only a worker that is itself stopping
    (``alive`` false: SIGTERM, SIGINT, --max-requests) closes its copy; the master and
    the other workers keep theirs, so a recycled or reloaded worker takes nothing away
    from the rest. False (nothing changed) if the worker lacks what this relies on."""
    original = getattr(worker, "set_accept_enabled", None)
    if original is None or not hasattr(worker, "sockets") or not hasattr(worker, "alive"):
        return False

    def set_accept_enabled(enabled: bool) -> None:
        original(enabled)  # unregisters the sockets from the poller first
        if not enabled and not worker.alive:
            for listener in worker.sockets:
                try:
                    listener.close()
                except OSError:  # pragma: no cover - already closed
                    pass

    worker.set_accept_enabled = set_accept_enabled
    return True
