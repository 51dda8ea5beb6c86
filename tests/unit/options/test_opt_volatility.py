from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from tradestats.market.types import Bar
from tradestats.options.volatility import average_volume, yang_zhang_k, yang_zhang_volatility

D0 = dt.date(2026, 1, 5)


def bar(i: int, o: float, h: float, lo: float, c: float, v: int = 1000) -> Bar:
    return Bar(D0 + dt.timedelta(days=i), o, h, lo, c, v)


# prev close 100, then two sessions
TINY = [
    bar(0, 100, 100, 100, 100),
    bar(1, 101, 103, 100, 102),
    bar(2, 101, 102, 99, 100),
]


def rs(o: float, h: float, lo: float, c: float) -> float:
    u, d, co = math.log(h / o), math.log(lo / o), math.log(c / o)
    return u * (u - co) + d * (d - co)


def test_k_weight() -> None:
    assert yang_zhang_k(30) == pytest.approx(0.34 / (1.34 + 31 / 29))
    assert yang_zhang_k(2) == pytest.approx(0.34 / 4.34)


def test_calculator_variant_by_hand() -> None:
    k = 0.34 / (1.34 + 3 / 1)
    # every sum divided by n - 1 = 1, no de-meaning, close-to-close middle term
    v_o = math.log(101 / 100) ** 2 + math.log(101 / 102) ** 2
    v_cc = math.log(102 / 100) ** 2 + math.log(100 / 102) ** 2
    v_rs = rs(101, 103, 100, 102) + rs(101, 102, 99, 100)
    expected = math.sqrt(252 * (v_o + k * v_cc + (1 - k) * v_rs))
    got = yang_zhang_volatility(TINY, window=2, variant="calculator")
    assert got == pytest.approx(expected, rel=1e-12)


def test_textbook_variant_by_hand() -> None:
    k = 0.34 / (1.34 + 3 / 1)
    o = [math.log(101 / 100), math.log(101 / 102)]
    c = [math.log(102 / 101), math.log(100 / 101)]
    mo, mc = sum(o) / 2, sum(c) / 2
    v_o = (o[0] - mo) ** 2 + (o[1] - mo) ** 2  # / (n - 1) == / 1
    v_c = (c[0] - mc) ** 2 + (c[1] - mc) ** 2
    v_rs = (rs(101, 103, 100, 102) + rs(101, 102, 99, 100)) / 2
    expected = math.sqrt(252 * (v_o + k * v_c + (1 - k) * v_rs))
    got = yang_zhang_volatility(TINY, window=2, variant="textbook")
    assert got == pytest.approx(expected, rel=1e-12)


def test_uses_only_last_window_plus_previous_close() -> None:
    extra = [bar(-1, 50, 80, 40, 60), *TINY]
    assert yang_zhang_volatility(extra, window=2) == yang_zhang_volatility(TINY, window=2)


def random_bars(n: int, seed: int = 3) -> list[Bar]:
    r = random.Random(seed)
    close = 50.0
    out = []
    for i in range(n):
        o = close * math.exp(r.gauss(0, 0.01))
        c = o * math.exp(r.gauss(0, 0.02))
        h = max(o, c) * math.exp(abs(r.gauss(0, 0.01)))
        lo = min(o, c) * math.exp(-abs(r.gauss(0, 0.01)))
        out.append(bar(i, o, h, lo, c, 1000 + i))
        close = c
    return out


def test_calculator_matches_reference_pandas_formula() -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    bars = random_bars(60)
    df = pd.DataFrame(
        {
            "Open": [b.open for b in bars],
            "High": [b.high for b in bars],
            "Low": [b.low for b in bars],
            "Close": [b.close for b in bars],
        }
    )
    # The reference calculator's code path, transcribed.
    window = 30
    log_ho = np.log(df["High"] / df["Open"])
    log_lo = np.log(df["Low"] / df["Open"])
    log_co = np.log(df["Close"] / df["Open"])
    log_oc_sq = np.log(df["Open"] / df["Close"].shift(1)) ** 2
    log_cc_sq = np.log(df["Close"] / df["Close"].shift(1)) ** 2
    rs_ = log_ho * (log_ho - log_co) + log_lo * (log_lo - log_co)
    close_vol = log_cc_sq.rolling(window=window).sum() * (1.0 / (window - 1.0))
    open_vol = log_oc_sq.rolling(window=window).sum() * (1.0 / (window - 1.0))
    window_rs = rs_.rolling(window=window).sum() * (1.0 / (window - 1.0))
    k = 0.34 / (1.34 + (window + 1) / (window - 1))
    ref = ((open_vol + k * close_vol + (1 - k) * window_rs) ** 0.5 * np.sqrt(252)).iloc[-1]
    assert yang_zhang_volatility(bars, 30, "calculator") == pytest.approx(float(ref), rel=1e-10)


def test_variants_differ_on_gappy_series() -> None:
    bars = random_bars(40)
    calc = yang_zhang_volatility(bars, 30, "calculator")
    text = yang_zhang_volatility(bars, 30, "textbook")
    assert calc != pytest.approx(text, rel=1e-6)
    assert 0.1 < text < 1.0 and 0.1 < calc < 1.0


def test_errors() -> None:
    with pytest.raises(ValueError, match="at least 3 bars"):
        yang_zhang_volatility(TINY[:2], window=2)
    with pytest.raises(ValueError, match="window"):
        yang_zhang_volatility(TINY, window=1)
    with pytest.raises(ValueError, match="variant"):
        yang_zhang_volatility(TINY, window=2, variant="nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-positive"):
        yang_zhang_volatility([*TINY[:2], bar(2, 0, 1, 0, 1)], window=2)


def test_average_volume() -> None:
    bars = [bar(i, 1, 1, 1, 1, v) for i, v in enumerate([10, 20, 30, 40])]
    assert average_volume(bars, 3) == pytest.approx(30.0)
    assert average_volume(bars, 4) == pytest.approx(25.0)
    with pytest.raises(ValueError):
        average_volume(bars, 5)
