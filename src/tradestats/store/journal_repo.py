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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    String,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from tradestats.journal.model import AssetClass, Execution, Instrument, OptionRight, Side
from tradestats.store.tables import (
    DecimalText,
    accounts,
    app_settings,
    corporate_actions,
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
#: SQLite page cache while an import writes (KiB; the connection default is 64 MB).
#: A large import inserts into the executions and round-trip indexes at random places;
#: once the dirty pages outgrow the cache SQLite spills them and reads them back
#: (measured at 1M fills: re-match store 21.7 s CPU with 64 MB, 8.1 s with 256 MB).
#: The cache grows only as pages are used, and is given back after the import.
IMPORT_CACHE_KIB = 256 * 1024
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


@contextmanager
def bulk_write_cache(conn: Connection) -> Iterator[None]:
    """Enlarge SQLite's page cache for this connection while a bulk write runs; enter it
    before the transaction begins and leave it after it ends. No-op on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        yield
        return
    # The DBAPI connection directly: a PRAGMA through SQLAlchemy would begin a transaction.
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    (before,) = dbapi.execute("PRAGMA cache_size").fetchone()
    dbapi.execute(f"PRAGMA cache_size=-{int(IMPORT_CACHE_KIB)}")
    try:
        yield
    finally:
        dbapi.execute(f"PRAGMA cache_size={int(before)}")


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


def set_base_currency(conn: Connection, account_id: int, currency: str) -> None:
    conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(base_currency=currency)
    )


def has_executions(conn: Connection, account_id: int) -> bool:
    """Whether `account_id` has at least one stored execution."""
    stmt = select(executions.c.id).where(executions.c.account_id == account_id).limit(1)
    return conn.execute(stmt).first() is not None


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
    return resolve_instruments(conn, items)[0]


def resolve_instruments(
    conn: Connection, items: Iterable[Instrument]
) -> tuple[dict[str, int], set[str]]:
    """Ids of `items` by instrument key, inserting the ones not stored yet; also the keys
    that this call inserted (those have no executions yet)."""
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
    created: set[str] = set()
    if missing and conn.dialect.name == "sqlite":
        # One writer at a time on SQLite: unless the count says otherwise, this
        # statement inserted every missing key.
        rows = [_instrument_row(i) for i in missing]
        if _bulk_insert_sqlite(conn, instruments, rows, ("key",)) == len(missing):
            created = {i.key for i in missing}
    elif missing:
        stmt = _insert_ignore_duplicates(conn, instruments, ["key"]).returning(
            instruments.c.key
        )
        # RETURNING gives the rows this statement inserted (a concurrent importer may
        # have inserted some of the others first: those are looked up like the rest).
        for start in range(0, len(missing), 500):
            rows = [_instrument_row(i) for i in missing[start : start + 500]]
            created.update(conn.execute(stmt, rows).scalars())
    for start in range(0, len(missing), 500):
        part = [i.key for i in missing[start : start + 500]]
        for key, ident in conn.execute(
            select(instruments.c.key, instruments.c.id).where(instruments.c.key.in_(part))
        ):
            found[key] = ident
    return found, created


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
    """Delete an import and exactly its executions and corporate actions; returns the
    affected {account: {instrument}}."""
    affected: dict[int, set[int]] = {}
    for table in (corporate_actions, executions):
        for account_id, instrument_id in conn.execute(
            select(table.c.account_id, table.c.instrument_id)
            .where(table.c.import_id == import_id)
            .distinct()
        ):
            affected.setdefault(account_id, set()).add(instrument_id)
        conn.execute(delete(table).where(table.c.import_id == import_id))
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
    """One DBAPI executemany, values converted as the columns' types would.

    SQLite only: SQLAlchemy's multi-row insert path compiles and processes parameters per
    row, which was most of the store time at 1M fills; the driver's executemany with
    prebuilt tuples does the same conversions, and its rowcount is exact on SQLite.
    Table and column names come from our own Table objects, never from input.
    """
    cols = list(rows[0])
    procs = [_sqlite_converter(table.c[c].type, conn.dialect) for c in cols]
    convert = [(i, p) for i, p in enumerate(procs) if p is not None]
    get = itemgetter(*cols) if len(cols) > 1 else lambda r: (r[cols[0]],)
    params = []
    for r in rows:
        values = list(get(r))
        for i, p in convert:
            values[i] = p(values[i])
        params.append(tuple(values))
    return _sqlite_executemany(conn, table, cols, params, conflict)


def _sqlite_executemany(
    conn: Connection,
    table: Any,
    cols: Sequence[str],
    params: Sequence[Sequence[Any]],
    conflict: tuple[str, ...] = (),
) -> int:
    unknown = [c for c in cols if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {unknown}")
    on_conflict = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
    # Names are validated above against the Table's own columns.
    sql = (
        f"INSERT INTO {table.name} ({', '.join(cols)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(cols))}){on_conflict}"
    )
    return int(conn.exec_driver_sql(sql, params).rowcount)


def _sqlite_converter(type_: Any, dialect: Any) -> Any:
    """The conversion a value of `type_` gets on this path, direct for our hot types."""
    if isinstance(type_, DecimalText):
        return decimal_text
    if isinstance(type_, DateTime):
        return sqlite_datetime
    if isinstance(type_, Date):
        return type_.dialect_impl(dialect).bind_processor(dialect)
    return type_.bind_processor(dialect)


def decimal_text(value: Any) -> str | None:
    """`DecimalText`'s stored form of `value` (None stays None)."""
    if value is None:
        return None
    return format(value if type(value) is Decimal else Decimal(value), "f")


def sqlite_datetime(value: Any) -> Any:
    """A datetime as this bulk path has always stored it: what the sqlite3 driver's
    default adapter makes of it, ``value.isoformat(" ")`` (UTC offset included; read
    back by SQLAlchemy with ``fromisoformat``). Other values pass unchanged."""
    if type(value) is datetime:
        return value.isoformat(" ")
    return value


class RawRowEncoder:
    """``json.dumps(raw, separators=(",", ":"))`` of source rows, faster for many rows
    with the same columns (one file): the keys are encoded once into a template, and a
    row whose values need no JSON escaping (printable ASCII without ``"`` or ``\\``)
    is one ``%`` formatting; any other row goes through `json.dumps`."""

    def __init__(self) -> None:
        self._keys: tuple[str, ...] | None = None
        self._template = ""

    def __call__(self, raw: dict[str, str] | None) -> str | None:
        if not raw:
            return None
        keys = tuple(raw)
        if keys != self._keys:
            self._keys = keys
            self._template = (
                "{"
                + ",".join(json.dumps(k).replace("%", "%%") + ':"%s"' for k in keys)
                + "}"
                if all(type(k) is str for k in keys)
                else ""
            )
        values = tuple(raw.values())
        if self._template:
            try:
                joined = "".join(values)
            except TypeError:  # a value that is not a string
                joined = "\\"
            if (
                joined.isascii()
                and joined.isprintable()
                and '"' not in joined
                and "\\" not in joined
            ):
                return self._template % values
        return json.dumps(raw, separators=(",", ":"))


#: Columns of an executions row as `insert_new_executions_sqlite` writes them.
_EXECUTION_COLUMNS = (
    "id",
    "account_id",
    "import_id",
    "instrument_id",
    "broker",
    "broker_execution_id",
    "fingerprint",
    "ts",
    "side",
    "quantity",
    "price",
    "fees",
    "currency",
    "order_id",
    "source_row",
    "raw_json",
    "fx_rate",
)


def next_execution_id(conn: Connection) -> int:
    """The next free executions id (SQLite: stable while this transaction writes, since
    SQLite has one writer at a time)."""
    return int(conn.execute(select(func.coalesce(func.max(executions.c.id), 0))).scalar_one()) + 1


def insert_new_executions_sqlite(
    conn: Connection,
    *,
    account_id: int,
    import_id: int,
    first_id: int,
    items: Sequence[tuple[Execution, int, str, str | None]],
) -> int:
    """Insert ``(execution, instrument_id, fingerprint, raw_json)`` items with the ids
    ``first_id, first_id + 1, ...``, skipping (account, fingerprint) already stored;
    returns the rows inserted. SQLite only; the stored values are those of
    `execution_row` through `insert_executions`.
    """
    buy = Side.BUY
    params = [
        (
            first_id + n,
            account_id,
            import_id,
            instrument_id,
            e.broker,
            e.broker_execution_id,
            fp,
            e.timestamp.isoformat(" "),
            "buy" if e.side is buy else "sell",
            format(e.quantity, "f"),
            format(e.price, "f"),
            format(e.fees, "f"),
            e.instrument.currency,
            e.order_id,
            e.row,
            raw_json,
            None if e.fx_rate is None else format(e.fx_rate, "f"),
        )
        for n, (e, instrument_id, fp, raw_json) in enumerate(items)
    ]
    if not params:
        return 0
    return _sqlite_executemany(
        conn, executions, _EXECUTION_COLUMNS, params, ("account_id", "fingerprint")
    )


def instruments_with_executions(
    conn: Connection, account_id: int, ids: Sequence[int]
) -> set[int]:
    """Which of `ids` have at least one stored execution of `account_id`."""
    return set(execution_counts(conn, account_id, ids))


def execution_row(
    execution: Execution,
    *,
    account_id: int,
    import_id: int,
    instrument_id: int,
    fingerprint: str,
    raw_json: str | None = None,
) -> dict[str, Any]:
    """An executions row; `raw_json` is the stored source row when already encoded."""
    if raw_json is None and execution.raw:
        raw_json = json.dumps(execution.raw, separators=(",", ":"))
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
        "raw_json": raw_json,
        "fx_rate": execution.fx_rate,
    }


def unconvertible_rows(
    conn: Connection,
    import_id: int,
    account_id: int,
    base: str,
    unrated: Sequence[str],
    base_rated: bool,
    limit: int,
) -> tuple[int, list[tuple[int | None, str, Decimal | None]]]:
    """Executions stored by `import_id` for `account_id` that cannot be converted to the
    `base` currency: in one of the `unrated` currencies without an FX rate, and (when
    `base_rated`) in `base` with a rate other than 1. Returns their number and the first
    `limit` of them as (source row, currency, rate), by source row."""
    mine = (executions.c.import_id == import_id) & (executions.c.account_id == account_id)
    order = (executions.c.source_row, executions.c.id)
    total = 0
    rows: list[tuple[int | None, str, Decimal | None]] = []
    if unrated:
        cond = mine & executions.c.currency.in_(list(unrated)) & executions.c.fx_rate.is_(None)
        total += int(
            conn.execute(select(func.count()).select_from(executions).where(cond)).scalar_one()
        )
        stmt = select(executions.c.source_row, executions.c.currency).where(cond)
        rows.extend((r, c, None) for r, c in conn.execute(stmt.order_by(*order).limit(limit)))
    if base_rated:
        cond = mine & (executions.c.currency == base) & executions.c.fx_rate.is_not(None)
        stmt = select(executions.c.source_row, executions.c.currency, executions.c.fx_rate)
        for row in conn.execute(stmt.where(cond).order_by(*order)):
            r: int | None = row[0]
            rate: Decimal = row[2]
            if rate != 1:  # stored as text: "1", "1.0" and "1.00000" are all 1
                total += 1
                if len(rows) < 2 * limit:
                    rows.append((r, str(row[1]), rate))
    rows.sort(key=lambda item: (item[0] is None, item[0] or 0))
    return total, rows[:limit]


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
    # On SQLite the stored texts are converted here, as the column types would convert
    # them (fromisoformat, Decimal) but without the per-value processor calls, and equal
    # decimal texts share one Decimal.
    raw = conn.dialect.name == "sqlite"

    def text(col: Any) -> Any:
        return type_coerce(col, String) if raw else col

    stmt = select(
        executions.c.id,
        executions.c.fingerprint,
        executions.c.instrument_id,
        text(executions.c.ts),
        executions.c.side,
        text(executions.c.quantity),
        text(executions.c.price),
        text(executions.c.fees),
        executions.c.broker,
        executions.c.broker_execution_id,
        executions.c.order_id,
        executions.c.source_row,
        text(executions.c.fx_rate),
    ).where(executions.c.account_id == account.id)
    if instrument_ids is not None:
        ids = list(instrument_ids)
        if not ids:
            return []
        stmt = stmt.where(executions.c.instrument_id.in_(ids))
    stmt = stmt.order_by(executions.c.ts, executions.c.id)
    out = []
    buy, sell = Side.BUY, Side.SELL
    name = account.name
    decimals: dict[str, Decimal] = {}
    fromisoformat = datetime.fromisoformat

    def dec(value: Any) -> Decimal:
        d = decimals.get(value)
        if d is None:
            if len(decimals) > 100_000:
                decimals.clear()
            d = decimals[value] = Decimal(value)
        return d

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
            fx_rate,
        ) = row
        if raw:
            ts = fromisoformat(ts)
            qty, price, fees = dec(qty), dec(price), dec(fees)
            if fx_rate is not None:
                fx_rate = dec(fx_rate)
        out.append(
            StoredExecution(
                ident,
                fingerprint,
                Execution(
                    name,
                    instruments_by_id[instrument_id],
                    _aware(ts),
                    buy if side == "buy" else sell,
                    qty,
                    price,
                    fees,
                    broker,
                    broker_id,
                    order_id,
                    source_row,
                    None,
                    fx_rate,
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
    *,
    delete_old: bool = True,
) -> None:
    """Swap the round trips, realizations and open positions of (account, instruments).

    ``delete_old=False`` when the caller knows there are none (instruments that had no
    execution before): the inserts alone.
    """
    for table in (round_trips, realizations, open_positions) if delete_old else ():
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


def create_job_once(
    conn: Connection,
    job_id: str,
    kind: str,
    progress: dict[str, Any],
    params_json: str | None = None,
) -> bool:
    """Insert a queued job unless one with this id exists already (a concurrent request
    made it first); True when this call created it."""
    now = _now()
    stmt = (
        _insert_ignore_duplicates(conn, jobs, ["id"])
        .values(
            id=job_id,
            kind=kind,
            status="queued",
            progress_json=json.dumps(progress),
            params_json=params_json,
            created_at=now,
            updated_at=now,
        )
        .returning(jobs.c.id)  # rowcount is not reliable here on every driver
    )
    return conn.execute(stmt).first() is not None


def take_over_job(conn: Connection, job_id: str, old_owner: str | None, new_owner: str) -> bool:
    """Re-queue an unfinished job under `new_owner` if it is still owned by `old_owner`
    (its ``params_json``); False when another process took it over first."""
    owner = jobs.c.params_json.is_(None) if old_owner is None else jobs.c.params_json == old_owner
    result = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status.in_(("queued", "running")), owner)
        .values(status="queued", params_json=new_owner, error=None, updated_at=_now())
    )
    return result.rowcount == 1


def get_job(conn: Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["progress"] = json.loads(out.pop("progress_json") or "{}")
    result = out.pop("result_json")
    out["result"] = json.loads(result) if result else None
    return out
