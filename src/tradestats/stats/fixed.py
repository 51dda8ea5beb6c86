"""Exact fixed-point integers for Decimal money columns.

Statistics over hundreds of thousands of trades sum, compare and take extremes of the
same columns many times; Python integers do that several times faster than `Decimal`
and, unlike floats, exactly. A column is converted once, at a scale (number of
decimals) that represents every value exactly, and sums are converted back at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, Inexact, Rounded, localcontext

#: the default scale: matching rounds pro-rata fee shares to 1e-12
DEFAULT_SCALE = 12


def fixed_columns(
    columns: Sequence[Sequence[Decimal]], scale: int = DEFAULT_SCALE
) -> tuple[int, list[list[int]]]:
    """Columns of Decimals as exact integers in units of ``10**-s``; returns (s, columns).

    s = `scale` when every value has at most that many decimals (checked with the
    decimal context's Inexact/Rounded flags, at C speed); otherwise s is the largest
    number of decimals present and the conversion is done exactly from integer ratios.
    A value converted back, ``Decimal(units).scaleb(-s)``, equals the original.
    """
    factor = Decimal(1).scaleb(scale)
    with localcontext() as ctx:
        ctx.clear_flags()
        to_integral = Decimal.to_integral_exact
        out = [list(map(int, map(to_integral, map(factor.__mul__, c)))) for c in columns]
        if not (ctx.flags[Inexact] or ctx.flags[Rounded]):
            return scale, out
    needed = max(
        (-int(v.as_tuple().exponent) for c in columns for v in c if v.is_finite()),
        default=0,
    )
    scale = max(scale, needed)
    unit = 10**scale
    exact: list[list[int]] = []
    for column in columns:
        units = []
        for value in column:
            num, den = value.as_integer_ratio()
            units.append(num * unit // den)  # den divides 10**scale: exact
        exact.append(units)
    return scale, exact
