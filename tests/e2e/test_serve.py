"""`tradestats serve` as a real process over real sockets: gunicorn and waitress."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from support.metrics import samples
from support.servers import ServerProcess, free_port

TOKEN = "s" * 24


@pytest.fixture(params=["gunicorn", "waitress"])
def server(request: pytest.FixtureRequest, data_dir: Path):  # type: ignore[no-untyped-def]
    with ServerProcess(data_dir, "--server", request.param) as srv:
        yield srv


def test_health_and_ready_media_types(server: ServerProcess) -> None:
    for path in ("/api/health", "/api/ready"):
        resp = requests.get(server.url + path, timeout=5)
        assert resp.status_code == 200
        assert resp.headers["Content-Type"] == "application/health+json"
        assert "no-store" in resp.headers["Cache-Control"]
        body = resp.json()
        assert body["status"] == "pass"
        for key, entries in body["checks"].items():
            for entry in entries:
                assert entry["status"] in ("pass", "warn", "fail") and entry["time"], key
    ready = requests.get(server.url + "/api/ready", timeout=5).json()
    assert ready["checks"]["database:responseTime"][0]["componentId"] == "sqlite"


def test_problem_json_over_the_wire(server: ServerProcess) -> None:
    r404 = requests.get(server.url + "/api/does-not-exist", timeout=5)
    r405 = requests.put(server.url + "/api/health", timeout=5)
    r400 = requests.post(server.url + "/api/client-errors", json={"nope": 1}, timeout=5)
    for resp, status in ((r404, 404), (r405, 405), (r400, 400)):
        assert resp.status_code == status
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert resp.json()["status"] == status
    big = requests.post(
        server.url + "/api/client-errors",
        data=b'{"message": "' + b"x" * (2 * 1024 * 1024) + b'"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert big.status_code == 413
    assert big.headers["Content-Type"] == "application/problem+json"


def test_request_id_round_trip_and_in_logs(server: ServerProcess) -> None:
    resp = requests.get(server.url + "/api/info", headers={"X-Request-ID": "trace-42"}, timeout=5)
    assert resp.headers["X-Request-ID"] == "trace-42"
    generated = requests.get(server.url + "/api/info", timeout=5).headers["X-Request-ID"]
    deadline = time.monotonic() + 5
    lines: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        lines = [json.loads(x) for x in server.logs().splitlines() if x.startswith("{")]
        if any(line.get("request_id") == generated for line in lines):
            break
        time.sleep(0.1)
    access = [x for x in lines if x.get("logger") == "tradestats.access"]
    mine = [x for x in access if x.get("request_id") == "trace-42"]
    assert mine and mine[0]["route"] == "/api/info" and mine[0]["status"] == 200
    assert isinstance(mine[0]["duration_ms"], float)
    assert any(x.get("request_id") == generated for x in access)


def test_security_headers_over_the_wire(server: ServerProcess) -> None:
    resp = requests.get(server.url + "/", timeout=5)
    assert resp.status_code == 200
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_metrics_series_bounded_by_route_template(server: ServerProcess) -> None:
    for i in range(150):
        requests.get(f"{server.url}/api/options/TICK{i}/analysis", timeout=5)
    text = requests.get(server.url + "/metrics", timeout=5).text
    series = samples(text, "tradestats_http_requests_total")
    routes = {labels["route"] for labels, _ in series}
    assert not any("TICK" in r for r in routes)
    template = "/api/options/<ticker>/analysis"
    assert sum(v for labels, v in series if labels["route"] == template) == 150
    for i in range(50):  # paths matching no route share one series too
        requests.get(f"{server.url}/api/nothing-here/{i}", timeout=5)
    text = requests.get(server.url + "/metrics", timeout=5).text
    series = samples(text, "tradestats_http_requests_total")
    assert sum(v for labels, v in series if labels["route"] == "<unmatched>") == 50
    assert len(series) < 12


def slow_request(url: str, result: dict[str, object]) -> None:
    """POST a JSON body trickled over ~2 s: the request is in flight meanwhile."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"message": "slow upload " + "x" * 200}).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = (
            f"POST /api/client-errors HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        sock.sendall(head)
        result["started"] = time.monotonic()
        for i in range(0, len(body), 20):
            sock.sendall(body[i : i + 20])
            time.sleep(0.15)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    result["response"] = b"".join(chunks)


def test_sigterm_drains_in_flight_request(server: ServerProcess) -> None:
    result: dict[str, object] = {}
    thread = threading.Thread(target=slow_request, args=(server.url, result))
    thread.start()
    time.sleep(0.6)  # the request is now being received
    server.signal(signal.SIGTERM)
    thread.join(30)
    assert server.wait(30) == 0
    response = result["response"]
    assert isinstance(response, bytes)
    assert response.startswith(b"HTTP/1.1 202"), response[:200]
    assert b'"accepted": true' in response
    # New connections are refused once the drain started.
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/api/health", timeout=2)


def test_sigint_drains_like_sigterm(data_dir: Path) -> None:
    with ServerProcess(data_dir) as srv:
        result: dict[str, object] = {}
        thread = threading.Thread(target=slow_request, args=(srv.url, result))
        thread.start()
        time.sleep(0.6)
        srv.signal(signal.SIGINT)
        thread.join(30)
        assert srv.wait(30) == 0
        assert isinstance(result["response"], bytes)
        assert result["response"].startswith(b"HTTP/1.1 202")


def test_metrics_aggregate_across_gunicorn_workers(data_dir: Path) -> None:
    with ServerProcess(data_dir, env={"TRADESTATS_WORKERS": "3"}) as srv:
        n = 120
        for _ in range(n):
            # A new connection each time spreads requests over the workers.
            requests.get(srv.url + "/api/info", headers={"Connection": "close"}, timeout=5)
        text = requests.get(srv.url + "/metrics", timeout=5).text
        counts = [
            v
            for labels, v in samples(text, "tradestats_http_requests_total")
            if labels["route"] == "/api/info"
        ]
        assert sum(counts) == n
        pids = set(re.findall(r"Booting worker with pid: (\d+)", srv.logs()))
        assert len(pids) == 3
        hist = samples(text, "tradestats_http_request_duration_seconds_count")
        assert sum(v for labels, v in hist if labels["route"] == "/api/info") == n
        assert samples(text, "tradestats_http_requests_in_flight")
        assert samples(text, "tradestats_db_pool_checked_out") is not None


def test_non_loopback_without_token_refuses_to_start(data_dir: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradestats.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "TRADESTATS_DATA_DIR": str(data_dir)},
    )
    assert proc.returncode == 2
    assert "TRADESTATS_TOKEN" in proc.stderr
    assert "0.0.0.0" in proc.stderr


def test_non_loopback_with_token_requires_it(data_dir: Path) -> None:
    with ServerProcess(data_dir, host="0.0.0.0", env={"TRADESTATS_TOKEN": TOKEN}) as srv:
        assert requests.get(srv.url + "/api/health", timeout=5).status_code == 200
        resp = requests.get(srv.url + "/api/ready", timeout=5)
        assert resp.status_code == 401
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert requests.get(srv.url + "/metrics", timeout=5).status_code == 401
        ok = requests.get(
            srv.url + "/api/ready", timeout=5, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert ok.status_code == 200


@pytest.mark.parametrize("proxies", ["0", "1"])
def test_forwarded_headers_trusted_only_from_configured_proxies(
    data_dir: Path, proxies: str
) -> None:
    """Over gunicorn, as in-process: a client's X-Forwarded-Proto makes the login cookie
    Secure only with TRADESTATS_TRUSTED_PROXIES set, and a SCRIPT_NAME header never
    moves the app (gunicorn itself trusts no forwarding header, not even from
    127.0.0.1)."""
    env = {"TRADESTATS_TOKEN": TOKEN, "TRADESTATS_TRUSTED_PROXIES": proxies}
    with ServerProcess(data_dir, env=env) as srv:
        resp = requests.post(
            srv.url + "/login",
            data={"token": TOKEN, "next": "/"},
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"},
            allow_redirects=False,
            timeout=5,
        )
        assert resp.status_code == 303
        assert ("Secure" in resp.headers["Set-Cookie"]) is (proxies == "1")
        moved = requests.get(
            srv.url + "/api/info",
            headers={"Authorization": f"Bearer {TOKEN}", "SCRIPT_NAME": "/elsewhere"},
            timeout=5,
        )
        assert moved.status_code == 200
        assert moved.json()["version"]


def test_dev_server_is_loopback_only(data_dir: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradestats.cli",
            "serve",
            "--dev",
            "--host",
            "0.0.0.0",
            "--token",
            TOKEN,
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "TRADESTATS_DATA_DIR": str(data_dir)},
    )
    assert proc.returncode == 2
    assert "loopback" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tradestats.cli", "serve", "--debugger"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--dev" in proc.stderr


def test_dev_server_serves_on_loopback(data_dir: Path) -> None:
    with ServerProcess(data_dir, "--dev") as srv:
        resp = requests.get(srv.url + "/api/ready", timeout=5)
        assert resp.status_code == 200
        assert "Server: Werkzeug" in "Server: " + resp.headers.get("Server", "")


def test_health_cli(data_dir: Path) -> None:
    with ServerProcess(data_dir) as srv:
        ok = subprocess.run(
            [sys.executable, "-m", "tradestats.cli", "health", srv.url + "/api/ready"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["status"] == "pass"
    down = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradestats.cli",
            "health",
            f"http://127.0.0.1:{free_port()}/api/health",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1
    assert "unreachable" in down.stderr


def test_recycled_workers_keep_serving_and_metrics_stay_consistent(data_dir: Path) -> None:
    """Workers restarted by --max-requests must boot cleanly (the metrics directory is
    the master's to remove) and their counts must survive in /metrics."""
    with ServerProcess(
        data_dir,
        "--max-requests",
        "40",
        "--max-requests-jitter",
        "0",
        env={"TRADESTATS_WORKERS": "2"},
    ) as srv:
        n = 300
        statuses = []
        for _ in range(n):
            statuses.append(
                requests.get(
                    srv.url + "/api/info", timeout=10, headers={"Connection": "close"}
                ).status_code
            )
        assert statuses == [200] * n
        booted = set(re.findall(r"Booting worker with pid: (\d+)", srv.logs()))
        assert len(booted) > 4, "workers were not recycled"
        assert "Exception in worker process" not in srv.logs()
        text = requests.get(srv.url + "/metrics", timeout=10).text
        counts = [
            v
            for labels, v in samples(text, "tradestats_http_requests_total")
            if labels["route"] == "/api/info"
        ]
        assert sum(counts) == n
