"""A fake of the market-data upstreams (Yahoo Finance, Nasdaq) on a real local socket.

``FakeUpstream`` is a ``ThreadingHTTPServer`` on ``127.0.0.1`` (free port) that replays
recorded responses and injects faults::

    with FakeUpstream(seed=1) as up:
        up.faults.configure(error_rate=0.3, latency=0.01)
        up.faults.rate_limit(5)               # token bucket: 5 req/s, burst 5 -> 429
        up.faults.fail_next(2, status=503)    # the next two requests
        up.faults.throttle_next(1, retry_after=2)
        up.faults.reset_next(1)               # close the socket (RST) without answering
        up.faults.stall_next(1, seconds=3)    # answer late: longer than a client timeout
        ... YahooMarket(SimpleJsonGetter(up.url), SimpleJsonGetter(up.url)) ...
        assert up.count("options") == 1

Routes (Yahoo and Nasdaq paths do not collide, so one server can play both):

- ``/v7/finance/quote?symbols=A,B``: the recorded AAPL quote, symbol swapped for others;
- ``/v8/finance/chart/T?period1&period2``: the recorded AAPL daily bars (2020-01-02,
  2020-08-31..2020-11-06, with the 4:1 split and a dividend) for windows overlapping
  them; other windows get deterministic weekday bars replayed from the recorded ones
  (forwards, then backwards, so prices stay continuous and bounded) at the quote's level;
- ``/v7/finance/options/T[?date=E]``: the recorded AAPL (or QQQ) listing + nearest chain;
  other listed expiries reuse the nearest chain's contracts; unlisted/expired dates get
  Yahoo's empty chain (for AAPL 2022-03-01 the recorded one);
- ``/api/calendar/earnings?date=D``: a recorded/hand-written Nasdaq body for ``D`` if one
  was loaded, else Nasdaq's "no rows" body.

Yahoo's cookie + crumb handshake (always served; enforced only with ``require_crumb``):

- ``/`` and ``/fc`` (``cookie_url``): 404, like ``fc.yahoo.com``, with ``Set-Cookie: A3=...``;
- ``/v1/test/getcrumb``: the current crumb as text/plain with the current cookie, else
  401 "Invalid Cookie";
- with ``require_crumb=True``, the v7 routes (quote, options) answer 401 "Invalid Crumb"
  unless the request carries the current cookie and ``crumb``. ``rotate_crumb()``
  changes the crumb (and, with ``cookie=True``, the cookie) server-side, as Yahoo's
  expiry does. Routes are recorded as "cookie" and "crumb".

``unknown_tickers`` answer as Yahoo does for unknown symbols (quote: no result; chart:
404 "No data found"; options: empty result), ``no_options_tickers`` with an empty
expiry list. ``today`` shifts every recorded timestamp by whole weeks so the nearest
recorded expiry is the first on/after ``today`` (weekdays and times are kept).
``override(route, key, body, status)`` replaces one answer (malformed-shape tests).

Faults are decided per request, in arrival order, under one lock, from
``random.Random(seed)``: the k-th request gets the same fate in every run with the same
seed and configuration. Every request is recorded (route, key, outcome) for ``count``.
"""

from __future__ import annotations

import calendar
import collections
import datetime as dt
import json
import math
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upstream"
YAHOO_FIXTURES = FIXTURES / "yahoo"
NASDAQ_FIXTURES = FIXTURES / "nasdaq"

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-^=]{0,14}$")
_DATE_IN_NAME = re.compile(r"calendar_earnings_(\d{4}-\d{2}-\d{2})")
_TIME_KEYS = frozenset(
    {
        "expirationDates",
        "expirationDate",
        "expiration",
        "lastTradeDate",
        "regularMarketTime",
        "postMarketTime",
        "preMarketTime",
        "dividendDate",
        "earningsTimestamp",
        "earningsTimestampStart",
        "earningsTimestampEnd",
        "earningsCallTimestampStart",
        "earningsCallTimestampEnd",
    }
)
_HANDSHAKE_ROUTES = frozenset({"cookie", "crumb"})  # faulted only when scoped explicitly
_RECORDED_FIRST_EXPIRY = dt.date(2025, 2, 28)
_WEEKDAY_EPOCH = dt.date(2000, 1, 3)  # a Monday: anchors synthetic bars to the calendar
_SESSION_OPEN_UTC = 14 * 3600 + 1800  # 09:30 EST


def repo_root() -> Path:
    """The repository root (the folder holding ``pyproject.toml``)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists():
            return parent
    return here.parents[2]


def shared_samples() -> Path | None:
    """``../shared/samples`` next to the repository, if present (AGPL data lives there)."""
    path = repo_root().parent / "shared" / "samples"
    return path if path.is_dir() else None


def load_yahoo_body(name: str) -> Any:
    """The recorded ``response.bodyJson`` of ``tests/fixtures/upstream/yahoo/<name>``."""
    raw = json.loads((YAHOO_FIXTURES / name).read_text(encoding="utf-8"))
    return raw["response"]["bodyJson"]


# -- faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """What the server does with one request."""

    kind: str  # "serve" | "status" | "reset" | "stall"
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0  # seconds to sleep before answering (latency or stall)


@dataclass
class _Burst:
    action: Action
    remaining: int


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity``; starts full."""

    def __init__(self, rate: float, capacity: float, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()

    def take(self) -> float:
        """0.0 if a token was taken, else seconds until one is available."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class FaultPlan:
    """Thread-safe, runtime-changeable fault injection; deterministic given ``seed``.

    Per request, in order: server rate limit (429 + Retry-After) -> queued bursts
    (``fail_next`` / ``throttle_next`` / ``reset_next`` / ``stall_next``) -> random
    ``reset_rate`` / ``error_rate`` (one draw each per request) -> ``latency``.
    ``scope`` limits all faults to some routes ("quote", "chart", "options", "earnings",
    "cookie", "crumb"). The handshake routes ("cookie", "crumb") get faults only when
    ``scope`` names them, so enabling the handshake leaves other fault plans unchanged.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self._bursts: collections.deque[_Burst] = collections.deque()
        self._bucket: TokenBucket | None = None
        self.error_rate = 0.0
        self.error_statuses: tuple[int, ...] = (500, 503)
        self.reset_rate = 0.0
        self.latency = 0.0
        self.scope: frozenset[str] | None = None

    def configure(
        self,
        *,
        error_rate: float | None = None,
        error_statuses: Iterable[int] | None = None,
        reset_rate: float | None = None,
        latency: float | None = None,
        scope: Iterable[str] | None = None,
    ) -> FaultPlan:
        with self._lock:
            if error_rate is not None:
                self.error_rate = error_rate
            if error_statuses is not None:
                self.error_statuses = tuple(error_statuses)
            if reset_rate is not None:
                self.reset_rate = reset_rate
            if latency is not None:
                self.latency = latency
            if scope is not None:
                self.scope = frozenset(scope)
        return self

    def _push(self, n: int, action: Action) -> FaultPlan:
        with self._lock:
            self._bursts.append(_Burst(action, n))
        return self

    def fail_next(self, n: int, status: int = 503, retry_after: float | None = None) -> FaultPlan:
        """The next ``n`` requests answer ``status`` (after earlier queued bursts)."""
        return self._push(n, Action("status", status, retry_after))

    def throttle_next(self, n: int, retry_after: float = 1.0) -> FaultPlan:
        """The next ``n`` requests answer 429 with ``Retry-After: retry_after``."""
        return self._push(n, Action("status", 429, retry_after))

    def reset_next(self, n: int) -> FaultPlan:
        """The next ``n`` requests: the socket is closed (RST) without an answer."""
        return self._push(n, Action("reset"))

    def stall_next(self, n: int, seconds: float) -> FaultPlan:
        """The next ``n`` requests are answered only after ``seconds`` (client timeouts)."""
        return self._push(n, Action("stall", delay=seconds))

    def rate_limit(self, per_second: float | None, burst: float | None = None) -> FaultPlan:
        """Server-side token bucket (``None`` disables): over the limit -> 429."""
        with self._lock:
            if per_second is None:
                self._bucket = None
            else:
                self._bucket = TokenBucket(per_second, burst if burst else max(1.0, per_second))
        return self

    def clear(self) -> FaultPlan:
        """No faults; the random sequence restarts from ``seed``."""
        with self._lock:
            self._bursts.clear()
            self._bucket = None
            self.error_rate = self.reset_rate = self.latency = 0.0
            self.scope = None
            self._rng = random.Random(self._seed)
        return self

    def decide(self, route: str) -> Action:
        with self._lock:
            if self.scope is not None and route not in self.scope:
                return Action("serve")
            if self.scope is None and route in _HANDSHAKE_ROUTES:
                return Action("serve")
            if self._bucket is not None:
                wait = self._bucket.take()
                if wait > 0.0:
                    return Action("status", 429, float(max(1, math.ceil(wait))))
            if self._bursts:
                burst = self._bursts[0]
                burst.remaining -= 1
                if burst.remaining <= 0:
                    self._bursts.popleft()
                return burst.action
            reset_draw, error_draw = self._rng.random(), self._rng.random()
            if reset_draw < self.reset_rate:
                return Action("reset")
            if error_draw < self.error_rate:
                return Action("status", self._rng.choice(self.error_statuses))
            return Action("serve", delay=self.latency)


# -- recorded data -----------------------------------------------------------------------


def _shift_times(obj: Any, seconds: int) -> Any:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if k in _TIME_KEYS and isinstance(v, int):
                out[k] = v + seconds
            elif k in _TIME_KEYS and isinstance(v, list):
                out[k] = [x + seconds if isinstance(x, int) else x for x in v]
            else:
                out[k] = _shift_times(v, seconds)
        return out
    if isinstance(obj, list):
        return [_shift_times(v, seconds) for v in obj]
    return obj


@dataclass(frozen=True)
class _RecordedBar:
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    adjclose: float


def _recorded_bars(bodies: Iterable[Any]) -> tuple[list[_RecordedBar], dict[str, Any]]:
    bars: dict[int, _RecordedBar] = {}
    events: dict[str, Any] = {"dividends": {}, "splits": {}}
    for body in bodies:
        result = body["chart"]["result"][0]
        q = result["indicators"]["quote"][0]
        adj = result["indicators"].get("adjclose", [{}])[0].get("adjclose", q["close"])
        for i, ts in enumerate(result.get("timestamp", [])):
            bars[ts] = _RecordedBar(
                ts, q["open"][i], q["high"][i], q["low"][i], q["close"][i], q["volume"][i], adj[i]
            )
        for kind in ("dividends", "splits"):
            events[kind].update(result.get("events", {}).get(kind, {}))
    return [bars[t] for t in sorted(bars)], events


def _as_of(day: dt.date) -> str:
    return f"{day:%a}, {day:%b} {day.day}, {day.year}"


@dataclass
class RequestRecord:
    route: str  # "quote" | "chart" | "options" | "earnings" | "cookie" | "crumb" | "other"
    key: str  # ticker(s) or date
    path: str
    params: dict[str, str]
    outcome: str = "ok"  # "ok", "reset", "stall", or the injected status as a string
    at: float = field(default_factory=time.monotonic)


class FakeUpstream:
    """Recorded Yahoo/Nasdaq answers on ``http://127.0.0.1:<port>``; see module doc."""

    def __init__(
        self,
        *,
        seed: int = 0,
        today: dt.date | None = None,
        unknown_tickers: Iterable[str] = ("NOSUCH", "ZZZZ"),
        no_options_tickers: Iterable[str] = ("NOOPT",),
        nasdaq_dirs: Iterable[Path] = (NASDAQ_FIXTURES,),
        synthesize_history: bool = True,
        require_crumb: bool = False,
    ) -> None:
        self.faults = FaultPlan(seed)
        self.require_crumb = require_crumb
        self._auth_lock = threading.Lock()
        self._auth_generation = 0
        self._cookie_generation = 0
        self.unknown_tickers = frozenset(t.upper() for t in unknown_tickers)
        self.no_options_tickers = frozenset(t.upper() for t in no_options_tickers)
        self.synthesize_history = synthesize_history
        self._records: list[RequestRecord] = []
        self._records_lock = threading.Lock()
        self._overrides: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

        shift_days = 0
        if today is not None:
            shift_days = 7 * math.ceil((today - _RECORDED_FIRST_EXPIRY).days / 7)
        self.time_shift = shift_days * 86_400

        def shifted(name: str) -> Any:
            return _shift_times(load_yahoo_body(name), self.time_shift)

        self._quote_row: dict[str, Any] = shifted("yahoo-finance2_quote-AAPL.json")[
            "quoteResponse"
        ]["result"][0]
        self._options = {
            "AAPL": shifted("yahoo-finance2_options-AAPL.json"),
            "QQQ": shifted("yahoo-finance2_options-QQQ.json"),
        }
        self._expired_aapl = load_yahoo_body("yahoo-finance2_options-AAPL-expire-2022-03-01.json")
        charts = [
            load_yahoo_body("yahoo-finance2_chart-AAPL-2020-01-01-to-2020-01-03.json"),
            load_yahoo_body("yahoo-finance2_chart-AAPL-2020-08-31-to-2020-11-07.json"),
        ]
        self._chart_meta: dict[str, Any] = charts[1]["chart"]["result"][0]["meta"]
        self._bars, self._events = _recorded_bars(charts)
        mean_close = sum(b.close for b in self._bars) / len(self._bars)
        self._synthetic_scale = float(self._quote_row["regularMarketPrice"]) / mean_close
        self._calendar: dict[dt.date, Any] = {}
        for folder in nasdaq_dirs:
            for path in sorted(Path(folder).glob("*calendar_earnings_*.json")):
                m = _DATE_IN_NAME.search(path.name)
                if m:
                    day = dt.date.fromisoformat(m.group(1))
                    self._calendar[day] = json.loads(path.read_text(encoding="utf-8"))

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeUpstream:
        handler = type("_BoundHandler", (_Handler,), {"upstream": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in latency/stall
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cookie_url(self) -> str:
        """The stand-in of ``https://fc.yahoo.com/`` (TRADESTATS_YAHOO_COOKIE_URL)."""
        return f"{self.url}/fc"

    # -- cookie + crumb ------------------------------------------------------------------

    @property
    def crumb(self) -> str:
        """The crumb the v7 routes currently accept (contains '/', as Yahoo's often do)."""
        with self._auth_lock:
            return f"Cr{self._auth_generation}/u.mb7"

    @property
    def cookie(self) -> str:
        """The current value of the ``A3`` cookie."""
        with self._auth_lock:
            return f"d=AQABBfake{self._cookie_generation}&S=AQAAAfake"

    def rotate_crumb(self, *, cookie: bool = False) -> str:
        """A new crumb (and cookie): the old one is answered 401 "Invalid Crumb"."""
        with self._auth_lock:
            self._auth_generation += 1
            if cookie:
                self._cookie_generation += 1
        return self.crumb

    def _has_cookie(self, cookie_header: str | None) -> bool:
        if not cookie_header:
            return False
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(cookie_header)
        except CookieError:
            return False
        morsel = jar.get("A3")
        return morsel is not None and morsel.value == self.cookie

    def auth_answer(
        self, route: str, params: Mapping[str, str], cookie_header: str | None
    ) -> tuple[int, bytes, dict[str, str]] | None:
        """The cookie/crumb routes' answers, and the v7 routes' 401 when the crumb or
        cookie is missing or stale (``require_crumb``); ``None``: answer normally."""
        json_type = {"Content-Type": "application/json;charset=utf-8"}
        if route == "cookie":
            headers = {
                "Content-Type": "text/html;charset=utf-8",
                "Set-Cookie": f"A3={self.cookie}; Path=/; Max-Age=31557600; HttpOnly",
            }
            return 404, b"<html><body>Not Found</body></html>", headers
        if route == "crumb":
            if not self._has_cookie(cookie_header):
                return 401, _unauthorized("Invalid Cookie"), json_type
            return 200, self.crumb.encode(), {"Content-Type": "text/plain;charset=utf-8"}
        if self.require_crumb and route in ("quote", "options"):
            if params.get("crumb") != self.crumb or not self._has_cookie(cookie_header):
                return 401, _unauthorized("Invalid Crumb"), json_type
        return None

    # -- observation and overrides -------------------------------------------------------

    def records(self) -> list[RequestRecord]:
        with self._records_lock:
            return list(self._records)

    def count(
        self, route: str | None = None, key: str | None = None, outcome: str | None = None
    ) -> int:
        """Requests received (every fate included), optionally filtered."""
        return sum(
            1
            for r in self.records()
            if (route is None or r.route == route)
            and (key is None or r.key == key)
            and (outcome is None or r.outcome == outcome)
        )

    def counts(self) -> dict[str, int]:
        """Requests received per route."""
        return dict(collections.Counter(r.route for r in self.records()))

    def reset_counts(self) -> None:
        with self._records_lock:
            self._records.clear()

    def override(self, route: str, key: str, body: Any, status: int = 200) -> None:
        """Answer ``route`` for ``key`` (ticker, or ISO date for "earnings") with ``body``:
        JSON-encoded unless ``bytes``/``str`` (sent as is)."""
        if isinstance(body, str):
            raw = body.encode()
        elif isinstance(body, bytes):
            raw = body
        else:
            raw = json.dumps(body).encode()
        self._overrides[(route, key)] = (status, raw)

    # -- routing -------------------------------------------------------------------------

    def _route(self, path: str) -> tuple[str, str]:
        if path == "/v7/finance/quote":
            return "quote", ""
        for prefix, route in (("/v8/finance/chart/", "chart"), ("/v7/finance/options/", "options")):
            if path.startswith(prefix):
                return route, unquote(path[len(prefix) :]).upper()
        if path == "/api/calendar/earnings":
            return "earnings", ""
        if path in ("/", "/fc"):
            return "cookie", ""
        if path == "/v1/test/getcrumb":
            return "crumb", ""
        return "other", ""

    def _record(self, rec: RequestRecord) -> None:
        with self._records_lock:
            self._records.append(rec)

    def answer(self, route: str, key: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        override = self._overrides.get((route, key))
        if override is not None:
            return override
        if route == "quote":
            return self._quote(key)
        if route == "chart":
            return self._chart(key, params)
        if route == "options":
            return self._options_answer(key, params)
        if route == "earnings":
            return self._earnings(params)
        return 404, b'{"error": "no such route in the fake upstream"}'

    def _known(self, sym: str) -> bool:
        return bool(_SYMBOL.match(sym)) and sym not in self.unknown_tickers

    @staticmethod
    def _swapped(obj: Any, sym: str) -> bytes:
        return json.dumps(obj).replace("AAPL", sym).encode()

    def _quote(self, symbols: str) -> tuple[int, bytes]:
        syms = [s.strip().upper() for s in symbols.split(",") if s.strip()]
        if not syms:
            error = {"code": "Bad Request", "description": "Missing value for symbols"}
            return 400, json.dumps({"quoteResponse": {"result": None, "error": error}}).encode()
        rows = [json.loads(self._swapped(self._quote_row, s)) for s in syms if self._known(s)]
        return 200, json.dumps({"quoteResponse": {"result": rows, "error": None}}).encode()

    def _chart(self, sym: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        if not self._known(sym):
            error = {"code": "Not Found", "description": "No data found, symbol may be delisted"}
            return 404, json.dumps({"chart": {"result": None, "error": error}}).encode()
        p1 = int(params.get("period1", "0"))
        p2 = int(params.get("period2", str(int(time.time()))))
        recorded = [b for b in self._bars if p1 <= b.ts < p2]
        events = {
            kind: {k: v for k, v in evs.items() if p1 <= int(k) < p2}
            for kind, evs in self._events.items()
        }
        first, last = self._bars[0].ts, self._bars[-1].ts
        if not recorded and self.synthesize_history and (p2 <= first or p1 > last):
            recorded = self._synthetic_bars(p1, p2)
            events = {}
        result: dict[str, Any] = {"meta": self._chart_meta}
        if recorded:
            result["timestamp"] = [b.ts for b in recorded]
            if any(events.values()):
                result["events"] = {k: v for k, v in events.items() if v}
            result["indicators"] = {
                "quote": [
                    {
                        "open": [b.open for b in recorded],
                        "high": [b.high for b in recorded],
                        "low": [b.low for b in recorded],
                        "close": [b.close for b in recorded],
                        "volume": [b.volume for b in recorded],
                    }
                ],
                "adjclose": [{"adjclose": [b.adjclose for b in recorded]}],
            }
        else:
            result["indicators"] = {"quote": [{}]}
        return 200, self._swapped({"chart": {"result": [result], "error": None}}, sym)

    def _synthetic_bars(self, p1: int, p2: int) -> list[_RecordedBar]:
        out: list[_RecordedBar] = []
        n, f = len(self._bars), self._synthetic_scale
        day = dt.datetime.fromtimestamp(max(p1, 0), dt.UTC).date()
        end = dt.datetime.fromtimestamp(p2, dt.UTC).date()
        while day <= end:
            ts = calendar.timegm(day.timetuple()) + _SESSION_OPEN_UTC
            if day.weekday() < 5 and p1 <= ts < p2:
                days = (day - _WEEKDAY_EPOCH).days
                j = (days // 7 * 5 + days % 7) % (2 * n)
                b = self._bars[j] if j < n else self._bars[2 * n - 1 - j]
                o, c = (b.open, b.close) if j < n else (b.close, b.open)
                out.append(
                    _RecordedBar(
                        ts,
                        round(o * f, 4),
                        round(b.high * f, 4),
                        round(b.low * f, 4),
                        round(c * f, 4),
                        b.volume,
                        round(c * f, 4),
                    )
                )
            day += dt.timedelta(days=1)
        return out

    def _options_answer(self, sym: str, params: Mapping[str, str]) -> tuple[int, bytes]:
        if not self._known(sym):
            return 200, b'{"optionChain": {"result": [], "error": null}}'
        template = self._options.get(sym, self._options["AAPL"])
        result = dict(template["optionChain"]["result"][0])
        if sym in self.no_options_tickers:
            result.update(expirationDates=[], strikes=[], options=[])
        elif "date" in params:
            date = int(params["date"])
            if sym == "AAPL" and self.time_shift == 0 and date == 1646092800:
                return 200, json.dumps(self._expired_aapl).encode()
            listed = result["expirationDates"]
            nearest = result["options"][0]
            if date not in listed:
                empty = {"expirationDate": date, "hasMiniOptions": False, "calls": [], "puts": []}
                result.update(strikes=[], options=[empty])
            elif date != nearest["expirationDate"]:
                moved = {
                    "expirationDate": date,
                    "hasMiniOptions": nearest.get("hasMiniOptions", False),
                    "calls": [{**c, "expiration": date} for c in nearest["calls"]],
                    "puts": [{**p, "expiration": date} for p in nearest["puts"]],
                }
                result["options"] = [moved]
        body = {"optionChain": {"result": [result], "error": None}}
        return 200, self._swapped(body, sym) if sym != "QQQ" else json.dumps(body).encode()

    def _earnings(self, params: Mapping[str, str]) -> tuple[int, bytes]:
        try:
            day = dt.date.fromisoformat(params.get("date", ""))
        except ValueError:
            status = {
                "rCode": 400,
                "bCodeMessage": [{"code": 1001, "errorMessage": "date is invalid"}],
                "developerMessage": None,
            }
            return 200, json.dumps({"data": None, "message": None, "status": status}).encode()
        body = self._calendar.get(day)
        if body is None:
            body = {
                "data": {"asOf": _as_of(day), "headers": {}, "rows": None},
                "message": "No data found for this date.",
                "status": {"rCode": 200, "bCodeMessage": None, "developerMessage": None},
            }
        return 200, json.dumps(body).encode()


def _unauthorized(description: str) -> bytes:
    error = {"code": "Unauthorized", "description": description}
    return json.dumps({"finance": {"result": None, "error": error}}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # concurrent scans connect at once; 5 would drop SYNs


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so pooled client sessions are exercised
    wbufsize = -1  # buffered: headers and body leave in one segment (no Nagle stalls)
    disable_nagle_algorithm = True
    upstream: FakeUpstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        up = self.upstream
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        route, key = up._route(url.path)
        if route == "quote":
            key = params.get("symbols", "").upper()
        elif route == "earnings":
            key = params.get("date", "")
        rec = RequestRecord(route, key, url.path, params)
        action = up.faults.decide(route)
        rec.outcome = {"serve": "ok", "reset": "reset", "stall": "stall"}.get(
            action.kind, str(action.status)
        )
        up._record(rec)
        if action.kind == "reset":
            self._reset()
            return
        if action.delay > 0.0 and up._stopping.wait(action.delay):
            self._reset()
            return
        if action.kind == "status":
            body = json.dumps({"error": f"injected {action.status}"}).encode()
            self._send(action.status, body, action.retry_after)
            return
        auth = up.auth_answer(route, params, self.headers.get("Cookie"))
        if auth is not None:
            if auth[0] != 200 and route != "cookie":
                rec.outcome = str(auth[0])
            status, body, headers = auth
            self._send(status, body, None, headers)
            return
        status, body = up.answer(route, key, params)
        self._send(status, body, None)

    def _send(
        self,
        status: int,
        body: bytes,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            extra = dict(headers or {})
            self.send_header(
                "Content-Type", extra.pop("Content-Type", "application/json;charset=utf-8")
            )
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            if retry_after is not None:
                self.send_header("Retry-After", f"{retry_after:g}")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client gave up (timeout) before we answered
            self.close_connection = True

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees a reset, not a clean EOF."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
