from __future__ import annotations

import datetime as dt

import pytest

from tradestats.market.errors import DataError, NoOptions, UnknownTicker
from tradestats.market.protocol import MarketData
from tradestats.market.types import Bar, Chain, EarningsEvent, OptionContract, Quote, Right
from tradestats.options.analysis import analyze
from tradestats.options.volatility import yang_zhang_volatility

TODAY = dt.date(2026, 11, 26)
ASOF = dt.datetime(2026, 11, 26, 21, tzinfo=dt.UTC)


def opt(
    exp: dt.date, k: float, right: Right, iv: float | None, bid: float, ask: float
) -> OptionContract:
    return OptionContract(exp, k, right, bid, ask, None, 10, 100, iv)


def make_chain(exp: dt.date, iv: float) -> Chain:
    calls = tuple(opt(exp, k, "call", iv, 1.0, 1.2) for k in (95.0, 100.0, 105.0))
    puts = tuple(opt(exp, k, "put", iv, 2.0, 2.2) for k in (95.0, 100.0, 105.0))
    return Chain("XYZ", exp, calls, puts, "fake", ASOF)


def make_bars(n: int, volume: int = 2_000_000) -> list[Bar]:
    out = []
    for i in range(n):
        c = 100.0 + (1.0 if i % 2 else -1.0)
        out.append(Bar(TODAY - dt.timedelta(days=n - i), 100.0, c + 1, c - 2, c, volume))
    return out


class FakeMarket:
    source = "fake"

    def __init__(self, chains: dict[dt.date, Chain], bars: list[Bar], price: float = 100.0):
        self.chains, self.bars, self.price = chains, bars, price

    def quote(self, ticker: str) -> Quote:
        if ticker != "XYZ":
            raise UnknownTicker(ticker)
        return Quote(ticker, self.price, ASOF, self.source)

    def history(self, ticker: str, start: dt.date, end: dt.date) -> list[Bar]:
        return [b for b in self.bars if start <= b.date <= end]

    def expirations(self, ticker: str) -> list[dt.date]:
        return sorted(self.chains)

    def chain(self, ticker: str, expiry: dt.date) -> Chain:
        return self.chains[expiry]

    def earnings_calendar(self, day: dt.date) -> list[EarningsEvent]:
        return []

    def earnings_dates(self, ticker: str) -> list[EarningsEvent]:
        return []


def d(days: int) -> dt.date:
    return TODAY + dt.timedelta(days=days)


def test_full_analysis_hand_checked() -> None:
    chains = {
        d(0): make_chain(d(0), 9.9),
        d(2): make_chain(d(2), 0.90),
        d(30): make_chain(d(30), 0.50),
        d(50): make_chain(d(50), 0.40),
        d(80): make_chain(d(80), 0.1),
    }
    bars = make_bars(60)
    m = FakeMarket(chains, bars)
    assert isinstance(m, MarketData)
    a = analyze("XYZ", m, TODAY)
    assert [p.dte for p in a.term_structure] == [2, 30, 50]
    assert a.iv30 == pytest.approx(0.50)
    ts45 = 0.50 + (0.40 - 0.50) * 15 / 20
    assert a.slope == pytest.approx((ts45 - 0.90) / 43)
    assert a.expected_move == pytest.approx((1.1 + 2.1) / 100.0)
    rv = yang_zhang_volatility(bars[-31:], 30, "calculator")
    assert a.rv30 == pytest.approx(rv)
    assert a.iv30_rv30 == pytest.approx(0.50 / rv)
    assert a.avg_volume == pytest.approx(2_000_000)
    assert a.checks.avg_volume and a.checks.slope
    assert a.verdict in ("Recommended", "Consider")
    d_ = a.to_dict()
    assert d_["source"] == "fake" and d_["term_structure"][0]["dte"] == 2
    assert d_["slope_pass"] is True and d_["asof"].startswith("2026-11-26")
    assert analyze("XYZ", m, TODAY, rv_variant="textbook").rv_variant == "textbook"


def test_no_expirations_raises_no_options() -> None:
    with pytest.raises(NoOptions):
        analyze("XYZ", FakeMarket({}, make_bars(60)), TODAY)
    with pytest.raises(NoOptions):
        analyze("XYZ", FakeMarket({d(0): make_chain(d(0), 0.3)}, make_bars(60)), TODAY)
    with pytest.raises(UnknownTicker):
        analyze("NOPE", FakeMarket({}, []), TODAY)
    with pytest.raises(DataError):
        analyze("XYZ", FakeMarket({d(3): make_chain(d(3), 0.3)}, [], price=0.0), TODAY)


def test_empty_and_partial_chains_degrade() -> None:
    empty = Chain("XYZ", d(3), (), (), "fake", ASOF)
    calls_only = Chain("XYZ", d(50), make_chain(d(50), 0.4).calls, (), "fake", ASOF)
    a = analyze("XYZ", FakeMarket({d(3): empty, d(50): calls_only}, make_bars(60)), TODAY)
    assert a.expected_move is None
    assert [p.dte for p in a.term_structure] == [50]
    assert a.iv30 == pytest.approx(0.4) and a.slope == 0.0
    assert a.verdict == "Avoid"
    assert any("no usable ATM IV" in w for w in a.warnings)

    b = analyze("XYZ", FakeMarket({d(3): empty}, make_bars(10)), TODAY)
    assert b.iv30 is None and b.slope is None and b.rv30 is None and b.avg_volume is None
    assert b.iv30_rv30 is None and b.verdict == "Avoid"
    assert any("45+ days" in w for w in b.warnings)
