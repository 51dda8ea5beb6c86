"""Matching and the garbage collector: the result is handed over as old objects."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Execution, Instrument, Side

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)


def _fills(n: int) -> list[Execution]:
    instruments = [Instrument(f"S{k}", AssetClass.STOCK, f"S{k}") for k in range(10)]
    return [
        Execution(
            "A",
            instruments[i % 10],
            T0 + timedelta(seconds=i),
            Side.BUY if (i // 10) % 2 == 0 else Side.SELL,
            D(1 + i % 3),
            D("10.25"),
            D("0.01"),
        )
        for i in range(n)
    ]


def test_result_is_moved_to_the_oldest_generation() -> None:
    fills = _fills(3000)
    gc.collect()
    assert gc.isenabled()
    res = match_round_trips(fills)
    young = gc.get_count()[0]
    assert gc.isenabled()
    assert young < 100  # thousands of round trips and lists were allocated
    assert len(res.realizations) > 1000


def test_objects_frozen_by_the_process_stay_frozen() -> None:
    fills = _fills(300)
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        match_round_trips(fills)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_collector_left_as_the_caller_had_it() -> None:
    gc.disable()
    try:
        match_round_trips(_fills(300))
        assert not gc.isenabled()
    finally:
        gc.enable()
