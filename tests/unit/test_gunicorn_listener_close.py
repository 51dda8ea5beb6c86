"""`close_listeners_when_stopping`: only a worker that is itself stopping lets go of the
listening socket (over real sockets; the worker is a stand-in with gthread's surface)."""

from __future__ import annotations

import socket

import pytest

from tradestats import gunicorn_tuning


class Listener:
    """gunicorn's socket wrapper surface used here: ``close``."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Worker:
    def __init__(self) -> None:
        self.sockets = [Listener()]
        self.alive = True
        self.accepting: list[bool] = []

    def set_accept_enabled(self, enabled: bool) -> None:
        self.accepting.append(enabled)


def _connects(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return False
    return True


def test_a_busy_but_alive_worker_keeps_its_listener() -> None:
    worker = Worker()
    assert gunicorn_tuning.close_listeners_when_stopping(worker)
    worker.set_accept_enabled(False)  # at its connection limit: it will accept again
    assert worker.accepting == [False]
    assert _connects(worker.sockets[0].port)
    worker.sockets[0].close()


def test_a_stopping_worker_closes_its_listener_at_once() -> None:
    worker = Worker()
    port = worker.sockets[0].port
    assert gunicorn_tuning.close_listeners_when_stopping(worker)
    worker.alive = False  # SIGTERM / --max-requests
    worker.set_accept_enabled(False)
    assert worker.accepting == [False]
    assert worker.sockets[0].sock is None
    assert not _connects(port)


@pytest.mark.parametrize("missing", ["set_accept_enabled", "sockets", "alive"])
def test_other_workers_are_left_alone(missing: str) -> None:
    attrs = {"set_accept_enabled": lambda _e: None, "sockets": [], "alive": True}
    del attrs[missing]
    worker = type("OtherWorker", (), attrs)()
    assert not gunicorn_tuning.close_listeners_when_stopping(worker)
