"""`strategy_statistics` (one pass, sums added per strategy/underlying cell) agrees
with `summarize_positions`, `strategy_breakdown` and `underlying_breakdown`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tradestats.journal.strategies import StrategyKind, StrategyPosition
from tradestats.stats.strategies import (
    strategy_breakdown,
    strategy_statistics,
    summarize_positions,
    underlying_breakdown,
)

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)

money = st.decimals(min_value=-5000, max_value=5000, places=4, allow_nan=False)
position_specs = st.tuples(
    st.sampled_from(list(StrategyKind)),
    st.sampled_from(("AAA", "BBB", "CCC")),
    money,  # gross
    st.decimals(min_value=0, max_value=20, places=2),  # fees
    st.booleans(),  # closed
    st.sampled_from((D("0"), D("0.004"), D("-0.005"), D("0.006"))),  # near the tolerance
    st.booleans(),  # use the near-tolerance figure instead
)


def _positions(specs: list[tuple[Any, ...]]) -> list[StrategyPosition]:
    out = []
    for n, (kind, und, gross, fees, closed, tiny, use_tiny) in enumerate(specs):
        if use_tiny:
            gross, fees = tiny, D(0)
        out.append(
            StrategyPosition(
                id=str(n),
                account="A",
                underlying=und,
                strategy=kind,
                direction="long",
                entry_time=T0,
                exit_time=T0 + timedelta(hours=1) if closed else None,
                gross_pnl=gross,
                fees=fees,
                net_pnl=gross - fees,
            )
        )
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(position_specs, max_size=40), st.sampled_from(("net", "gross")))
def test_one_pass_equals_the_three_breakdowns(specs: list[tuple[Any, ...]], basis: Any) -> None:
    positions = _positions(specs)
    stats = strategy_statistics(positions, basis)
    assert stats.total == summarize_positions(positions, basis)
    assert stats.by_strategy == strategy_breakdown(positions, basis)
    assert stats.by_underlying == underlying_breakdown(positions, basis)
