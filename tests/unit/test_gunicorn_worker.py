"""The parts of gunicorn's gthread worker that tradestats.gunicorn_worker builds on: a
gunicorn upgrade that renames or drops one fails here, by name, instead of in a
serving worker."""

from __future__ import annotations

import inspect
import os
import socket

import pytest
from gunicorn.http.body import Body, LengthReader
from gunicorn.http.parser import Parser
from gunicorn.workers import gthread

from tradestats.gunicorn_worker import (
    SettledConfig,
    ThreadWorker,
    _Outcome,
    _Socket,
    worker_class,
)


def test_gunicorn_still_has_what_the_worker_overrides_and_calls() -> None:
    base = gthread.ThreadWorker
    for name in (
        "accept",
        "enqueue_req",
        "finish_request",
        "get_thread_pool",
        "handle",
        "murder_keepalived",
        "on_client_socket_readable",
        "_cap_keepalive",
        "_keepalive_after",
    ):
        assert callable(getattr(base, name, None)), name
    assert list(inspect.signature(base.finish_request).parameters) == ["self", "conn", "fs"]
    assert list(inspect.signature(base._keepalive_after).parameters) == [
        "self",
        "conn",
        "keepalive",
    ]
    init = inspect.getsource(base.__init__)
    for attribute in ("keepalived_conns", "method_queue", "nr_conns"):
        assert f"self.{attribute}" in init, attribute
    assert isinstance(gthread.STOP_KEEPALIVE_LINGER, float)
    assert isinstance(gthread.DEFAULT_WORKER_DATA_TIMEOUT, float)
    assert "data_ready" in inspect.getsource(gthread.TConn.__init__)
    assert "self.mesg" in inspect.getsource(Parser.__init__)
    body = Body(LengthReader(None, 0))
    assert (body.reader.length, body.failed, body.buf.tell()) == (0, False, 0)


def test_worker_class_is_ours_where_epoll_exists() -> None:
    assert worker_class() in ("tradestats.gunicorn_worker.ThreadWorker", "gthread")
    assert issubclass(ThreadWorker, gthread.ThreadWorker)


def test_settled_config_reads_through_once_and_is_read_only() -> None:
    class Config:
        reads = 0

        @property
        def keepalive(self) -> int:
            Config.reads += 1
            return 2

    view = SettledConfig(Config())
    assert view.keepalive == 2
    assert view.keepalive == 2
    assert Config.reads == 1
    with pytest.raises(AttributeError):
        view.keepalive = 3
    with pytest.raises(AttributeError):
        _ = view.missing


def test_outcome_reads_like_a_future() -> None:
    assert _Outcome(True).result() is True
    assert not _Outcome(False).cancelled()
    with pytest.raises(OSError):
        _Outcome(error=OSError("reset")).result()


def test_worker_socket_skips_only_redundant_blocking_switches() -> None:
    a, b = socket.socketpair()
    with a, b:
        sock = _Socket(a.family, a.type, a.proto, a.detach())
        with sock:
            sock.setblocking(False)
            assert sock.gettimeout() == 0.0
            with pytest.raises(BlockingIOError):
                sock.recv(1)
            sock.setblocking(True)  # a real switch back
            assert sock.gettimeout() is None
            sock.setblocking(True)  # already blocking: nothing to do
            b.sendall(b"x")
            assert sock.recv(1) == b"x"


def test_metrics_process_id_follows_forks() -> None:
    from tradestats.telemetry import metrics

    assert metrics._process_id() == os.getpid()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os._exit(0 if metrics._process_id() == os.getpid() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
