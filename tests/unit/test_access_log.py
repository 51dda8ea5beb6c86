"""The access-log fast path writes the same line the logging module would."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tradestats.telemetry import logs


@pytest.fixture
def json_logging() -> Iterator[None]:
    """Our JSON handler alone on the root logger. pytest attaches its capture handlers
    around each test phase, so they are detached here, at the start of the test body."""
    root = logging.getLogger()
    level = root.level
    logs.configure_logging("INFO", "json")
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_tradestats", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logs._handler = None


@pytest.mark.parametrize(
    "path",
    ["/api/info", '/api/ticker/"quoted"\\back', "/api/\u00e9t\u00e9/\u2603", "/a\nb\x00c"],
)
def test_fast_line_equals_the_formatter_line(path: str) -> None:
    record = logging.makeLogRecord(
        {
            "name": logs.ACCESS_LOGGER,
            "levelname": "INFO",
            "msg": "request",
            "created": 1_700_000_000.1234,
            "request_id": "abc123",
            "method": "GET",
            "route": "/api/options/<ticker>",
            "path": path,
            "status": 404,
            "duration_ms": 1.25,
        }
    )
    slow = logs.JsonFormatter().format(record)
    fast = logs.format_access(
        1_700_000_000.1234, "abc123", "GET", "/api/options/<ticker>", path, 404, 1.25
    )
    assert fast == slow
    assert json.loads(fast)["path"] == path


def _detach_pytest_handlers() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if not getattr(handler, "_tradestats", False):
            root.removeHandler(handler)


def test_sink_only_when_nothing_else_would_see_the_record(json_logging: None) -> None:
    _detach_pytest_handlers()
    sink = logs.access_sink()
    assert sink is not None
    extra = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(extra)
    try:
        assert logs.access_sink() is None  # caplog-style extra handler: slow path
    finally:
        root.removeHandler(extra)
    logging.getLogger(logs.ACCESS_LOGGER).setLevel(logging.WARNING)
    try:
        assert logs.access_sink() is None
    finally:
        logging.getLogger(logs.ACCESS_LOGGER).setLevel(logging.NOTSET)
    logs.configure_logging("INFO", "text")
    assert logs.access_sink() is None


def test_queued_lines_are_written_on_flush(json_logging: None) -> None:
    _detach_pytest_handlers()
    sink = logs.access_sink()
    assert sink is not None
    out = io.StringIO()
    sink.stream = out
    sink.enqueue_access(
        (1_700_000_000.5, "rid-1", "POST", "/api/imports", "/api/imports", 201, 3.5)
    )
    sink.flush()
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line == {
        "time": "2023-11-14T22:13:20.500Z",
        "level": "info",
        "logger": "tradestats.access",
        "message": "request",
        "request_id": "rid-1",
        "method": "POST",
        "route": "/api/imports",
        "path": "/api/imports",
        "status": 201,
        "duration_ms": 3.5,
    }
