"""The benchmark's fill generator (bench/gen_fills.py) makes valid, balanced data.

Valid: the generic importer auto-detects the CSV and accepts every row. Balanced: every
instrument ends flat except the option positions the generator reports as left open, and
matching reproduces the generator's exact cash flow and fees.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from tradestats.journal.importers import detect_file, parse_file
from tradestats.journal.matching import match_round_trips
from tradestats.journal.model import AssetClass, Side

GEN_PATH = Path(__file__).resolve().parents[2] / "bench" / "gen_fills.py"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gen_fills", GEN_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_deterministic_and_exact_row_count(gen: ModuleType) -> None:
    rows_a, summary_a = gen.generate(3000, seed=3)
    rows_b, _ = gen.generate(3000, seed=3)
    rows_c, _ = gen.generate(3000, seed=4)
    assert rows_a == rows_b
    assert rows_a != rows_c
    assert len(rows_a) == summary_a.rows == 3000
    for n in (2, 3, 5, 17):
        rows, summary = gen.generate(n, seed=n)
        assert len(rows) == summary.rows == n


def test_rows_are_time_ordered_with_unique_execution_ids(gen: ModuleType) -> None:
    rows, _ = gen.generate(3000, seed=5)
    times = [r[0] for r in rows]
    assert times == sorted(times)  # same-format ISO strings sort chronologically
    assert len({r[14] for r in rows}) == len(rows)


def test_mix_of_instruments_and_trade_shapes(gen: ModuleType) -> None:
    rows, summary = gen.generate(20_000, seed=7)
    classes = Counter(r[7] for r in rows)
    assert set(classes) == {"stock", "option", "future"}
    assert 0.45 < classes["stock"] / len(rows) < 0.65
    assert 0.30 < classes["option"] / len(rows) < 0.50
    assert 0.02 < classes["future"] / len(rows) < 0.10
    assert {r[8] for r in rows if r[7] == "option"} == {"100"}
    assert {(r[9], r[8]) for r in rows if r[7] == "future"} >= {("MES", "5"), ("ES", "50")}
    assert summary.underlyings > 300
    assert summary.flips > 0
    fills_per_order = Counter(r[13] for r in rows)
    assert sum(1 for c in fills_per_order.values() if c > 1) > len(fills_per_order) / 4
    assert any(r[5].startswith("-") for r in rows)  # a liquidity rebate
    # shorts: some positions open with a sell
    position: dict[str, int] = defaultdict(int)
    short_opens = 0
    for r in rows:
        qty = int(r[3]) if r[2] == "buy" else -int(r[3])
        if position[r[1]] == 0 and qty < 0:
            short_opens += 1
        position[r[1]] += qty
    assert short_opens > 0


def test_importer_accepts_every_row_and_positions_balance(
    gen: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "fills.csv"
    summary = gen.generate_csv(path, 4000, seed=11)
    assert detect_file(path).name == "generic"
    parsed = parse_file(path)
    assert parsed.rejections == []
    assert len(parsed.executions) == 4000

    net: dict[str, Decimal] = defaultdict(Decimal)
    for e in parsed.executions:
        net[e.instrument.symbol] += e.signed_quantity
        if e.instrument.asset_class is AssetClass.OPTION:
            assert e.instrument.multiplier == 100
            assert e.instrument.expiry is not None
            assert e.timestamp.date() <= e.instrument.expiry
    still_open = {sym: int(q) for sym, q in net.items() if q}
    assert still_open == summary.open_positions
    assert len(still_open) <= len(net) * 0.02  # mostly flat

    result = match_round_trips(parsed.executions)
    gross = sum(
        (rt.gross_pnl for rt in result.round_trips if rt.instrument.symbol not in still_open),
        Decimal(0),
    )
    fees = sum((rt.fees for rt in result.round_trips), Decimal(0)) + sum(
        (p.round_trip.fees for p in result.open_positions), Decimal(0)
    )
    assert gross == Decimal(summary.expected_gross_cents) / 100
    assert fees == Decimal(summary.total_fees_cents) / 100


def test_stocks_only_ends_flat(gen: ModuleType) -> None:
    rows, summary = gen.generate(5000, seed=2, mix=gen.STOCKS_ONLY, open_fraction=0)
    assert {r[7] for r in rows} == {"stock"}
    assert summary.open_positions == {}
    net: dict[str, int] = defaultdict(int)
    for r in rows:
        net[r[1]] += int(r[3]) if r[2] == "buy" else -int(r[3])
    assert set(net.values()) == {0}
    assert any(r[2] == Side.SELL.value for r in rows)
