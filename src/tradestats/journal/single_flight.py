"""Concurrent callers asking for the same computation share one run of it.

On a large journal a cold statistics report or strategies breakdown takes seconds; the
dashboard asks for several at once and the browser retries slow requests, so without
this each request and each retry recomputed it in parallel and none finished.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class SingleFlight:
    """Concurrent callers with the same key share one computation: the first computes,
    the others wait for its result (or its exception). Nothing is kept once it ends:
    caching the result is the caller's business."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Any, Future[Any]] = {}

    def do(self, key: Any, compute: Callable[[], T]) -> T:
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = Future()
        if not leader:
            result: T = call.result()
            return result
        try:
            value = compute()
        except BaseException as exc:
            call.set_exception(exc)
            raise
        else:
            call.set_result(value)
            return value
        finally:
            with self._lock:
                del self._calls[key]
