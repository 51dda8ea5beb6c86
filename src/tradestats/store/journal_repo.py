"""SQL for the journal: accounts, instruments, imports, executions and derived rows.

Every function takes an open `Connection` so callers compose them inside one
transaction (an import is all-or-nothing). Bulk writes go through ``executemany`` in
chunks; execution de-duplication is a unique (account, fingerprint) index with
``ON CONFLICT DO NOTHING``, so concurrent importers cannot both insert a fill.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tradestats.journal.model import AssetClass, Execution, Instrument, OptionRight, Side
from tradestats.store.tables import (
    accounts,
    app_settings,
    executions,
    imports,
    instruments,
    jobs,
    open_positions,
    realizations,
    round_trips,
    trade_annotations,
)

CHUNK = 5000
JOURNAL_VERSION_KEY = "journal_version"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone=True columns; everything stored is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _chunks(
    rows: Sequence[dict[str, Any]], size: int = CHUNK
) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert_ignore_duplicates(conn: Connection, table: Any, index: list[str]) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index)


# --- version ---------------------------------------------------------------------------


def bump_journal_version(conn: Connection) -> str:
    """Mark journal data as changed (caches of statistics key on this value)."""
    version = uuid.uuid4().hex
    updated = conn.execute(
        update(app_settings)
        .where(app_settings.c.key == JOURNAL_VERSION_KEY)
        .values(value=version, updated_at=_now())
    ).rowcount
    if not updated:
        conn.execute(
            insert(app_settings).values(key=JOURNAL_VERSION_KEY, value=version, updated_at=_now())
        )
    return version


def journal_version(conn: Connection) -> str:
    value = conn.execute(
        select(app_settings.c.value).where(app_settings.c.key == JOURNAL_VERSION_KEY)
    ).scalar()
    return str(value) if value else "0"


# --- accounts and instruments -------------------------------------------------------------


@dataclass(frozen=True)
class AccountRow:
    id: int
    name: str
    base_currency: str
    lot_method: str
    is_demo: bool


def get_or_create_account(conn: Connection, name: str, *, is_demo: bool = False) -> AccountRow:
    row = conn.execute(select(accounts).where(accounts.c.name == name)).mappings().first()
    if row is None:
        stmt = _insert_ignore_duplicates(conn, accounts, ["name"]).values(
            name=name, base_currency="USD", lot_method="fifo", is_demo=is_demo, created_at=_now()
        )
        conn.execute(stmt)
        row = conn.execute(select(accounts).where(accounts.c.name == name)).mappings().one()
    return AccountRow(
        row["id"], row["name"], row["base_currency"], row["lot_method"], bool(row["is_demo"])
    )


def list_accounts(conn: Connection) -> list[AccountRow]:
    rows = conn.execute(select(accounts).order_by(accounts.c.name)).mappings()
    return [
        AccountRow(r["id"], r["name"], r["base_currency"], r["lot_method"], bool(r["is_demo"]))
        for r in rows
    ]


def set_lot_method(conn: Connection, account_id: int, method: str) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(lot_method=method))


def instrument_ids(conn: Connection, items: Iterable[Instrument]) -> dict[str, int]:
    """Ids of `items` by instrument key, inserting the ones not stored yet."""
    wanted = {i.key: i for i in items}
    found: dict[str, int] = {}
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        for key, ident in conn.execute(
            select(instruments.c.key, instruments.c.id).where(instruments.c.key.in_(part))
        ):
            found[key] = ident
    missing = [wanted[k] for k in keys if k not in found]
    if missing:
        stmt = _insert_ignore_duplicates(conn, instruments, ["key"])
        conn.execute(stmt, [_instrument_row(i) for i in missing])
        for start in range(0, len(missing), 500):
            part = [i.key for i in missing[start : start + 500]]
            for key, ident in conn.execute(
                select(instruments.c.key, instruments.c.id).where(instruments.c.key.in_(part))
            ):
                found[key] = ident
    return found


def _instrument_row(i: Instrument) -> dict[str, Any]:
    return {
        "key": i.key,
        "symbol": i.symbol,
        "asset_class": i.asset_class.value,
        "underlying": i.underlying,
        "multiplier": i.multiplier,
        "expiry": i.expiry,
        "strike": i.strike,
        "option_right": i.right.value if i.right else None,
        "currency": i.currency,
    }


def load_instruments(conn: Connection, ids: Iterable[int] | None = None) -> dict[int, Instrument]:
    stmt = select(instruments)
    if ids is not None:
        stmt = stmt.where(instruments.c.id.in_(list(ids)))
    out = {}
    for r in conn.execute(stmt).mappings():
        out[r["id"]] = Instrument(
            symbol=r["symbol"],
            asset_class=AssetClass(r["asset_class"]),
            underlying=r["underlying"],
            multiplier=r["multiplier"],
            expiry=r["expiry"],
            strike=r["strike"],
            right=OptionRight(r["option_right"]) if r["option_right"] else None,
            currency=r["currency"],
        )
    return out


# --- imports ------------------------------------------------------------------------------


def create_import(conn: Connection, **values: Any) -> int:
    values.setdefault("created_at", _now())
    result = conn.execute(insert(imports).values(**values).returning(imports.c.id))
    return int(result.scalar_one())


def finish_import(conn: Connection, import_id: int, **counts: Any) -> None:
    conn.execute(update(imports).where(imports.c.id == import_id).values(**counts))


def import_by_idempotency_key(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(imports).where(imports.c.idempotency_key == key)).mappings().first()
    return dict(row) if row else None


def get_import(conn: Connection, import_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(imports).where(imports.c.id == import_id)).mappings().first()
    return dict(row) if row else None


def list_imports(conn: Connection, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    stmt = (
        select(imports, accounts.c.name.label("account"))
        .join(accounts, accounts.c.id == imports.c.account_id)
        .order_by(imports.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


def count_imports(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(imports)).scalar_one())


def delete_import(conn: Connection, import_id: int) -> dict[int, set[int]]:
    """Delete an import and exactly its executions; returns affected {account: {instrument}}."""
    affected: dict[int, set[int]] = {}
    for account_id, instrument_id in conn.execute(
        select(executions.c.account_id, executions.c.instrument_id)
        .where(executions.c.import_id == import_id)
        .distinct()
    ):
        affected.setdefault(account_id, set()).add(instrument_id)
    conn.execute(delete(executions).where(executions.c.import_id == import_id))
    conn.execute(delete(imports).where(imports.c.id == import_id))
    return affected


# --- executions ---------------------------------------------------------------------------


def insert_executions(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows, skipping (account, fingerprint) already stored; returns rows inserted."""
    # RETURNING counts what was really inserted: executemany rowcount is not reliable
    # across drivers (psycopg reports 0 for batched ON CONFLICT inserts).
    if conn.dialect.name == "sqlite" and rows:
        return _bulk_insert_sqlite(conn, executions, rows, ("account_id", "fingerprint"))
    stmt = _insert_ignore_duplicates(conn, executions, ["account_id", "fingerprint"]).returning(
        executions.c.id
    )
    inserted = 0
    for part in _chunks(rows):
        inserted += len(conn.execute(stmt, list(part)).all())
    return inserted


def _bulk_insert_sqlite(
    conn: Connection, table: Any, rows: Sequence[dict[str, Any]], conflict: tuple[str, ...] = ()
) -> int:
    """One DBAPI executemany with the columns' own bind processors.

    SQLite only: SQLAlchemy's multi-row insert path compiles and processes parameters per
    row, which was most of the store time at 1M fills; the driver's executemany with
    prebuilt tuples does the same conversions, and its rowcount is exact on SQLite.
    Table and column names come from our own Table objects, never from input.
    """
    cols = list(rows[0])
    procs = [table.c[c].type.bind_processor(conn.dialect) for c in cols]
    pairs = list(zip(cols, procs, strict=True))
    on_conflict = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
    # Names are validated above (table.c[c] raises for an unknown column).
    sql = (
        f"INSERT INTO {table.name} ({', '.join(cols)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(cols))}){on_conflict}"
    )
    params = [tuple([r[c] if p is None else p(r[c]) for c, p in pairs]) for r in rows]
    return int(conn.exec_driver_sql(sql, params).rowcount)


def execution_row(
    execution: Execution,
    *,
    account_id: int,
    import_id: int,
    instrument_id: int,
    fingerprint: str,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "import_id": import_id,
        "instrument_id": instrument_id,
        "broker": execution.broker,
        "broker_execution_id": execution.broker_execution_id,
        "fingerprint": fingerprint,
        "ts": execution.timestamp,
        "side": execution.side.value,
        "quantity": execution.quantity,
        "price": execution.price,
        "fees": execution.fees,
        "currency": execution.instrument.currency,
        "order_id": execution.order_id,
        "source_row": execution.row,
        "raw_json": json.dumps(execution.raw, separators=(",", ":")) if execution.raw else None,
    }


def execution_counts(conn: Connection, account_id: int, ids: Sequence[int]) -> dict[int, int]:
    """Number of stored executions per instrument id of `account_id`."""
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        part = list(ids[start : start + 500])
        stmt = (
            select(executions.c.instrument_id, func.count())
            .where(executions.c.account_id == account_id, executions.c.instrument_id.in_(part))
            .group_by(executions.c.instrument_id)
        )
        out.update({i: n for i, n in conn.execute(stmt)})
    return out


@dataclass(frozen=True, slots=True)
class StoredExecution:
    id: int
    fingerprint: str
    execution: Execution


def load_executions(
    conn: Connection,
    account: AccountRow,
    instrument_ids: Iterable[int] | None,
    instruments_by_id: dict[int, Instrument],
) -> list[StoredExecution]:
    """Executions of `account` (optionally only some instruments), in time order."""
    stmt = select(
        executions.c.id,
        executions.c.fingerprint,
        executions.c.instrument_id,
        executions.c.ts,
        executions.c.side,
        executions.c.quantity,
        executions.c.price,
        executions.c.fees,
        executions.c.broker,
        executions.c.broker_execution_id,
        executions.c.order_id,
        executions.c.source_row,
    ).where(executions.c.account_id == account.id)
    if instrument_ids is not None:
        ids = list(instrument_ids)
        if not ids:
            return []
        stmt = stmt.where(executions.c.instrument_id.in_(ids))
    stmt = stmt.order_by(executions.c.ts, executions.c.id)
    out = []
    buy, sell = Side.BUY, Side.SELL
    for row in conn.execute(stmt):
        (
            ident,
            fingerprint,
            instrument_id,
            ts,
            side,
            qty,
            price,
            fees,
            broker,
            broker_id,
            order_id,
            source_row,
        ) = row
        out.append(
            StoredExecution(
                ident,
                fingerprint,
                Execution(
                    account=account.name,
                    instrument=instruments_by_id[instrument_id],
                    timestamp=_aware(ts),
                    side=buy if side == "buy" else sell,
                    quantity=qty,
                    price=price,
                    fees=fees,
                    broker=broker,
                    broker_execution_id=broker_id,
                    order_id=order_id,
                    row=source_row,
                ),
            )
        )
    return out


# --- derived rows -------------------------------------------------------------------------


def replace_derived(
    conn: Connection,
    account_id: int,
    instrument_ids: Sequence[int] | None,
    trips: Sequence[dict[str, Any]],
    realized: Sequence[dict[str, Any]],
    positions: Sequence[dict[str, Any]],
) -> None:
    """Swap the round trips, realizations and open positions of (account, instruments)."""
    for table in (round_trips, realizations, open_positions):
        stmt = delete(table).where(table.c.account_id == account_id)
        if instrument_ids is not None:
            for start in range(0, len(instrument_ids), 500):
                some_ids = list(instrument_ids[start : start + 500])
                conn.execute(stmt.where(table.c.instrument_id.in_(some_ids)))
        else:
            conn.execute(stmt)
    for table, rows in (
        (round_trips, trips),
        (realizations, realized),
        (open_positions, positions),
    ):
        if conn.dialect.name == "sqlite":
            if rows:
                _bulk_insert_sqlite(conn, table, rows)
            continue
        for part in _chunks(rows):
            conn.execute(insert(table), list(part))


# --- annotations and jobs -------------------------------------------------------------


def trip_exists(conn: Connection, trip_id: str) -> bool:
    return (
        conn.execute(select(round_trips.c.id).where(round_trips.c.id == trip_id)).first()
        is not None
    )


def update_annotation(
    conn: Connection,
    trip_id: str,
    *,
    tags: list[str] | None,
    notes: str | None,
    risk: Decimal | None,
    clear_risk: bool,
) -> None:
    row = (
        conn.execute(select(trade_annotations).where(trade_annotations.c.round_trip_id == trip_id))
        .mappings()
        .first()
    )
    values: dict[str, Any] = {"updated_at": _now()}
    if tags is not None:
        values["tags"] = json.dumps(tags)
    if notes is not None:
        values["notes"] = notes
    if risk is not None or clear_risk:
        values["risk"] = risk
    if row is None:
        values.setdefault("tags", "[]")
        values.setdefault("notes", "")
        conn.execute(insert(trade_annotations).values(round_trip_id=trip_id, **values))
    else:
        conn.execute(
            update(trade_annotations)
            .where(trade_annotations.c.round_trip_id == trip_id)
            .values(**values)
        )


def create_job(conn: Connection, job_id: str, kind: str, progress: dict[str, Any]) -> None:
    now = _now()
    conn.execute(
        insert(jobs).values(
            id=job_id,
            kind=kind,
            status="queued",
            progress_json=json.dumps(progress),
            created_at=now,
            updated_at=now,
        )
    )


def update_job(conn: Connection, job_id: str, **values: Any) -> None:
    if "progress" in values:
        values["progress_json"] = json.dumps(values.pop("progress"))
    if "result" in values:
        values["result_json"] = json.dumps(values.pop("result"))
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(updated_at=_now(), **values))


def get_job(conn: Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["progress"] = json.loads(out.pop("progress_json") or "{}")
    result = out.pop("result_json")
    out["result"] = json.loads(result) if result else None
    return out
