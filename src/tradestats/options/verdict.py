"""The three screen checks and the verdict they produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["Recommended", "Consider", "Avoid"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Pass when ``avg_volume >= min_avg_volume``, ``iv30/rv30 >= min_iv30_rv30`` and
    ``slope <= max_slope`` (IV points per calendar day; defaults of the reference tool)."""

    min_avg_volume: float = 1_500_000.0
    min_iv30_rv30: float = 1.25
    max_slope: float = -0.00406


@dataclass(frozen=True, slots=True)
class Checks:
    avg_volume: bool
    iv30_rv30: bool
    slope: bool


def evaluate_checks(
    avg_volume: float | None,
    iv30_rv30: float | None,
    slope: float | None,
    thresholds: Thresholds | None = None,
) -> Checks:
    """Apply ``thresholds``; a missing (``None``) measurement fails its check."""
    t = thresholds or Thresholds()
    return Checks(
        avg_volume=avg_volume is not None and avg_volume >= t.min_avg_volume,
        iv30_rv30=iv30_rv30 is not None and iv30_rv30 >= t.min_iv30_rv30,
        slope=slope is not None and slope <= t.max_slope,
    )


def verdict(checks: Checks) -> Verdict:
    """``Recommended`` if all three pass; ``Consider`` if the slope passes and exactly one
    of volume / IV30-RV30 passes; otherwise ``Avoid`` (a failing slope is always Avoid)."""
    if checks.slope and checks.avg_volume and checks.iv30_rv30:
        return "Recommended"
    if checks.slope and checks.avg_volume != checks.iv30_rv30:
        return "Consider"
    return "Avoid"
