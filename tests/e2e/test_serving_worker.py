"""Our gthread worker (tradestats.gunicorn_worker) over real sockets: kept-alive
connections served by the pool threads' own hand-back to the poller, pipelined requests
that take gunicorn's path, idle kept-alive connections closed on time."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from support.servers import ServerProcess

REQUEST = b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n"


def _read_response(sock: socket.socket, buf: bytearray) -> bytes:
    """One HTTP/1.1 response with Content-Length from `sock` (leftovers stay in `buf`)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        rest += chunk
    buf[:] = rest[length:]
    return head


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data_dir: Path = tmp_path_factory.mktemp("worker")
    with ServerProcess(data_dir, env={"TRADESTATS_KEEPALIVE": "2"}) as srv:
        yield srv


def test_the_server_runs_our_worker(server: ServerProcess) -> None:
    assert "Using worker: tradestats.gunicorn_worker.ThreadWorker" in server.log_path.read_text()


def test_many_kept_alive_connections_each_serve_many_requests(server: ServerProcess) -> None:
    answered = [0] * 24
    failures: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                buf = bytearray()
                for _ in range(150):
                    sock.sendall(REQUEST)
                    head = _read_response(sock, buf)
                    assert head.startswith(b"HTTP/1.1 200 ")
                    assert b"Connection: keep-alive" in head
                    answered[n] += 1
        except BaseException as exc:  # reported below, with the count reached
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert answered == [150] * 24


def test_pipelined_requests_are_all_answered_in_order(server: ServerProcess) -> None:
    """Requests sent back to back in one write: the parser reads ahead into the next one,
    so the connection cannot wait for the poller (those bytes are already read)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        ids = [f"pipelined-{n}" for n in range(5)]
        sock.sendall(
            b"".join(
                f"GET /api/health HTTP/1.1\r\nHost: t\r\nX-Request-ID: {rid}\r\n\r\n".encode()
                for rid in ids
            )
        )
        buf = bytearray()
        seen = [_read_response(sock, buf) for _ in ids]
    for rid, head in zip(ids, seen, strict=True):
        assert head.startswith(b"HTTP/1.1 200 ")
        assert f"X-Request-ID: {rid}".encode() in head


def test_idle_kept_alive_connection_is_closed_after_keepalive(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        buf = bytearray()
        sock.sendall(REQUEST)
        _read_response(sock, buf)
        started = time.monotonic()
        assert sock.recv(1) == b""  # the server closes the idle connection
        waited = time.monotonic() - started
    assert 1.0 <= waited <= 5.0, waited  # TRADESTATS_KEEPALIVE=2 (checked once a second)


def test_request_waiting_for_a_busy_pool_is_not_closed_as_idle(data_dir: Path) -> None:
    """One thread, busy with a trickled upload for ~4 s; meanwhile a kept-alive
    connection (keep-alive 1 s) sends its next request. It waits for the thread, as in
    gunicorn's queue, instead of being closed as idle when its keep-alive runs out."""
    env = {"TRADESTATS_WORKERS": "1", "TRADESTATS_THREADS": "1", "TRADESTATS_KEEPALIVE": "1"}
    with ServerProcess(data_dir, env=env) as srv:
        kept = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        with kept:
            buf = bytearray()
            kept.sendall(REQUEST)
            _read_response(kept, buf)  # now parked, keep-alive 1 s
            body = b'{"message": "' + b"x" * 580 + b'"}'
            with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as busy:
                busy.sendall(
                    b"POST /api/client-errors HTTP/1.1\r\nHost: t\r\n"
                    b"Content-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                )
                time.sleep(0.3)  # the only thread now reads this body
                kept.sendall(REQUEST)
                for i in range(0, len(body), 20):  # ~4 s
                    busy.sendall(body[i : i + 20])
                    time.sleep(0.14)
                assert _read_response(busy, bytearray()).split(b" ")[1] in (b"202", b"204")
            head = _read_response(kept, buf)
            assert head.startswith(b"HTTP/1.1 200 ")
