"""The fake upstream's own fault modes (the chaos tests rely on them)."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from support.fake_upstream import FakeUpstream
from support.simple_json_getter import SimpleJsonGetter
from tradestats.market.errors import UpstreamUnavailable

QUOTE = "/v7/finance/quote?symbols=AAPL"


def _statuses(up: FakeUpstream, n: int) -> list[int]:
    with requests.Session() as s:
        return [s.get(up.url + QUOTE, timeout=5).status_code for _ in range(n)]


def test_error_rate_roughly_holds_and_is_deterministic() -> None:
    runs = []
    for _ in range(2):
        with FakeUpstream(seed=42) as up:
            up.faults.configure(error_rate=0.3)
            runs.append(_statuses(up, 300))
    assert runs[0] == runs[1]
    errors = [s for s in runs[0] if s != 200]
    assert set(errors) <= {500, 503}
    assert 0.22 <= len(errors) / 300 <= 0.38
    with FakeUpstream(seed=43) as up:
        up.faults.configure(error_rate=0.3)
        assert _statuses(up, 300) != runs[0]


def test_error_count_deterministic_under_concurrency() -> None:
    counts = []
    for _ in range(2):
        with FakeUpstream(seed=5) as up:
            up.faults.configure(error_rate=0.3)
            with ThreadPoolExecutor(16) as pool:
                codes = list(
                    pool.map(
                        lambda _: requests.get(up.url + QUOTE, timeout=5).status_code, range(80)
                    )
                )
            counts.append(sum(c != 200 for c in codes))
            assert up.count("quote") == 80
            assert up.count("quote", outcome="ok") == 80 - counts[-1]
    assert counts[0] == counts[1]


def test_status_burst_then_recovery() -> None:
    with FakeUpstream() as up:
        up.faults.fail_next(3, status=503).fail_next(1, status=500)
        assert _statuses(up, 6) == [503, 503, 503, 500, 200, 200]


def test_429_carries_retry_after() -> None:
    with FakeUpstream() as up:
        up.faults.throttle_next(1, retry_after=2)
        r = requests.get(up.url + QUOTE, timeout=5)
        assert r.status_code == 429 and r.headers["Retry-After"] == "2"
        with pytest.raises(UpstreamUnavailable) as err:
            up.faults.throttle_next(1, retry_after=3)
            SimpleJsonGetter(up.url).get_json("/v7/finance/quote", {"symbols": "AAPL"})
        assert err.value.retry_after == 3.0


def test_reset_closes_the_socket_without_answer() -> None:
    with FakeUpstream() as up:
        up.faults.reset_next(1)
        with socket.create_connection(("127.0.0.1", up.port), timeout=5) as sock:
            sock.sendall(f"GET {QUOTE} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            try:
                data = sock.recv(1024)
            except ConnectionResetError:
                data = b""
        assert data == b""
        up.faults.reset_next(1)
        with pytest.raises(requests.ConnectionError):
            requests.get(up.url + QUOTE, timeout=5)
        up.faults.reset_next(1)
        with pytest.raises(UpstreamUnavailable):
            SimpleJsonGetter(up.url).get_json("/v7/finance/quote", {"symbols": "AAPL"})
        assert requests.get(up.url + QUOTE, timeout=5).status_code == 200
        assert up.count(outcome="reset") == 3


def test_stall_outlasts_client_timeout_and_stop_is_prompt() -> None:
    up = FakeUpstream().start()
    try:
        up.faults.stall_next(1, seconds=30)
        with pytest.raises(requests.Timeout):
            requests.get(up.url + QUOTE, timeout=0.3)
        assert requests.get(up.url + QUOTE, timeout=5).status_code == 200
    finally:
        started = time.monotonic()
        up.stop()
        assert time.monotonic() - started < 3


def test_latency() -> None:
    with FakeUpstream() as up:
        up.faults.configure(latency=0.2)
        started = time.monotonic()
        assert requests.get(up.url + QUOTE, timeout=5).status_code == 200
        assert time.monotonic() - started >= 0.2


def test_server_rate_limit_5_per_second() -> None:
    with FakeUpstream() as up:
        up.faults.rate_limit(5)
        with requests.Session() as s:
            started = time.monotonic()
            rs = [s.get(up.url + QUOTE, timeout=5) for _ in range(20)]
            elapsed = time.monotonic() - started
            codes = [r.status_code for r in rs]
            assert codes[:5] == [200] * 5  # the bucket starts full (burst 5)
            assert codes.count(200) <= 5 + int(5 * elapsed) + 1
            assert codes.count(429) >= 10
            assert all(r.headers["Retry-After"] == "1" for r in rs if r.status_code == 429)
            time.sleep(1.05)
            paced = []
            for _ in range(8):  # 4 req/s stays under the limit
                paced.append(s.get(up.url + QUOTE, timeout=5).status_code)
                time.sleep(0.25)
            assert paced == [200] * 8
        up.faults.rate_limit(None)
        assert _statuses(up, 10) == [200] * 10


def test_scope_and_counting_per_route() -> None:
    with FakeUpstream() as up:
        up.faults.configure(error_rate=1.0, scope={"chart"})
        g = SimpleJsonGetter(up.url)
        g.get_json("/v7/finance/options/AAPL")
        g.get_json("/api/calendar/earnings", {"date": "2025-01-30"})
        with pytest.raises(UpstreamUnavailable):
            g.get_json("/v8/finance/chart/AAPL", {"period1": "0", "period2": "1"})
        assert up.counts() == {"options": 1, "earnings": 1, "chart": 1}
        assert up.count("options", key="AAPL") == 1 and up.count("earnings", key="2025-01-30")
        up.faults.clear()
        up.reset_counts()
        with ThreadPoolExecutor(25) as pool:
            list(pool.map(lambda _: g.get_json("/v7/finance/options/MSFT"), range(50)))
        assert up.counts() == {"options": 50}
