"""YahooMarket expirations and chains against recorded v7 options answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from support.fake_upstream import FakeUpstream, load_yahoo_body
from support.simple_json_getter import SimpleJsonGetter
from tradestats.market.errors import DataError, NoOptions, UnknownTicker
from tradestats.market.yahoo import YahooMarket

NEAREST = dt.date(2025, 2, 28)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(seed=1) as up:
        yield up


@pytest.fixture
def market(upstream: FakeUpstream) -> YahooMarket:
    getter = SimpleJsonGetter(upstream.url)
    return YahooMarket(getter, getter)


def test_expirations_from_recorded_listing(market: YahooMarket) -> None:
    exp = market.expirations("AAPL")
    assert len(exp) == 20 and exp == sorted(exp)
    assert exp[0] == NEAREST and exp[-1] == dt.date(2027, 6, 17)
    qqq = market.expirations("QQQ")
    assert len(qqq) == 30


def test_nearest_chain_spot_checks(market: YahooMarket) -> None:
    chain = market.chain("AAPL", NEAREST)
    assert (chain.ticker, chain.expiry, chain.source) == ("AAPL", NEAREST, "yahoo")
    assert len(chain.calls) == 54 and len(chain.puts) == 48
    assert [c.strike for c in chain.calls] == sorted(c.strike for c in chain.calls)
    assert chain.asof == dt.datetime(2025, 2, 21, 21, 0, 2, tzinfo=dt.UTC)
    call = chain.calls[0]  # AAPL250228C00110000
    assert (call.strike, call.right, call.bid, call.ask, call.last) == (
        110.0,
        "call",
        135.9,
        136.65,
        111.67,
    )
    assert call.volume == 0  # "volume" absent in the recording
    assert call.open_interest == 0 and call.iv == pytest.approx(3.58593853515625)
    put = chain.puts[-1]  # AAPL250228P00300000: no market, IV placeholder 1e-05
    assert (put.strike, put.bid, put.ask, put.volume, put.last) == (300.0, 0.0, 0.0, 2, 60.75)
    assert put.iv is None and put.mid is None


def test_qqq_chain(market: YahooMarket) -> None:
    exp = market.expirations("QQQ")
    chain = market.chain("QQQ", exp[0])
    assert (len(chain.calls), len(chain.puts)) == (78, 102)
    assert chain.ticker == "QQQ"


def test_listing_is_reused_within_ttl(upstream: FakeUpstream) -> None:
    now = [0.0]
    getter = SimpleJsonGetter(upstream.url)
    market = YahooMarket(getter, getter, listing_ttl=60.0, clock=lambda: now[0])
    exp = market.expirations("AAPL")
    market.expirations("AAPL")
    market.chain("AAPL", exp[0])  # came with the listing
    assert upstream.count("options") == 1
    market.chain("AAPL", exp[2])
    assert upstream.count("options") == 2
    assert upstream.records()[-1].params["date"] == "1741910400"  # 00:00 UTC of expiry
    now[0] = 61.0
    market.expirations("AAPL")
    assert upstream.count("options") == 3


def test_other_listed_expiry(market: YahooMarket) -> None:
    expiry = market.expirations("MSFT")[4]
    chain = market.chain("MSFT", expiry)
    assert chain.expiry == expiry and chain.ticker == "MSFT"
    assert all(c.expiry == expiry for c in [*chain.calls, *chain.puts])


def test_expired_chain_is_no_options(market: YahooMarket, upstream: FakeUpstream) -> None:
    with pytest.raises(NoOptions, match="2022-03-01"):
        market.chain("AAPL", dt.date(2022, 3, 1))  # the recorded empty answer
    assert upstream.records()[-1].params["date"] == "1646092800"
    with pytest.raises(NoOptions):
        market.chain("MSFT", dt.date(2025, 3, 1))  # not a listed date


def test_unknown_and_optionless(market: YahooMarket) -> None:
    with pytest.raises(UnknownTicker):
        market.expirations("NOSUCH")
    with pytest.raises(UnknownTicker):
        market.chain("ZZZZ", NEAREST)
    with pytest.raises(NoOptions) as err:
        market.expirations("NOOPT")
    assert err.value.ticker == "NOOPT"


def test_crumb_hook(upstream: FakeUpstream) -> None:
    getter = SimpleJsonGetter(upstream.url)
    market = YahooMarket(getter, getter, crumb=lambda: "abc.123")
    market.expirations("AAPL")
    market.quote("AAPL")
    assert [r.params.get("crumb") for r in upstream.records()] == ["abc.123", "abc.123"]


def _options_body() -> dict[str, object]:
    return load_yahoo_body("yahoo-finance2_options-AAPL.json")  # type: ignore[no-any-return]


def test_malformed_options(market: YahooMarket, upstream: FakeUpstream) -> None:
    upstream.override("options", "BAD1", {"finance": {"error": "x"}})
    with pytest.raises(DataError):
        market.expirations("BAD1")
    body = _options_body()
    result = body["optionChain"]["result"][0]  # type: ignore[index]
    result["options"][0]["calls"][3]["strike"] = "120"
    upstream.override("options", "BAD2", body)
    with pytest.raises(DataError, match="strike"):
        market.expirations("BAD2")
    upstream.override("options", "BAD3", {"optionChain": {"result": None, "error": None}})
    with pytest.raises(DataError):
        market.expirations("BAD3")
    err = {"optionChain": {"result": [], "error": {"code": "Internal", "description": "boom"}}}
    upstream.override("options", "BAD4", err)
    with pytest.raises(DataError, match="boom"):
        market.expirations("BAD4")


def test_chain_for_other_expiry_than_asked_is_data_error(
    market: YahooMarket, upstream: FakeUpstream
) -> None:
    upstream.override("options", "ODD", _options_body())  # always the 2025-02-28 chain
    with pytest.raises(DataError, match="asked for"):
        market.chain("ODD", dt.date(2025, 3, 7))


def test_today_shift_keeps_weekdays() -> None:
    with FakeUpstream(today=dt.date(2026, 11, 26)) as up:
        getter = SimpleJsonGetter(up.url)
        market = YahooMarket(getter, getter)
        exp = market.expirations("AAPL")
        assert exp[0] == dt.date(2026, 11, 27) and exp[0].weekday() == 4
        assert market.chain("AAPL", exp[0]).expiry == exp[0]
        assert market.chain("AAPL", exp[1]).expiry == exp[1]
