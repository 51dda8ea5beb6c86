"""YahooMarket quotes and daily history against the fake upstream over real sockets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from support.fake_upstream import FakeUpstream, load_yahoo_body
from support.simple_json_getter import SimpleJsonGetter
from tradestats.market.errors import (
    DataError,
    MarketDataError,
    UnknownTicker,
    UpstreamUnavailable,
)
from tradestats.market.protocol import MarketData
from tradestats.market.yahoo import YahooMarket


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(seed=1) as up:
        yield up


@pytest.fixture
def market(upstream: FakeUpstream) -> YahooMarket:
    getter = SimpleJsonGetter(upstream.url)
    return YahooMarket(getter, getter)


def _chart(**result_changes: object) -> Any:
    body = load_yahoo_body("yahoo-finance2_chart-AAPL-2020-01-01-to-2020-01-03.json")
    body["chart"]["result"][0].update(result_changes)
    return body


def test_is_a_market_data_provider(market: YahooMarket) -> None:
    assert isinstance(market, MarketData)
    assert market.source == "yahoo"


def test_quote_from_recorded_response(market: YahooMarket, upstream: FakeUpstream) -> None:
    q = market.quote(" aapl ")
    assert q.ticker == "AAPL" and q.price == 244.6 and q.source == "yahoo"
    assert q.asof == dt.datetime(2025, 2, 14, 21, 0, tzinfo=dt.UTC)  # regularMarketTime
    assert upstream.records()[-1].params["symbols"] == "AAPL"


def test_quote_of_other_ticker_uses_template(market: YahooMarket) -> None:
    assert market.quote("MSFT").ticker == "MSFT"


def test_share_class_symbol_is_spelled_the_yahoo_way(
    market: YahooMarket, upstream: FakeUpstream
) -> None:
    assert market.quote("BRK.B").ticker == "BRK.B"
    assert upstream.records()[-1].params["symbols"] == "BRK-B"


def test_quote_unknown_ticker(market: YahooMarket) -> None:
    with pytest.raises(UnknownTicker):
        market.quote("NOSUCH")  # Yahoo: 200 with an empty result list
    with pytest.raises(UnknownTicker):
        market.quote("../etc")  # never sent upstream


def test_quote_without_price_or_malformed(market: YahooMarket, upstream: FakeUpstream) -> None:
    row = load_yahoo_body("yahoo-finance2_quote-AAPL.json")["quoteResponse"]["result"][0]
    upstream.override(
        "quote",
        "MSFT",
        {
            "quoteResponse": {
                "result": [{**row, "symbol": "MSFT", "regularMarketPrice": None}],
                "error": None,
            }
        },
    )
    with pytest.raises(DataError, match="no regular-market price"):
        market.quote("MSFT")
    upstream.override("quote", "IBM", {"quoteResponse": {"result": "nope"}})
    with pytest.raises(DataError):
        market.quote("IBM")
    upstream.override("quote", "ORCL", "<html>maintenance</html>")
    with pytest.raises(DataError, match="not JSON"):
        market.quote("ORCL")


def test_history_single_recorded_bar(market: YahooMarket) -> None:
    bars = market.history("AAPL", dt.date(2020, 1, 1), dt.date(2020, 1, 3))
    assert len(bars) == 1
    b = bars[0]
    assert b.date == dt.date(2020, 1, 2)  # 14:30 UTC == 09:30 New York
    assert (b.open, b.high, b.low, b.close) == pytest.approx((74.06, 75.15, 73.7975, 75.0875))
    assert b.volume == 135480400


def test_history_split_period(market: YahooMarket) -> None:
    bars = market.history("AAPL", dt.date(2020, 8, 31), dt.date(2020, 11, 7))
    assert len(bars) == 49
    assert [b.date for b in bars] == sorted(b.date for b in bars)
    first, last = bars[0], bars[-1]
    assert first.date == dt.date(2020, 8, 31)  # the 4:1 split day, split-adjusted prices
    assert first.close == pytest.approx(129.04, abs=1e-4) and first.volume == 225702700
    assert last.date == dt.date(2020, 11, 6) and last.close == pytest.approx(118.69, abs=1e-4)
    # the window filter is applied on exchange-local dates
    inner = market.history("AAPL", dt.date(2020, 9, 1), dt.date(2020, 9, 2))
    assert [b.date for b in inner] == [dt.date(2020, 9, 1), dt.date(2020, 9, 2)]


def test_history_skips_null_bars_and_uses_exchange_timezone(
    market: YahooMarket, upstream: FakeUpstream
) -> None:
    # 2020-01-03 03:00 UTC is still 2020-01-02 in New York; the second bar is null.
    stamps = [1578020400, 1578061800, 1578321000]
    quote = {
        "open": [1.0, None, 3.0],
        "high": [1.5, None, 3.5],
        "low": [0.5, None, 2.5],
        "close": [1.2, None, 3.2],
        "volume": [10, None, None],
    }
    upstream.override("chart", "XYZ", _chart(timestamp=stamps, indicators={"quote": [quote]}))
    bars = market.history("XYZ", dt.date(2020, 1, 1), dt.date(2020, 1, 10))
    assert [(b.date, b.close, b.volume) for b in bars] == [
        (dt.date(2020, 1, 2), 1.2, 10),
        (dt.date(2020, 1, 6), 3.2, 0),
    ]


def test_history_falls_back_to_gmtoffset(market: YahooMarket, upstream: FakeUpstream) -> None:
    body = _chart(timestamp=[1578020400])  # 03:00 UTC
    meta = body["chart"]["result"][0]["meta"]
    meta.update(exchangeTimezoneName="Not/AZone", gmtoffset=9 * 3600)  # +09:00 -> 12:00
    upstream.override("chart", "TKY", body)
    assert [b.date for b in market.history("TKY", dt.date(2020, 1, 1), dt.date(2020, 1, 9))] == [
        dt.date(2020, 1, 3)
    ]


def test_history_unknown_ticker(market: YahooMarket, upstream: FakeUpstream) -> None:
    with pytest.raises(UnknownTicker) as err:
        market.history("NOSUCH", dt.date(2020, 1, 1), dt.date(2020, 2, 1))  # 404 + chart.error
    assert err.value.ticker == "NOSUCH"
    no_data = {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }
    upstream.override("chart", "GONE", no_data)  # the same error with a 200
    with pytest.raises(UnknownTicker):
        market.history("GONE", dt.date(2020, 1, 1), dt.date(2020, 2, 1))


def test_history_empty_windows(market: YahooMarket, upstream: FakeUpstream) -> None:
    # A weekend: nothing traded, which is the true answer.
    assert market.history("AAPL", dt.date(2025, 2, 1), dt.date(2025, 2, 2)) == []
    # The recorded 1-minute weekend answer: meta only, no timestamps.
    empty = load_yahoo_body(
        "yahoo-finance2_chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"
    )
    upstream.override("chart", "DELI", empty)
    assert market.history("DELI", dt.date(2025, 2, 1), dt.date(2025, 2, 2)) == []
    with pytest.raises(DataError, match="no daily bars"):
        market.history("DELI", dt.date(2025, 1, 1), dt.date(2025, 2, 2))


def test_history_malformed(market: YahooMarket, upstream: FakeUpstream) -> None:
    quote = {"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0, 2.0], "volume": [1]}
    upstream.override("chart", "BAD", _chart(indicators={"quote": [quote]}))
    with pytest.raises(DataError, match="differ in length"):
        market.history("BAD", dt.date(2020, 1, 1), dt.date(2020, 1, 10))
    upstream.override("chart", "BAD2", {"chart": {"result": [{"timestamp": [1]}]}})
    with pytest.raises(DataError):
        market.history("BAD2", dt.date(2020, 1, 1), dt.date(2020, 1, 10))
    quote = {"open": ["1"], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1]}
    upstream.override("chart", "BAD3", _chart(indicators={"quote": [quote]}))
    with pytest.raises(DataError, match="not a number"):
        market.history("BAD3", dt.date(2020, 1, 1), dt.date(2020, 1, 10))


def test_history_synthesized_for_other_windows(market: YahooMarket) -> None:
    bars = market.history("MSFT", dt.date(2025, 1, 6), dt.date(2025, 3, 28))
    assert len(bars) == 60 and all(b.date.weekday() < 5 for b in bars)
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    again = market.history("MSFT", dt.date(2025, 2, 3), dt.date(2025, 2, 7))
    assert again == [b for b in bars if dt.date(2025, 2, 3) <= b.date <= dt.date(2025, 2, 7)]


def test_outage_is_upstream_unavailable(market: YahooMarket, upstream: FakeUpstream) -> None:
    upstream.faults.fail_next(1, status=503, retry_after=7)
    with pytest.raises(UpstreamUnavailable) as err:
        market.quote("AAPL")
    assert err.value.retry_after == 7.0
    assert market.quote("AAPL").price == 244.6


class _StatusError(MarketDataError):
    """Shaped like resilience's UpstreamNotFound / UpstreamError (a ``status``)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _RaisingGetter:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_StatusError(404), UnknownTicker),
        (_StatusError(410), UnknownTicker),
        (_StatusError(400), DataError),
        (UpstreamUnavailable("down", 3.0), UpstreamUnavailable),
    ],
)
def test_client_errors_become_protocol_errors(exc: Exception, expected: type[Exception]) -> None:
    market = YahooMarket(_RaisingGetter(exc), _RaisingGetter(exc))
    with pytest.raises(expected):
        market.quote("AAPL")
    with pytest.raises(DataError if expected is UnknownTicker else expected):
        market.earnings_calendar(dt.date(2025, 1, 30))  # no ticker to blame on a calendar
