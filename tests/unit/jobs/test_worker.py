"""``tradestats worker``'s RQ settings bound how long a dead worker's scan waits: its
registry entry expires soon after the missed heartbeat, and an idle survivor runs the
clean-up that requeues it at least every ``MAINTENANCE_INTERVAL`` s (the end-to-end
proof with real processes is tests/chaos/test_scale_out.py)."""

from __future__ import annotations

import sys

import pytest

from support.scans import redis_or_skip
from tradestats.jobs.runner import SCAN_JOB_TIMEOUT, execute_scan_job
from tradestats.jobs.worker import (
    HEARTBEAT_GRACE,
    JOB_MONITORING_INTERVAL,
    MAINTENANCE_INTERVAL,
    build_worker,
)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(sys.platform == "win32", reason="the forking worker is POSIX-only"),
]


def test_dead_worker_scan_is_requeued_within_40_seconds() -> None:
    from rq.job import Job

    client = redis_or_skip()
    worker = build_worker(client, name="test-worker-settings")
    job = Job.create(execute_scan_job, args=("x",), connection=client, timeout=SCAN_JOB_TIMEOUT)

    ttl = worker.get_heartbeat_ttl(job)
    assert ttl == JOB_MONITORING_INTERVAL + HEARTBEAT_GRACE
    # RQ's own worker waits 60 s past the beat, and an idle one polls the queue (and so
    # cleans registries) only every worker_ttl - 15 = 405 s.
    assert worker.dequeue_timeout <= MAINTENANCE_INTERVAL
    assert worker.maintenance_interval == MAINTENANCE_INTERVAL
    assert ttl + MAINTENANCE_INTERVAL <= 40
    # Near the job timeout the heartbeat never outlives the job by more than the grace.
    assert worker.get_heartbeat_ttl(job, working_time=SCAN_JOB_TIMEOUT - 2) == 2 + HEARTBEAT_GRACE
    client.close()
