"""While `tradestats serve` drains on SIGTERM, new connections are refused at once (the
workers let go of the listening socket), instead of waiting in the listen backlog for
the whole drain and then being reset; the request in flight still completes.

Found by the chaos suite (tests/chaos/test_server_faults.py): before, a client that
connected during a drain hung for up to --graceful-timeout."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import requests

from support.servers import ServerProcess

HELD_MS = 4000


def _fate(url: str) -> str:
    try:
        requests.get(url + "/api/health", timeout=0.5)
    except requests.ConnectionError as exc:
        return "refused" if "refused" in str(exc).lower() else "closed"
    except requests.Timeout:
        return "timeout"
    return "answered"


def test_new_connections_are_refused_during_the_drain(data_dir: Path) -> None:
    with ServerProcess(data_dir, "--test-faults") as srv:
        rules = {"latency_ms": HELD_MS, "paths": "^/api/accounts$"}
        requests.post(srv.url + "/api/_test/faults", json=rules, timeout=10).raise_for_status()
        result: list[Any] = []

        def held() -> None:
            result.append(requests.get(srv.url + "/api/accounts", timeout=30))

        thread = threading.Thread(target=held)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the request is inside the server
            state = requests.get(srv.url + "/api/_test/faults", timeout=10).json()
            if state["counters"]["matched"] >= 1:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the held request never reached the server")
        srv.signal(signal.SIGTERM)
        fates = []
        refused_while_in_flight = False
        stop = time.monotonic() + HELD_MS / 1000
        while time.monotonic() < stop and thread.is_alive():
            fates.append(_fate(srv.url))
            if fates[-1] == "refused" and thread.is_alive():
                refused_while_in_flight = True
                break
        thread.join(30)
        assert srv.wait(30) == 0
        assert refused_while_in_flight, fates
        assert result and result[0].status_code == 200
