"""ATM implied volatility per expiry and the IV term structure (IV30, 0-45 day slope)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tradestats.market.types import Chain, OptionContract


def nearest_strike(
    contracts: Iterable[OptionContract],
    spot: float,
    *,
    with_iv: bool = False,
    with_mid: bool = False,
) -> OptionContract | None:
    """The contract whose strike minimizes ``|strike - spot|`` (lower strike on a tie).

    With ``with_iv`` only contracts with a positive IV are candidates; with ``with_mid``
    only contracts with a two-sided mid. ``None`` when nothing qualifies.
    """
    best: OptionContract | None = None
    for c in contracts:
        if with_iv and (c.iv is None or not c.iv > 0.0):
            continue
        if with_mid and c.mid is None:
            continue
        if best is None:
            best = c
            continue
        d, db = abs(c.strike - spot), abs(best.strike - spot)
        if d < db or (d == db and c.strike < best.strike):
            best = c
    return best


def atm_iv(chain: Chain, spot: float) -> float | None:
    """ATM IV of one expiry: ``(IV_call(K_c) + IV_put(K_p)) / 2``.

    ``K_c`` / ``K_p`` are the strikes nearest ``spot`` among calls / puts that carry an
    IV (chosen independently, as the reference calculator does). If only one side has an
    IV that side alone is used; ``None`` when neither has one (empty or IV-less chain).
    """
    call = nearest_strike(chain.calls, spot, with_iv=True)
    put = nearest_strike(chain.puts, spot, with_iv=True)
    ivs = [c.iv for c in (call, put) if c is not None and c.iv is not None]
    if not ivs:
        return None
    return sum(ivs) / len(ivs)


@dataclass(frozen=True, slots=True)
class TermStructure:
    """Piecewise-linear IV over DTE through ``(dte, iv)`` points, flat beyond both ends.

    ``TS(d) = iv_i + (iv_{i+1} - iv_i) * (d - dte_i) / (dte_{i+1} - dte_i)`` for
    ``dte_i <= d <= dte_{i+1}``; ``TS(d) = iv_0`` for ``d < dte_0`` and ``iv_last`` for
    ``d > dte_last``. Build with ``TermStructure.from_points``.
    """

    dtes: tuple[float, ...]
    ivs: tuple[float, ...]

    @classmethod
    def from_points(cls, points: Iterable[tuple[float, float]]) -> TermStructure:
        """Sort by DTE; duplicate DTEs are averaged. Raises ``ValueError`` when empty."""
        grouped: dict[float, list[float]] = {}
        for dte, iv in points:
            grouped.setdefault(float(dte), []).append(float(iv))
        if not grouped:
            raise ValueError("a term structure needs at least one (dte, iv) point")
        dtes = tuple(sorted(grouped))
        ivs = tuple(sum(grouped[d]) / len(grouped[d]) for d in dtes)
        return cls(dtes, ivs)

    @property
    def points(self) -> list[tuple[float, float]]:
        return list(zip(self.dtes, self.ivs, strict=True))

    def __call__(self, dte: float) -> float:
        xs, ys = self.dtes, self.ivs
        if dte <= xs[0]:
            return ys[0]
        if dte >= xs[-1]:
            return ys[-1]
        i = bisect.bisect_right(xs, dte)  # xs[i-1] <= dte < xs[i]
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (dte - x0) / (x1 - x0)


def iv30(ts: TermStructure) -> float:
    """IV30 = ``TS(30)``: the term structure read at 30 calendar days."""
    return ts(30.0)


def term_structure_slope(ts: TermStructure, target_dte: float = 45.0) -> float:
    """Slope of IV per calendar day from the nearest expiry to ``target_dte``.

    ``slope = (TS(45) - TS(DTE0)) / (45 - DTE0)`` with ``DTE0`` the nearest point's DTE.
    Negative = inverted (front richer than back), the earnings signature.

    ``DTE0 >= 45`` (including exactly 45) returns ``0.0`` instead of dividing by zero:
    there is no quote inside the 0-45 day window, so no evidence of inversion; ``0.0`` is
    also the formula's own value for ``DTE0 > 45`` under flat extrapolation and it fails
    the (negative) slope threshold, the conservative outcome.
    """
    dte0 = ts.dtes[0]
    if dte0 >= target_dte:
        return 0.0
    return (ts(target_dte) - ts(dte0)) / (target_dte - dte0)


def term_structure_from_chains(
    chains: Sequence[tuple[int, Chain]], spot: float
) -> list[tuple[int, float]]:
    """``(dte, atm_iv)`` for each ``(dte, chain)`` whose ATM IV exists (others skipped)."""
    out: list[tuple[int, float]] = []
    for dte, chain in chains:
        iv = atm_iv(chain, spot)
        if iv is not None:
            out.append((dte, iv))
    return out
