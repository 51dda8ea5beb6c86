"""The earnings volatility screen for one ticker, composed over a ``MarketData`` provider."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tradestats.market.errors import DataError, NoOptions
from tradestats.market.protocol import MarketData
from tradestats.market.types import Chain
from tradestats.options.expected_move import expected_move
from tradestats.options.expirations import days_to_expiry, select_expirations
from tradestats.options.term_structure import (
    TermStructure,
    atm_iv,
    iv30,
    term_structure_slope,
)
from tradestats.options.verdict import Checks, Thresholds, Verdict, evaluate_checks, verdict
from tradestats.options.volatility import (
    RealizedVolVariant,
    average_volume,
    yang_zhang_volatility,
)

RV_WINDOW = 30
VOLUME_WINDOW = 30
HISTORY_CALENDAR_DAYS = 100  # ~70 sessions: the reference fetches 3 months


@dataclass(frozen=True, slots=True)
class TermPoint:
    expiry: dt.date
    dte: int
    iv: float


@dataclass(frozen=True, slots=True)
class Analysis:
    """Result of ``analyze``. Fractions throughout (``iv30=0.42``, ``expected_move=0.061``);
    a measurement that could not be made is ``None`` and fails its check."""

    ticker: str
    price: float
    iv30: float | None
    rv30: float | None
    iv30_rv30: float | None
    slope: float | None
    avg_volume: float | None
    expected_move: float | None
    checks: Checks
    verdict: Verdict
    term_structure: tuple[TermPoint, ...]
    rv_variant: RealizedVolVariant
    thresholds: Thresholds
    source: str
    asof: dt.datetime
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain dict (dates ISO 8601)."""
        return {
            "ticker": self.ticker,
            "price": self.price,
            "iv30": self.iv30,
            "rv30": self.rv30,
            "iv30_rv30": self.iv30_rv30,
            "slope": self.slope,
            "avg_volume": self.avg_volume,
            "expected_move": self.expected_move,
            "avg_volume_pass": self.checks.avg_volume,
            "iv30_rv30_pass": self.checks.iv30_rv30,
            "slope_pass": self.checks.slope,
            "verdict": self.verdict,
            "term_structure": [
                {"expiry": p.expiry.isoformat(), "dte": p.dte, "iv": p.iv}
                for p in self.term_structure
            ],
            "rv_variant": self.rv_variant,
            "thresholds": {
                "min_avg_volume": self.thresholds.min_avg_volume,
                "min_iv30_rv30": self.thresholds.min_iv30_rv30,
                "max_slope": self.thresholds.max_slope,
            },
            "source": self.source,
            "asof": self.asof.isoformat(),
            "warnings": list(self.warnings),
        }


def analyze(
    ticker: str,
    market: MarketData,
    today: dt.date,
    thresholds: Thresholds | None = None,
    rv_variant: RealizedVolVariant = "calculator",
) -> Analysis:
    """Run the screen on ``ticker`` as of ``today``.

    1. spot = ``market.quote``; expiries = ``select_expirations`` (through the first >= 45
       DTE); each chain's ATM IV gives a ``(DTE, IV)`` point.
    2. ``iv30 = TS(30)``, ``slope = (TS(45) - TS(DTE0)) / (45 - DTE0)``.
    3. ``rv30`` = Yang-Zhang over the last 30 sessions (``rv_variant``); ``avg_volume`` =
       mean volume of the last 30 sessions; ``iv30_rv30 = iv30 / rv30``.
    4. ``expected_move`` = ATM straddle mid / spot of the nearest selected expiry.
    5. checks against ``thresholds`` and the verdict.

    Raises ``UnknownTicker`` (from the provider), ``NoOptions`` when there is no future
    expiry, ``DataError`` for a non-positive price. Empty or partial chains and short
    history degrade to ``None`` measurements plus a warning, never an exception.
    """
    t = thresholds or Thresholds()
    quote = market.quote(ticker)
    spot = quote.price
    if not spot > 0.0:
        raise DataError(f"{ticker}: non-positive price {spot!r}")
    warnings: list[str] = []

    listed = market.expirations(ticker)
    if not listed:
        raise NoOptions(ticker)
    selected = select_expirations(listed, today)
    if not selected:
        raise NoOptions(ticker, "no expiration after today")
    if days_to_expiry(selected[-1], today) < 45:
        warnings.append("no expiration 45+ days out; term structure extrapolated flat")

    chains: list[Chain] = [market.chain(ticker, e) for e in selected]
    points: list[TermPoint] = []
    for chain in chains:
        iv = atm_iv(chain, spot)
        if iv is None:
            warnings.append(f"no usable ATM IV for {chain.expiry.isoformat()}")
            continue
        points.append(TermPoint(chain.expiry, days_to_expiry(chain.expiry, today), iv))

    iv30_value: float | None = None
    slope: float | None = None
    if points:
        ts = TermStructure.from_points((p.dte, p.iv) for p in points)
        iv30_value = iv30(ts)
        slope = term_structure_slope(ts)
    else:
        warnings.append("no implied volatility available")

    move = expected_move(chains[0], spot)
    if move is None:
        warnings.append(f"no ATM straddle quote for {chains[0].expiry.isoformat()}")

    bars = market.history(ticker, today - dt.timedelta(days=HISTORY_CALENDAR_DAYS), today)
    rv30: float | None = None
    avg_vol: float | None = None
    try:
        rv30 = yang_zhang_volatility(bars, RV_WINDOW, rv_variant)
    except ValueError as exc:
        warnings.append(f"realized volatility unavailable: {exc}")
    try:
        avg_vol = average_volume(bars, VOLUME_WINDOW)
    except ValueError as exc:
        warnings.append(f"average volume unavailable: {exc}")

    ratio = iv30_value / rv30 if iv30_value is not None and rv30 else None
    checks = evaluate_checks(avg_vol, ratio, slope, t)
    return Analysis(
        ticker=quote.ticker,
        price=spot,
        iv30=iv30_value,
        rv30=rv30,
        iv30_rv30=ratio,
        slope=slope,
        avg_volume=avg_vol,
        expected_move=move,
        checks=checks,
        verdict=verdict(checks),
        term_structure=tuple(points),
        rv_variant=rv_variant,
        thresholds=t,
        source=quote.source,
        asof=quote.asof,
        warnings=tuple(warnings),
    )
