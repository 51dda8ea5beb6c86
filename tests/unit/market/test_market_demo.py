from __future__ import annotations

import collections
import datetime as dt
import itertools

import pytest

from tradestats.market.demo import DemoMarket, black_scholes, move_session
from tradestats.market.errors import DataError, NoOptions, UnknownTicker
from tradestats.market.protocol import MarketData
from tradestats.options.analysis import analyze
from tradestats.options.calendar_spread import calendar_spread
from tradestats.options.earnings_history import earnings_moves, summarize_moves

TODAY = dt.date(2026, 11, 26)  # a Thursday


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(seed=7, today=TODAY)


def test_protocol_and_universe(market: DemoMarket) -> None:
    assert isinstance(market, MarketData)
    assert market.source == "demo"
    assert len(market.tickers) == 500 and len(set(market.tickers)) == 500
    assert {"AAPL", "MSFT", "NVDA", "BRK.A"} <= set(market.tickers)


def test_determinism_same_seed_same_numbers() -> None:
    a, b = DemoMarket(seed=3, today=TODAY), DemoMarket(seed=3, today=TODAY)
    for t in ("AAPL", "TSLA", market_tail()):
        assert a.quote(t) == b.quote(t)
        assert a.history(t, TODAY - dt.timedelta(days=400), TODAY) == b.history(
            t, TODAY - dt.timedelta(days=400), TODAY
        )
        exp = a.expirations(t)
        assert exp == b.expirations(t)
        assert a.chain(t, exp[1]) == b.chain(t, exp[1])
        assert a.earnings_dates(t) == b.earnings_dates(t)
    assert a.earnings_calendar(TODAY) == b.earnings_calendar(TODAY)
    other = DemoMarket(seed=4, today=TODAY)
    assert other.history("TSLA", TODAY, TODAY) != a.history("TSLA", TODAY, TODAY)
    assert DemoMarket(seed=3, today=TODAY + dt.timedelta(days=7)).quote("TSLA").asof.date() == (
        TODAY + dt.timedelta(days=7)
    )


def market_tail() -> str:
    return DemoMarket(seed=3, today=TODAY).tickers[-1]


def test_unknown_ticker_and_no_options(market: DemoMarket) -> None:
    with pytest.raises(UnknownTicker):
        market.quote("ZZZZZZ")
    with pytest.raises(UnknownTicker):
        market.earnings_dates("ZZZZZZ")
    with pytest.raises(NoOptions):
        market.expirations("BRK.A")
    with pytest.raises(NoOptions):
        analyze("BRK.A", market, TODAY)
    with pytest.raises(DataError):
        market.chain("AAPL", dt.date(2026, 11, 28))  # a Saturday: not listed
    assert market.quote(" aapl ").ticker == "AAPL"


def test_history_shape_and_levels(market: DemoMarket) -> None:
    bars = market.history("AAPL", TODAY - dt.timedelta(days=400), TODAY + dt.timedelta(days=5))
    assert 250 <= len(bars) <= 264
    assert bars[-1].date == TODAY and all(b.date.weekday() < 5 for b in bars)
    assert all(x.date < y.date for x, y in itertools.pairwise(bars))
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    assert market.quote("AAPL").price == bars[-1].close
    assert market.quote("AAPL").asof.date() == TODAY
    for t in market.tickers:
        q = market.quote(t)
        assert 5.0 <= q.price <= 800.0 and q.source == "demo"
    assert market.history("AAPL", TODAY, TODAY - dt.timedelta(days=1)) == []


def test_expirations_weeklies_and_monthlies(market: DemoMarket) -> None:
    exp = market.expirations("AAPL")
    assert exp == sorted(exp) and exp[0] >= TODAY
    assert all(e.weekday() == 4 for e in exp)
    assert dt.date(2026, 11, 27) in exp and dt.date(2026, 12, 18) in exp
    assert any((e - TODAY).days > 365 for e in exp)  # LEAPS


def test_chain_quotes_sane(market: DemoMarket) -> None:
    for t in ("AAPL", market.tickers[-1]):
        try:
            exp = market.expirations(t)
        except NoOptions:
            continue
        ch = market.chain(t, exp[0])
        assert ch.source == "demo" and ch.expiry == exp[0]
        for c in [*ch.calls, *ch.puts]:
            assert 0.0 <= c.bid <= c.ask and c.ask > 0.0
            assert c.iv is None or 0.05 < c.iv < 5.0
            assert c.right in ("call", "put") and c.open_interest >= 0
        assert [c.strike for c in ch.calls] == sorted(c.strike for c in ch.calls)


def test_black_scholes_parity() -> None:
    call = black_scholes(100, 105, 0.25, 0.04, 0.3, "call")
    put = black_scholes(100, 105, 0.25, 0.04, 0.3, "put")
    assert call - put == pytest.approx(100 - 105 * 2.718281828459045 ** (-0.01))
    assert call == pytest.approx(4.5, abs=0.5)


def test_earnings_calendar_and_dates_agree(market: DemoMarket) -> None:
    days = [TODAY + dt.timedelta(days=i) for i in range(-3, 10)]
    weekdays = [d for d in days if d.weekday() < 5]
    total = 0
    for day in days:
        cal = market.earnings_calendar(day)
        total += len(cal)
        if day.weekday() >= 5:
            assert cal == []
        for e in cal:
            assert e.date == day and e.source == "demo" and e.timing in ("BMO", "AMC")
            assert e in market.earnings_dates(e.ticker)
    assert total >= 3 * len(weekdays)
    ev = market.earnings_dates("AAPL")
    assert len(ev) >= 5 and ev == sorted(ev, key=lambda e: e.date)
    gaps = [(b.date - a.date).days for a, b in itertools.pairwise(ev)]
    assert all(84 <= g <= 98 for g in gaps)
    assert any(e.inferred for e in ev if (e.date - TODAY).days > 35)
    assert not any(e.inferred for e in ev if e.date <= TODAY)


def test_front_month_bid_up_before_earnings(market: DemoMarket) -> None:
    # a name reporting after today's close: front expiry spans the move, TS inverted
    amc = [e for e in market.earnings_calendar(TODAY) if e.timing == "AMC"]
    assert amc
    found = 0
    for e in amc:
        try:
            a = analyze(e.ticker, market, TODAY)
        except NoOptions:
            continue
        if move_session(e) <= a.term_structure[0].expiry:
            found += 1
            assert a.term_structure[0].iv > a.term_structure[-1].iv
            assert a.slope is not None and a.slope < 0
    assert found


def test_past_earnings_moves_are_measurable(market: DemoMarket) -> None:
    t = "NVDA"
    bars = market.history(t, TODAY - dt.timedelta(days=400), TODAY)
    moves = earnings_moves([e for e in market.earnings_dates(t) if e.date < TODAY], bars)
    s = summarize_moves(moves)
    assert s.count >= 3 and s.mean_abs_move is not None and s.mean_abs_move > 0.0


def test_calendar_spread_on_demo(market: DemoMarket) -> None:
    e = next(x for x in market.earnings_dates("AAPL") if x.date >= TODAY)
    exp = market.expirations("AAPL")
    spot = market.quote("AAPL").price
    chains = [market.chain("AAPL", x) for x in exp if x <= e.date + dt.timedelta(days=70)]
    s = calendar_spread(e.date, e.timing, spot, chains)
    assert s.front_expiry >= e.date and s.back_expiry > s.front_expiry
    assert s.strike >= spot and s.debit_fill is not None and s.debit_mid is not None
    assert s.debit_fill >= s.debit_mid and 0 <= s.liquidity_score <= 100


def test_end_to_end_analyze_universe_distribution(market: DemoMarket) -> None:
    verdicts: collections.Counter[str] = collections.Counter()
    no_options = 0
    for t in market.tickers:
        try:
            a = analyze(t, market, TODAY)
        except NoOptions:
            no_options += 1
            continue
        assert a.source == "demo" and a.price > 0
        assert a.iv30 is not None and a.rv30 is not None and a.avg_volume is not None
        verdicts[a.verdict] += 1
    assert 1 <= no_options <= 30
    assert set(verdicts) == {"Recommended", "Consider", "Avoid"}


def test_scan_set_distribution_is_realistic() -> None:
    # names reporting after today's close or before the next open, over four weeks
    verdicts: collections.Counter[str] = collections.Counter()
    day = dt.date(2026, 11, 2)
    for _ in range(20):
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        m = DemoMarket(seed=7, today=day)
        nxt = day + dt.timedelta(days=3 if day.weekday() == 4 else 1)
        events = [e for e in m.earnings_calendar(day) if e.timing == "AMC"]
        events += [e for e in m.earnings_calendar(nxt) if e.timing == "BMO"]
        for e in events:
            try:
                verdicts[analyze(e.ticker, m, day).verdict] += 1
            except NoOptions:
                pass
        day += dt.timedelta(days=1)
    n = sum(verdicts.values())
    assert n >= 80
    assert 0.10 <= verdicts["Recommended"] / n <= 0.35
    assert 0.10 <= verdicts["Consider"] / n <= 0.35
