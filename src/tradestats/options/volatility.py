"""Realized volatility (Yang-Zhang) and average volume from daily bars."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

from tradestats.market.types import Bar

RealizedVolVariant = Literal["calculator", "textbook"]
RV_VARIANTS: tuple[RealizedVolVariant, ...] = ("calculator", "textbook")
TRADING_DAYS_PER_YEAR = 252


def yang_zhang_k(n: int) -> float:
    """Yang-Zhang weight ``k = 0.34 / (1.34 + (n + 1) / (n - 1))`` for ``n`` sessions."""
    return 0.34 / (1.34 + (n + 1) / (n - 1))


def yang_zhang_volatility(
    bars: Sequence[Bar],
    window: int = 30,
    variant: RealizedVolVariant = "calculator",
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float:
    """Annualized Yang-Zhang realized volatility of the last ``window`` sessions.

    Over the last ``n = window`` sessions ``i`` (each needs the previous close, so
    ``len(bars) >= window + 1``), with ``O, H, L, C`` the session's prices:

    - overnight ``o_i = ln(O_i / C_{i-1})``, close-to-close ``r_i = ln(C_i / C_{i-1})``,
      open-to-close ``c_i = ln(C_i / O_i)``, ``u_i = ln(H_i / O_i)``, ``d_i = ln(L_i / O_i)``
    - Rogers-Satchell ``rs_i = u_i (u_i - c_i) + d_i (d_i - c_i)``
    - ``k = 0.34 / (1.34 + (n + 1) / (n - 1))``
    - ``sigma = sqrt(periods_per_year * (V_o + k * V_2 + (1 - k) * V_rs))``

    ``variant="calculator"`` (default) reproduces the widely used earnings volatility
    calculator (last value of its 30-session rolling window), including its quirks:
    ``V_o = sum(o_i^2) / (n - 1)``, ``V_2 = sum(r_i^2) / (n - 1)`` (close-to-CLOSE, not
    open-to-close) and ``V_rs = sum(rs_i) / (n - 1)``: no de-meaning, and every sum is
    divided by ``n - 1``.

    ``variant="textbook"`` is Yang & Zhang (2000): ``V_o = sum((o_i - mean(o))^2) / (n-1)``,
    ``V_2 = sum((c_i - mean(c))^2) / (n - 1)`` (open-to-close, de-meaned) and
    ``V_rs = sum(rs_i) / n``.

    The calculator variant double-counts the overnight gap (``r_i = o_i + c_i``), so it
    reads higher on gappy names (earnings!) and ignores drift. Raises ``ValueError`` on
    too few bars, ``window < 2`` or non-positive prices.
    """
    if window < 2:
        raise ValueError("window must be at least 2")
    if len(bars) < window + 1:
        raise ValueError(f"need at least {window + 1} bars for a {window}-session window")
    if variant not in RV_VARIANTS:
        raise ValueError(f"unknown realized-vol variant {variant!r}")
    tail = bars[-(window + 1) :]
    o: list[float] = []
    r: list[float] = []
    c: list[float] = []
    rs: list[float] = []
    for prev, bar in itertools.pairwise(tail):
        if min(prev.close, bar.open, bar.high, bar.low, bar.close) <= 0.0:
            raise ValueError(f"non-positive price in bar of {bar.date}")
        o.append(math.log(bar.open / prev.close))
        r.append(math.log(bar.close / prev.close))
        ci = math.log(bar.close / bar.open)
        ui = math.log(bar.high / bar.open)
        di = math.log(bar.low / bar.open)
        c.append(ci)
        rs.append(ui * (ui - ci) + di * (di - ci))
    n = window
    k = yang_zhang_k(n)
    if variant == "calculator":
        v_o = sum(x * x for x in o) / (n - 1)
        v_2 = sum(x * x for x in r) / (n - 1)
        v_rs = sum(rs) / (n - 1)
    else:
        v_o = _sample_variance(o)
        v_2 = _sample_variance(c)
        v_rs = sum(rs) / n
    variance = v_o + k * v_2 + (1.0 - k) * v_rs
    return math.sqrt(max(variance, 0.0) * periods_per_year)


def _sample_variance(xs: Sequence[float]) -> float:
    """``sum((x - mean)^2) / (n - 1)``."""
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def average_volume(bars: Sequence[Bar], window: int = 30) -> float:
    """Mean share volume of the last ``window`` sessions: ``sum(volume_i) / window``.

    Raises ``ValueError`` with fewer than ``window`` bars (the reference's rolling mean
    would be NaN).
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    if len(bars) < window:
        raise ValueError(f"need at least {window} bars for a {window}-session average")
    return sum(b.volume for b in bars[-window:]) / window
