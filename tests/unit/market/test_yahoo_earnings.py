"""Earnings: Nasdaq's calendar (hand-written + recorded AGPL samples) and Yahoo's dates."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fake_upstream import NASDAQ_FIXTURES, FakeUpstream, load_yahoo_body, shared_samples
from support.simple_json_getter import SimpleJsonGetter
from tradestats.market.errors import DataError, UnknownTicker
from tradestats.market.yahoo import YahooMarket, parse_nasdaq_calendar

DAY = dt.date(2025, 1, 30)


def _shared_nasdaq() -> Path:
    samples = shared_samples()
    if samples is None or not (samples / "upstream" / "nasdaq").is_dir():
        pytest.skip(
            "recorded Nasdaq calendar (AGPL, not copied into the repo) lives in "
            "../shared/samples/upstream/nasdaq, which is absent here"
        )
    return samples / "upstream" / "nasdaq"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(seed=1) as up:
        yield up


@pytest.fixture
def market(upstream: FakeUpstream) -> YahooMarket:
    getter = SimpleJsonGetter(upstream.url)
    return YahooMarket(getter, getter)


def test_calendar_rows_mapping(market: YahooMarket, upstream: FakeUpstream) -> None:
    events = market.earnings_calendar(DAY)
    assert [(e.ticker, e.timing) for e in events] == [
        ("AAPL", "AMC"),  # time-after-hours
        ("XMPL", "BMO"),  # time-pre-market
        ("TINY", "unknown"),  # time-not-supplied
        ("BRK.B", "AMC"),  # symbols are upper-cased
    ]
    assert all(e.date == DAY and e.source == "nasdaq" and not e.inferred for e in events)
    assert upstream.records()[-1].params == {"date": "2025-01-30"}


def test_empty_calendar_day(market: YahooMarket) -> None:
    assert market.earnings_calendar(dt.date(2025, 2, 1)) == []  # hand-written, rows: null
    assert market.earnings_calendar(dt.date(2031, 5, 4)) == []  # fake's default answer


def test_calendar_malformed(market: YahooMarket, upstream: FakeUpstream) -> None:
    day = dt.date(2025, 3, 3)
    bad_status = {
        "data": None,
        "message": None,
        "status": {"rCode": 400, "bCodeMessage": [{"code": 1001, "errorMessage": "bad"}]},
    }
    cases = [
        bad_status,
        {"data": None, "status": {"rCode": 200}},
        {"data": {"rows": {"symbol": "AAPL"}}},
        {"data": {"rows": [{"time": "time-pre-market"}]}},
        {"data": {"rows": ["AAPL"]}},
        {"data": {"asOf": "Tue, Mar 4, 2025", "rows": [{"symbol": "AAPL"}]}},
        [],
    ]
    for body in cases:
        upstream.override("earnings", day.isoformat(), body)
        with pytest.raises(DataError):
            market.earnings_calendar(day)


def test_calendar_repeated_symbol_and_odd_time() -> None:
    body = {
        "data": {
            "asOf": "Mon, Mar 3, 2025",
            "rows": [
                {"symbol": "ABC", "time": "time-pre-market"},
                {"symbol": "ABC", "time": "time-after-hours"},
                {"symbol": "DEF", "time": "time-during-market"},
                {"symbol": "GHI"},
            ],
        }
    }
    events = parse_nasdaq_calendar(body, dt.date(2025, 3, 3))
    assert [(e.ticker, e.timing) for e in events] == [
        ("ABC", "BMO"),
        ("DEF", "unknown"),
        ("GHI", "unknown"),
    ]


@pytest.mark.parametrize(
    ("day", "rows", "timings"),
    [
        ("2024-07-01", 39, {"unknown": 38, "AMC": 1}),
        ("2024-07-02", 22, {"unknown": 19, "BMO": 2, "AMC": 1}),
        ("2024-07-03", 22, {"unknown": 21, "BMO": 1}),
    ],
)
def test_recorded_nasdaq_calendar(day: str, rows: int, timings: dict[str, int]) -> None:
    folder = _shared_nasdaq()
    with FakeUpstream(nasdaq_dirs=[NASDAQ_FIXTURES, folder]) as up:
        getter = SimpleJsonGetter(up.url)
        events = YahooMarket(getter, getter).earnings_calendar(dt.date.fromisoformat(day))
    assert len(events) == rows
    assert collections.Counter(e.timing for e in events) == timings
    if day == "2024-07-01":
        assert (events[0].ticker, events[1].ticker, events[-1].ticker) == ("GTI", "DDD", "SMFL")


def test_earnings_dates_from_quote_fields(market: YahooMarket) -> None:
    # earningsTimestamp 1738272600 = 2025-01-30 16:30 New York (reported, after close);
    # earningsTimestampStart/End = 2025-04-30 .. 2025-05-05, isEarningsDateEstimate.
    assert [(e.date, e.timing, e.inferred, e.source) for e in market.earnings_dates("AAPL")] == [
        (dt.date(2025, 1, 30), "AMC", False, "yahoo"),
        (dt.date(2025, 4, 30), "unknown", True, "yahoo"),
    ]


def _quote_body(**changes: object) -> dict[str, object]:
    body = load_yahoo_body("yahoo-finance2_quote-AAPL.json")
    row = body["quoteResponse"]["result"][0]
    row.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del row[key]
    return body  # type: ignore[no-any-return]


def test_earnings_dates_confirmed_and_absent(market: YahooMarket, upstream: FakeUpstream) -> None:
    # A confirmed next date (start == end, 07:00 New York) is a BMO, not inferred.
    upstream.override(
        "quote",
        "CONF",
        _quote_body(
            symbol="CONF",
            earningsTimestampStart=1746010800,
            earningsTimestampEnd=1746010800,
            isEarningsDateEstimate=False,
        ),
    )
    events = market.earnings_dates("CONF")
    assert [(e.date, e.timing, e.inferred) for e in events] == [
        (dt.date(2025, 1, 30), "AMC", False),
        (dt.date(2025, 4, 30), "BMO", False),
    ]
    # No earnings fields at all (an ETF): nothing is invented.
    upstream.override(
        "quote",
        "ETF",
        _quote_body(
            symbol="ETF",
            earningsTimestamp=None,
            earningsTimestampStart=None,
            earningsTimestampEnd=None,
        ),
    )
    assert market.earnings_dates("ETF") == []
    with pytest.raises(UnknownTicker):
        market.earnings_dates("NOSUCH")
