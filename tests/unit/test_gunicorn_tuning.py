"""The worker-side gunicorn tweaks put the same bytes on the wire as gunicorn itself."""

from __future__ import annotations

import socket
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from tradestats import gunicorn_tuning


class CountingSocket:
    """The server end, counting ``sendall`` calls."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sends = 0

    def sendall(self, data: bytes) -> None:
        self.sends += 1
        self.sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def _exchange(
    write: Callable[[Any, bytes], None],
    request: bytes,
    headers: list[tuple[str, str]],
    chunks: list[bytes],
) -> tuple[bytes, int]:
    """Parse `request` with gunicorn, answer it through `write`: the raw reply and the
    number of ``sendall`` calls."""
    server_end, client_end = socket.socketpair()
    try:
        client_end.sendall(request)
        cfg = Config()
        req = next(iter(RequestParser(cfg, server_end, ("127.0.0.1", 1))))
        resp, _environ = wsgi.create(req, server_end, ("127.0.0.1", 1), ("127.0.0.1", 2), cfg)
        counting = resp.sock = CountingSocket(server_end)
        resp.start_response("200 OK", headers)
        for chunk in chunks:
            write(resp, chunk)
        resp.close()
        server_end.shutdown(socket.SHUT_WR)
        reply = b""
        while data := client_end.recv(65536):
            reply += data
        return reply, counting.sends
    finally:
        server_end.close()
        client_end.close()


GET = b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n"
HEAD = b"HEAD /api/info HTTP/1.1\r\nHost: x\r\n\r\n"
JSON = [("Content-Type", "application/json"), ("Content-Length", "11")]


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    # both paths must print the same Date: freeze gunicorn's clock for the comparison
    monkeypatch.setattr(
        "gunicorn.util.http_date", lambda timestamp=None: "Thu, 26 Nov 2026 07:00:00 GMT"
    )


original = getattr(wsgi.Response.write, "__wrapped__", wsgi.Response.write)
coalesced = gunicorn_tuning.coalescing_write(original)


@pytest.mark.parametrize(
    ("request_bytes", "headers", "chunks", "saved"),
    [
        (GET, JSON, [b'{"ok":true}'], 1),  # the fast path: whole body, Content-Length
        (GET, JSON, [b'{"ok":', b"true}"], 0),  # streamed: gunicorn's path
        (GET, [("Content-Type", "text/plain")], [b"chunked", b" body"], 0),  # chunked
        (HEAD, JSON, [b'{"ok":true}'], 0),  # no body on the wire
        (GET, JSON, [b""], 0),  # empty first write
    ],
)
def test_same_bytes_as_gunicorn(
    request_bytes: bytes, headers: list[tuple[str, str]], chunks: list[bytes], saved: int
) -> None:
    ours, our_sends = _exchange(coalesced, request_bytes, headers, chunks)
    theirs, their_sends = _exchange(original, request_bytes, headers, chunks)
    assert ours == theirs
    assert ours.startswith(b"HTTP/1.1 200 OK\r\n")
    assert their_sends - our_sends == saved


def test_cached_date_is_the_http_date_of_now() -> None:
    import time

    before = formatdate(time.time(), localtime=False, usegmt=True)
    got = gunicorn_tuning.cached_http_date()
    after = formatdate(time.time(), localtime=False, usegmt=True)
    assert got in (before, after)
    assert gunicorn_tuning.cached_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_apply_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn import util

    monkeypatch.setattr(wsgi.Response, "write", original)
    monkeypatch.setattr(util, "http_date", util.http_date)
    assert gunicorn_tuning.apply()
    first = wsgi.Response.write
    assert gunicorn_tuning.apply()
    assert wsgi.Response.write is first  # not wrapped twice
    assert util.http_date is gunicorn_tuning.cached_http_date
