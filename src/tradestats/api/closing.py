"""A WSGI response wrapper that runs a callback once when the server closes it.

Kept free of imports beyond the standard library: the server module uses it before the
Prometheus multiprocess directory is set up, so it must not import the metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


class ClosingIterator:
    """Response iterable that runs `on_close` once, when the server closes it."""

    __slots__ = ("_closed", "_inner", "_on_close")

    def __init__(self, inner: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close = on_close
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()
