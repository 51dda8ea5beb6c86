"""Structured logging: one JSON object per line, with the request id on every line.

The request id lives in a context variable set by the app for the duration of a request,
so log lines from any module (store, market, jobs) carry it without being passed around.
"""

from __future__ import annotations

import atexit
import collections
import contextvars
import json
import logging
import os
import sys
import threading
import time
from typing import Any, TextIO

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tradestats_request_id", default=None
)

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# One encoder for all lines: json.dumps with non-default options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False)


_iso_second: tuple[int, str] = (-1, "")


def iso_utc(created: float) -> str:
    """`created` (epoch seconds) in UTC as ISO 8601 with milliseconds and ``Z``, the form
    of every timestamp the service writes (log lines, health checks). The text of the
    second is formatted once per second, not once per call; it is kept as one tuple, so
    a thread never pairs one second's number with another second's text."""
    global _iso_second
    second = int(created)
    cached = _iso_second
    if cached[0] != second:
        cached = _iso_second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": iso_utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id_var.get()
        if rid:
            payload["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key != "request_id" and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc_info"] = record.exc_text
        return _ENCODER.encode(payload)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, still carrying the request id."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        rid = getattr(record, "request_id", None) or request_id_var.get()
        extras = {
            k: v
            for k, v in record.__dict__.items()
            if k not in _STANDARD_ATTRS and k != "request_id" and not k.startswith("_")
        }
        tail = " ".join(f"{k}={v}" for k, v in extras.items())
        prefix = f"[{rid}] " if rid else ""
        return f"{prefix}{base} {tail}".rstrip()


#: One access-log line before formatting: created (epoch s), request id, method, route,
#: path, status, duration in ms.
AccessEntry = tuple[float, str, str, str, str, int, float]


def format_access(
    created: float, rid: str, method: str, route: str, path: str, status: int, duration_ms: float
) -> str:
    """The access line exactly as `JsonFormatter` writes the same record (same keys, same
    order), built directly: method, route and request id are already validated tokens,
    so only the path, which the client chose, needs JSON escaping."""
    return (
        f'{{"time":"{iso_utc(created)}","level":"info",'
        f'"logger":"{ACCESS_LOGGER}","message":"request","request_id":"{rid}",'
        f'"method":"{method}","route":{_ENCODER.encode(route)},'
        f'"path":{_ENCODER.encode(path)},"status":{status},"duration_ms":{duration_ms!r}}}'
    )


ACCESS_LOGGER = "tradestats.access"
# The same objects for the life of the process (the logging manager never replaces a
# logger); looked up once because getLogger takes logging's module lock, on every request.
_ROOT_LOGGER = logging.getLogger()
_ACCESS_LOGGER = logging.getLogger(ACCESS_LOGGER)


def access_sink() -> BufferedStreamHandler | None:
    """The handler access lines may be queued on directly, skipping `logging.LogRecord`
    (~60% of the cost of a line), or None when that would change what gets logged: text
    format, another handler or filter attached (tests' caplog), level above INFO."""
    handler = _handler
    if handler is None or not isinstance(handler.formatter, JsonFormatter):
        return None
    root = _ROOT_LOGGER
    access = _ACCESS_LOGGER
    if (
        len(root.handlers) != 1
        or root.handlers[0] is not handler
        or access.handlers
        or access.filters
        or root.filters
        or handler.filters
        or not access.propagate
        or not access.isEnabledFor(logging.INFO)
        or handler.level > logging.INFO
    ):
        return None
    return handler


class BufferedStreamHandler(logging.Handler):
    """Appends records to a deque; a background thread formats and writes them in batches.

    Request threads neither format, nor take a stream lock, nor wake another thread per
    line: under load, a per-record lock (StreamHandler) or a per-record wake-up
    (QueueHandler) was the largest cost of a busy worker (py-spy, ~20% of GIL time).
    Lines reach the stream within `interval` seconds; `flush()` and exit drain the buffer.
    After fork() the child starts its own writer thread.
    """

    def __init__(self, stream: TextIO, interval: float = 0.05) -> None:
        super().__init__()
        self.stream = stream
        self.interval = interval
        # LogRecords, or access-log tuples queued by `log_access` (formatted by the writer).
        self._buffer: collections.deque[logging.LogRecord | AccessEntry] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._write_lock = threading.Lock()
        self._start_writer()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._start_writer)

    def _start_writer(self) -> None:
        self._buffer = collections.deque(self._buffer)
        self._wake = threading.Event()
        threading.Thread(target=self._run, name="log-writer", daemon=True).start()

    def handle(self, record: logging.LogRecord) -> bool:
        # logging.Handler.handle() takes the handler lock around emit(); a deque append
        # is already thread-safe, and that lock is the one the writer holds during I/O.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if "request_id" not in record.__dict__:
            record.request_id = request_id_var.get()
        self._buffer.append(record)
        if len(self._buffer) > 5000:  # bound memory under a burst
            self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        lines = []
        while True:
            try:
                record = self._buffer.popleft()
            except IndexError:
                break
            try:
                if isinstance(record, tuple):
                    lines.append(format_access(*record))
                else:
                    lines.append(self.format(record))
            except Exception:  # a bad record must not stop logging
                if isinstance(record, logging.LogRecord):
                    self.handleError(record)
        if lines:
            with self._write_lock:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()

    def enqueue_access(self, entry: AccessEntry) -> None:
        """Queue one access line (see `access_sink`)."""
        self._buffer.append(entry)
        if len(self._buffer) > 5000:
            self._wake.set()

    def flush(self) -> None:
        self._drain()

    def close(self) -> None:
        self._drain()
        self._closed = True
        super().close()


_handler: BufferedStreamHandler | None = None


def configure_logging(level: str, fmt: str) -> None:
    """Route the root logger to stderr in the chosen format (idempotent, fork-safe)."""
    global _handler
    handler = BufferedStreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_tradestats", False):
            root.removeHandler(old)
            old.close()
    handler._tradestats = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    if _handler is None:
        atexit.register(_flush_at_exit)
    _handler = handler
    # Caller file/line and thread names are not in our log lines; skip collecting
    # them on every record (they cost ~25% of an access-log line).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    # Werkzeug's own access log would duplicate ours; Alembic's plugin chatter is noise.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


def _flush_at_exit() -> None:
    if _handler is not None:
        _handler.flush()
