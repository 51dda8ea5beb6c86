"""The import's fast store paths write exactly what the general paths write.

- Re-matching from the fills just stored (kept in memory, SQLite) gives the same
  derived rows as reading every execution back from the database.
- Overlapping imports (duplicates: those instruments are read back) end with the same
  round trips as one import of the union.
- The executions bulk insert stores what `execution_row` + SQLAlchemy would.
- `RawRowEncoder` is `json.dumps(raw, separators=(",", ":"))`.
"""

from __future__ import annotations

import gc
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tradestats.config import Settings
from tradestats.journal import imports
from tradestats.journal.importers import ImportSettings
from tradestats.journal.imports import import_file, undo_import
from tradestats.store import journal_repo as repo
from tradestats.store import tables as t
from tradestats.store.engine import build_engine
from tradestats.store.migrate import upgrade

HEADER = (
    "Date/Time,Symbol,Side,Quantity,Price,Commission,Account,Asset Class,Expiry,Strike,"
    "Right,Multiplier,Order ID,Execution ID"
)


def _fills(seed: int, n: int, *, exec_ids: bool = True) -> list[str]:
    """Random but valid fills: stocks, options, a future; partial exits, flips, shorts,
    equal timestamps (ties keep file order), an account column with two values."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
    symbols = [
        ("AAPL", "stock", "", "", "", ""),
        ("MSFT", "stock", "", "", "", ""),
        ("SPY", "option", "2024-06-21", "500", "C", ""),
        ("/MESM4", "future", "", "", "", "5"),
        ("TSLA", "", "", "", "", ""),
    ]
    rows = []
    positions = dict.fromkeys(range(len(symbols)), 0)
    when = start
    for k in range(n):
        s = rng.randrange(len(symbols))
        symbol, kind, expiry, strike, right, mult = symbols[s]
        qty = rng.choice([1, 2, 5, 10, 25])
        pos = positions[s]
        side = "buy" if (pos < 0 or (pos == 0 and rng.random() < 0.6)) else "sell"
        if rng.random() < 0.3:
            side = "sell" if side == "buy" else "buy"  # scale in / flip
        positions[s] += qty if side == "buy" else -qty
        if rng.random() < 0.8:  # else: the same timestamp as the previous fill
            when += timedelta(seconds=rng.randrange(1, 600), microseconds=rng.randrange(10**6))
        price = f"{rng.uniform(1, 500):.2f}"
        fee = rng.choice(["0.35", "1", "0", "", "0.350", "1E+1"])
        account = rng.choice(["", "", "IB1"])
        ident = f"E{seed}-{k}" if exec_ids else ""
        rows.append(
            f"{when.isoformat()},{symbol},{side},{qty},{price},{fee},{account},{kind},"
            f"{expiry},{strike},{right},{mult},O{k // 3},{ident}"
        )
    return rows


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    eng = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(tmp_path)}))
    upgrade(eng)
    return eng


def _write(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def _derived(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table, order in (
            (t.round_trips, t.round_trips.c.id),
            (t.open_positions, t.open_positions.c.instrument_id),
            (t.executions, t.executions.c.id),
        ):
            # round trips: execution_ids last (the comparisons below drop it)
            cols = [c for c in table.c if c.name != "execution_ids"]
            if "execution_ids" in table.c:
                cols.append(table.c.execution_ids)
            out[table.name] = [tuple(r) for r in conn.execute(sa.select(*cols).order_by(order))]
        cols = [c for c in t.realizations.c if c.name != "id"]
        out["realizations"] = sorted(
            (tuple(r) for r in conn.execute(sa.select(*cols))), key=repr
        )
    return out


@pytest.mark.parametrize("exec_ids", [True, False])
def test_rematch_from_kept_fills_equals_reading_back(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, exec_ids: bool
) -> None:
    rows = _fills(3, 600, exec_ids=exec_ids)
    # the same row twice: with an execution id a duplicate (its instrument is then read
    # back), without one a second identical fill
    rows.append(rows[10])
    path = _write(tmp_path, "fills.csv", rows)
    first = import_file(engine, path, path.name, account="acct")
    assert (first.imported, first.duplicates) == ((600, 1) if exec_ids else (601, 0))
    fast = _derived(engine)
    assert fast["round_trips"]

    other = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(tmp_path / "b")}))
    upgrade(other)
    monkeypatch.setattr(imports, "KEEP_FOR_REMATCH", 0)  # every instrument read back
    second = import_file(other, path, path.name, account="acct")
    assert second.imported == first.imported
    assert _derived(other) == fast


def test_overlapping_imports_end_like_one_import(tmp_path: Path, engine: Engine) -> None:
    rows = _fills(5, 500)
    part = _write(tmp_path, "part.csv", rows[:300])
    whole = _write(tmp_path, "whole.csv", rows)
    a = import_file(engine, part, part.name, account="acct")
    b = import_file(engine, whole, whole.name, account="acct")
    assert (a.imported, b.imported, b.duplicates) == (300, 200, 300)

    other = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(tmp_path / "b")}))
    upgrade(other)
    import_file(other, whole, whole.name, account="acct")
    mine, theirs = _derived(engine), _derived(other)
    for name in ("round_trips", "open_positions", "realizations"):
        # execution ids differ (two imports), everything else is the same
        assert [r[:-1] if name == "round_trips" else r for r in mine[name]] == [
            r[:-1] if name == "round_trips" else r for r in theirs[name]
        ], name

    # undo the second import: what remains is what the first import made
    undo_import(engine, b.id or 0)
    only_part = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(tmp_path / "c")}))
    upgrade(only_part)
    import_file(only_part, part, part.name, account="acct")
    after_undo, expected = _derived(engine), _derived(only_part)
    assert after_undo["round_trips"] == expected["round_trips"]
    assert after_undo["realizations"] == expected["realizations"]


def test_instrument_stored_by_another_account_is_rematched_with_its_stored_row(
    tmp_path: Path, engine: Engine
) -> None:
    # the same instrument key with another multiplier already stored (other account):
    # re-matching uses the stored instrument, as reading back would
    first = _write(
        tmp_path,
        "a.csv",
        ["2024-03-01T15:00:00Z,/MESM4,buy,1,5000,0,,future,,,,50,O1,X1"],
    )
    import_file(engine, first, first.name, account="other")
    rows = [
        "2024-03-02T15:00:00Z,/MESM4,buy,2,5000,0,,future,,,,5,O1,Y1",
        "2024-03-02T16:00:00Z,/MESM4,sell,2,5001,0,,future,,,,5,O2,Y2",
    ]
    second = _write(tmp_path, "b.csv", rows)
    import_file(engine, second, second.name, account="acct")
    with engine.connect() as conn:
        pnl = conn.execute(
            sa.select(t.round_trips.c.gross_pnl)
            .join(t.accounts, t.accounts.c.id == t.round_trips.c.account_id)
            .where(t.accounts.c.name == "acct")
        ).scalar_one()
    assert str(pnl) == "100"  # 2 x 1 point x the stored multiplier 50


def test_bulk_insert_stores_what_sqlalchemy_stores(tmp_path: Path, engine: Engine) -> None:
    # The file names an account on some rows ("IB1"): those fills go to that account,
    # the others to the import's. Each account's writer inserts its own chunks, so ids
    # follow accounts, not file order: rows are compared without the ids, per account,
    # with the instrument by its key.
    path = _write(tmp_path, "fills.csv", _fills(9, 50, exec_ids=False))
    import_file(engine, path, path.name, account="acct")
    columns = [
        t.instruments.c.key,
        *(c for c in t.executions.c if c.name not in ("id", "instrument_id")),
    ]
    order = (t.executions.c.account_id, t.executions.c.source_row)
    joined = t.executions.join(t.instruments)
    text_sql = (
        "SELECT ts, quantity, price, fees, raw_json FROM executions "
        "ORDER BY account_id, source_row"
    )
    with engine.connect() as conn:
        fast = [
            tuple(r)
            for r in conn.execute(sa.select(*columns).select_from(joined).order_by(*order))
        ]
        fast_text = conn.exec_driver_sql(text_sql).all()
    # the general path: dict rows through insert_executions (SQLite executemany with
    # the columns' bind conversions)
    from tradestats.journal.importers import parse_file

    parsed = parse_file(path, path.name, settings=ImportSettings(account="acct"))
    assert {e.account for e in parsed.executions} == {"acct", "IB1"}
    slow = build_engine(Settings.load(env={"TRADESTATS_DATA_DIR": str(tmp_path / "s")}))
    upgrade(slow)
    with slow.begin() as conn:
        accounts = {"acct": repo.get_or_create_account(conn, "acct")}
        import_id = repo.create_import(
            conn, account_id=accounts["acct"].id, file_name="f", content_hash="h",
            broker="generic", strict=False, rows_read=0, imported=0, duplicates=0,
            rejected=0, report_json="{}",
        )
        ids = repo.instrument_ids(conn, [e.instrument for e in parsed.executions])
        seen: dict[str, int] = {}
        rows = []
        for e in parsed.executions:
            if e.account not in accounts:
                accounts[e.account] = repo.get_or_create_account(conn, e.account)
            key = repr((e.account, e.instrument.key, e.timestamp, e.side, e.quantity,
                        e.price, e.fees, e.order_id))
            seen[key] = seen.get(key, 0) + 1
            rows.append(
                repo.execution_row(
                    e, account_id=accounts[e.account].id, import_id=import_id,
                    instrument_id=ids[e.instrument.key],
                    fingerprint=imports.fingerprint(e, seen[key]),
                )
            )
        repo.insert_executions(conn, rows)
    with slow.connect() as conn:
        general = [
            tuple(r)
            for r in conn.execute(sa.select(*columns).select_from(joined).order_by(*order))
        ]
        general_text = conn.exec_driver_sql(text_sql).all()
    assert fast == general
    assert fast_text == general_text


_text = st.text(st.characters(codec="utf-8"), max_size=12)


@given(st.lists(st.dictionaries(_text, _text, max_size=6), min_size=1, max_size=5))
def test_raw_row_encoder_is_json_dumps(rows: list[dict[str, str]]) -> None:
    encode = repo.RawRowEncoder()
    for raw in rows + rows:
        want = json.dumps(raw, separators=(",", ":")) if raw else None
        assert encode(raw) == want


def test_raw_row_encoder_same_keys_other_values() -> None:
    encode = repo.RawRowEncoder()
    for values in (("a", "b%s"), ('q"', "x"), ("tab\there", "é"), ("", "100%")):
        raw = dict(zip(("Date/Time", "P%L"), values, strict=True))
        assert encode(raw) == json.dumps(raw, separators=(",", ":"))


def test_import_gives_back_page_cache_and_gc_thresholds(tmp_path: Path, engine: Engine) -> None:
    before = gc.get_threshold()
    with engine.connect() as conn:
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    good = _write(tmp_path, "good.csv", _fills(1, 20))
    bad = _write(tmp_path, "bad.csv", [*_fills(2, 5), "yesterday,AAPL,buy,1,1,0,,,,,,,O,E"])
    assert import_file(engine, good, good.name).imported == 20
    assert import_file(engine, bad, bad.name, strict=True).status == "rejected"
    assert gc.get_threshold() == before
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == cache
