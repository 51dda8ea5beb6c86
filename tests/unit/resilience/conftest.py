"""Fixtures for resilience tests: a fake clock and the machine's Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from tradestats.resilience.clock import FakeClock

REDIS_URL = os.environ.get("TRADESTATS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def redis_conn() -> Iterator[redis.Redis]:
    """The machine's real Redis (db 15). Skips when unreachable, fails in CI."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS_URL} (CI must start it): {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_conn: redis.Redis) -> Iterator[str]:
    """A key prefix unique to this test; its keys are deleted afterwards."""
    prefix = f"tradestats-test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_conn.scan_iter(match=f"{prefix}*"))
    if keys:
        redis_conn.delete(*keys)
