"""The fast paths of the strategies computation agree with the general one.

`group_legs` visits legs sorted by entry time first and builds one-leg positions
without `classify`; the reference here is the plain rule set of the module docstring
(sort by account, underlying, entry, id, instrument; group; classify every position;
sort positions by entry, account, underlying). The stored legs are read with one join
to their opening fills; the reference is the chunked lookup of those fills by id.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tradestats.app import create_app
from tradestats.config import Settings
from tradestats.journal import strategy_reports
from tradestats.journal.model import AssetClass, Instrument, OptionRight, RoundTrip
from tradestats.journal.strategies import Leg, StrategyPosition, classify, group_legs
from tradestats.journal.strategy_reports import PositionFilter, strategy_statistics
from tradestats.store import strategy_queries

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
EXPIRIES = (date(2024, 3, 15), date(2024, 4, 19))


def _instruments() -> list[Instrument]:
    out = []
    for und in ("XYZ", "ABC"):
        out.append(Instrument(und, AssetClass.STOCK, und))
        for expiry in EXPIRIES:
            for strike in ("90", "100", "110"):
                for right in OptionRight:
                    out.append(
                        Instrument(
                            f"{und}{expiry:%y%m%d}{right.value[0]}{strike}",
                            AssetClass.OPTION,
                            und,
                            D(100),
                            expiry,
                            D(strike),
                            right,
                        )
                    )
    out.append(Instrument("XYZH4", AssetClass.FUTURE, "XYZ", D(50)))
    out.append(Instrument("XYZM4", AssetClass.FUTURE, "XYZ", D(50)))
    return out


INSTRUMENTS = _instruments()

leg_specs = st.tuples(
    st.sampled_from(("A", "B")),  # account
    st.integers(0, len(INSTRUMENTS) - 1),
    st.sampled_from(("long", "short")),
    st.sampled_from(("1", "2", "100", "0.5")),  # quantity
    st.integers(0, 12),  # entry, in half seconds: many ties and near misses
    st.one_of(st.none(), st.integers(0, 30)),  # exit, None = open
    st.one_of(st.none(), st.sampled_from(("o1", "o2", "o3", ""))),  # order id
    st.integers(-500, 500),  # gross P&L, cents
)


def _legs(specs: list[tuple[Any, ...]], keyed: bool) -> list[Leg]:
    legs = []
    for n, (account, inst, direction, qty, entry, exit_, order, cents) in enumerate(specs):
        entry_time = T0 + timedelta(seconds=entry / 2)
        trip = RoundTrip(
            account=account,
            instrument=INSTRUMENTS[inst],
            direction=direction,
            entry_time=entry_time,
            exit_time=None if exit_ is None else entry_time + timedelta(minutes=exit_),
            quantity=D(qty),
            entry_price=D(cents) / 7,
            exit_price=None if exit_ is None else D(1),
            gross_pnl=D(cents) / 100,
            fees=D("0.65"),
            net_pnl=D(cents) / 100 - D("0.65"),
        )
        legs.append(Leg(trip, order, f"k{n % 7}" if keyed else None))
    return legs


def _reference(legs: list[Leg], window_seconds: float) -> list[StrategyPosition]:
    """The rules of `tradestats.journal.strategies`, applied the plain way."""
    ordered = sorted(
        legs,
        key=lambda leg: (
            leg.trip.account,
            leg.instrument.underlying,
            leg.trip.entry_time,
            leg.key or "",
            leg.instrument.key,
        ),
    )
    window = timedelta(seconds=window_seconds)
    groups: list[list[Leg]] = []
    by_order: dict[tuple[str, str, str], list[Leg]] = {}
    latest: dict[tuple[str, str], list[Leg]] = {}
    for leg in ordered:
        pair = (leg.trip.account, leg.instrument.underlying)
        insts = lambda g: {x.instrument.key for x in g}  # noqa: E731
        group = by_order.get((*pair, leg.order_id)) if leg.order_id else None
        if group is not None and leg.instrument.key in insts(group):
            group = None
        if group is None:
            last = latest.get(pair)
            if (
                last is not None
                and leg.instrument.key not in insts(last)
                and leg.trip.entry_time - last[0].trip.entry_time <= window
            ):
                group = last
        if group is None:
            group = [leg]
            groups.append(group)
            latest[pair] = group
        else:
            group.append(leg)
        if leg.order_id:
            by_order.setdefault((*pair, leg.order_id), group)
    positions = []
    for group in groups:
        kind = classify(group)
        exits = [g.trip.exit_time for g in group]
        positions.append(
            (
                group[0].key,
                group[0].trip.account,
                group[0].instrument.underlying,
                kind,
                group[0].trip.entry_time,
                None if None in exits else max(e for e in exits if e is not None),
                sum((g.trip.net_pnl for g in group), D(0)),
                sorted(id(g) for g in group),
            )
        )
    positions.sort(key=lambda p: (p[4], p[1], p[2]))
    return positions  # type: ignore[return-value]


def _shape(p: StrategyPosition) -> tuple[Any, ...]:
    return (
        p.id,
        p.account,
        p.underlying,
        p.strategy,
        p.entry_time,
        p.exit_time,
        p.net_pnl,
        sorted(id(leg) for leg in p.legs),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(leg_specs, max_size=30),
    st.booleans(),
    st.sampled_from((0.0, 0.5, 2.0, 3.0)),
)
def test_grouping_agrees_with_the_plain_rules(
    specs: list[tuple[Any, ...]], keyed: bool, window: float
) -> None:
    legs = _legs(specs, keyed)
    fast = group_legs(legs, window)
    assert [_shape(p) for p in fast] == _reference(legs, window)
    for p in fast:
        if len(p.legs) == 1:  # the one-leg path matches classify and the leg's figures
            trip = p.legs[0].trip
            assert p.strategy is classify(p.legs)
            assert (p.direction, p.gross_pnl, p.fees) == (trip.direction, trip.gross_pnl, trip.fees)
            assert p.units == (int(trip.quantity) if trip.quantity % 1 == 0 else None)


# --- stored legs ---------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "brokers"
STATEMENT = FIXTURES / "thinkorswim" / "account_statement_spreads_written_for_tradestats.csv"


@pytest.fixture
def engine(empty_journal: tuple[Settings, Engine]) -> Engine:
    settings, engine = empty_journal
    client = create_app(settings, engine=engine).test_client()
    data: dict[str, Any] = {
        "file": (io.BytesIO(STATEMENT.read_bytes()), STATEMENT.name),
        "account": "tos",
    }
    resp = client.post("/api/imports", data=data, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    return engine


def _leg_fields(leg: Leg) -> tuple[Any, ...]:
    t = leg.trip
    return (
        leg.key,
        leg.order_id,
        t.account,
        t.instrument,
        t.direction,
        t.entry_time,
        t.exit_time,
        t.quantity,
        t.entry_price,
        t.exit_price,
        t.gross_pnl,
        t.fees,
        t.net_pnl,
        t.tags,
    )


def test_the_joined_read_agrees_with_the_lookup_by_id(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.connect() as conn:
        joined = strategy_queries.load_legs(conn)
        monkeypatch.setattr(strategy_queries, "_first_execution_id", lambda _dialect: None)
        looked_up = strategy_queries.load_legs(conn)
    assert any(leg.order_id for leg in joined)
    assert all(t.entry_time.tzinfo is not None for t in (leg.trip for leg in joined))
    assert sorted(map(_leg_fields, joined), key=str) == sorted(map(_leg_fields, looked_up), key=str)


def test_concurrent_statistics_share_one_load(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(strategy_reports, "_CACHE", strategy_reports._LruCache(8))
    monkeypatch.setattr(strategy_reports, "_RESULTS", strategy_reports._LruCache(64))
    monkeypatch.setattr(strategy_reports, "_SELECTIONS", strategy_reports._LruCache(8))
    real_load = strategy_queries.load_legs
    started, release = threading.Event(), threading.Event()
    loads = []

    def slow_load(conn: Any, account: str | None = None) -> list[Leg]:
        loads.append(account)
        started.set()
        release.wait(5)
        return real_load(conn, account)

    monkeypatch.setattr(strategy_queries, "load_legs", slow_load)
    every = PositionFilter()
    with ThreadPoolExecutor(4) as pool:
        calls = [
            pool.submit(strategy_statistics, engine, None, 2.0, every, "net") for _ in range(4)
        ]
        assert started.wait(5)
        time.sleep(0.2)  # the others reach the shared computation
        release.set()
        results = [c.result(10) for c in calls]
    assert loads == [None]
    assert all(r is results[0] for r in results)
    assert results[0].total.count > 0
    # Cached for this journal version: another filter reuses the loaded positions.
    strategy_statistics(engine, None, 2.0, PositionFilter(side="long"), "net")
    assert loads == [None]
