"""Read query for multi-leg strategies: stored round trips as legs, with the order id of
their opening fill.

Closed round trips keep their fills' ids (``execution_ids``, opening fill first), so the
opening order id is exact. An open position stores only when it opened: its opening
order id is that of a fill of its instrument at that very time. Open legs are read so
that a strategy with a leg still open is not mistaken for a smaller one.

A journal of 1M executions holds ~220k round trips, so the closed legs are read in one
statement that joins each trip's opening fill in the database (its id is the first
element of ``execution_ids``) and selects only the columns a leg needs (of the
annotations, the tags: no strategy surface shows notes or risk), as raw text: exact
decimals and timestamps are parsed here, without a per-value type hook.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Select,
    String,
    and_,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from tradestats.journal.model import AssetClass, Instrument, OptionRight, RoundTrip
from tradestats.journal.strategies import Leg
from tradestats.store.journal_repo import _aware
from tradestats.store.tables import (
    accounts,
    executions,
    instruments,
    open_positions,
    round_trips,
    trade_annotations,
)

_CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit
_ZERO = Decimal(0)
_ASSET_CLASSES = {a.value: a for a in AssetClass}
_RIGHTS = {r.value: r for r in OptionRight}


def load_legs(conn: Connection, account: str | None = None) -> list[Leg]:
    """Every stored round trip (closed, then open) of `account` (None = all) as a leg."""
    names = {r.id: r.name for r in conn.execute(select(accounts.c.id, accounts.c.name))}
    account_id = None
    if account is not None:
        account_id = next((i for i, n in names.items() if n == account), None)
        if account_id is None:
            return []
    # Hundreds of thousands of new objects and no cycles: generational GC passes over
    # them would only cost time (a third of the load at 1M executions).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        insts = _instruments(conn)
        tags = _tags(conn)
        legs = _closed_legs(conn, account_id, names, insts, tags)
        legs.extend(_open_legs(conn, account_id, names, insts))
    finally:
        if gc_was_enabled:
            gc.enable()
    return legs


def _instruments(conn: Connection) -> dict[int, Instrument]:
    """Every instrument by id (as `journal_repo.load_instruments`, without type hooks)."""
    stmt = select(
        instruments.c.id,
        instruments.c.symbol,
        instruments.c.asset_class,
        instruments.c.underlying,
        type_coerce(instruments.c.multiplier, String),
        instruments.c.expiry,
        type_coerce(instruments.c.strike, String),
        instruments.c.option_right,
        instruments.c.currency,
    )
    decimals: dict[str, Decimal] = {}  # multipliers and strikes repeat: parse each once
    out: dict[int, Instrument] = {}
    for ident, symbol, asset, underlying, mult, expiry, strike, right, currency in conn.execute(
        stmt
    ):
        multiplier = decimals.get(mult)
        if multiplier is None:
            multiplier = decimals[mult] = Decimal(mult)
        strike_value = None
        if strike is not None:
            strike_value = decimals.get(strike)
            if strike_value is None:
                strike_value = decimals[strike] = Decimal(strike)
        out[ident] = Instrument(
            symbol=symbol,
            asset_class=_ASSET_CLASSES[asset],
            underlying=underlying,
            multiplier=multiplier,
            expiry=expiry,
            strike=strike_value,
            right=_RIGHTS[right] if right else None,
            currency=currency,
        )
    return out


def _tags(conn: Connection) -> dict[str, list[str]]:
    """Tags of the annotated round trips (few): the only annotation a leg carries."""
    stmt = select(trade_annotations.c.round_trip_id, trade_annotations.c.tags).where(
        trade_annotations.c.tags.is_not(None), trade_annotations.c.tags != "[]"
    )
    return {ident: json.loads(raw) for ident, raw in conn.execute(stmt) if raw}


def _first_execution_id(dialect: str) -> ColumnElement[Any] | None:
    """The first element of ``execution_ids`` (a JSON list), as an SQL expression."""
    if dialect == "sqlite":
        return func.json_extract(round_trips.c.execution_ids, "$[0]")
    if dialect == "postgresql":
        return cast(cast(round_trips.c.execution_ids, JSONB)[0].astext, BigInteger)
    return None


class _Decimals(dict[str, Decimal]):
    """Decimal text -> Decimal, each distinct text parsed once."""

    def __missing__(self, text: str) -> Decimal:
        value = self[text] = Decimal(text)
        return value


_fromisoformat = datetime.fromisoformat


def _closed_legs(
    conn: Connection,
    account_id: int | None,
    names: dict[int, str],
    insts: dict[int, Instrument],
    tags: dict[str, list[str]],
) -> list[Leg]:
    first = _first_execution_id(conn.dialect.name)
    columns = [
        round_trips.c.id,
        round_trips.c.account_id,
        round_trips.c.instrument_id,
        round_trips.c.direction,
        type_coerce(round_trips.c.entry_time, String),
        type_coerce(round_trips.c.exit_time, String),
        type_coerce(round_trips.c.quantity, String),
        type_coerce(round_trips.c.entry_price, String),
        type_coerce(round_trips.c.exit_price, String),
        # money in the account's base currency (statistics add legs up; see
        # journal_queries.load_for_stats): the base figures where converted
        type_coerce(func.coalesce(round_trips.c.base_gross_pnl, round_trips.c.gross_pnl), String),
        type_coerce(func.coalesce(round_trips.c.base_fees, round_trips.c.fees), String),
        type_coerce(func.coalesce(round_trips.c.base_net_pnl, round_trips.c.net_pnl), String),
    ]
    if first is not None:
        stmt = select(*columns, executions.c.order_id).select_from(
            round_trips.outerjoin(executions, executions.c.id == first)
        )
    else:  # another backend: look the opening fills up by id, in chunks
        stmt = select(*columns, round_trips.c.execution_ids)
    if account_id is not None:
        stmt = stmt.where(round_trips.c.account_id == account_id)
    if first is None:
        rows = _with_order_ids(conn, conn.execute(stmt).all())
    else:
        rows = _driver_rows(conn, stmt)
    # Sizes, fees and many P&L figures repeat: parse each text once (Decimal is immutable).
    quantities, money = _Decimals(), _Decimals()
    fromisoformat = _fromisoformat
    legs: list[Leg] = []
    append = legs.append
    for (
        ident,
        acct,
        inst_id,
        direction,
        entry,
        exit_,
        qty,
        entry_px,
        exit_px,
        gross,
        fees,
        net,
        order_id,
    ) in rows:
        # SQLite returns the stored ISO text (parsed as SQLAlchemy's DateTime parses it),
        # the PostgreSQL driver datetimes; everything stored is UTC.
        if entry.__class__ is str:
            entry, exit_ = fromisoformat(entry), fromisoformat(exit_)
        if entry.tzinfo is None:
            entry = entry.replace(tzinfo=UTC)
        if exit_.tzinfo is None:
            exit_ = exit_.replace(tzinfo=UTC)
        append(
            Leg(
                RoundTrip(
                    names[acct],
                    insts[inst_id],
                    direction,
                    entry,
                    exit_,
                    quantities[qty],
                    Decimal(entry_px),
                    Decimal(exit_px),
                    money[gross],
                    money[fees],
                    money[net],
                    tags=tags.get(ident) or [],
                ),
                order_id,
                ident,
            )
        )
    return legs


def _driver_rows(conn: Connection, stmt: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of `stmt` as the driver returns them (plain tuples): a result row per
    round trip costs more than parsing its values (no column here has a result hook,
    thanks to `type_coerce`, and no parameter a bind hook)."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.params
    args: Any = params
    if compiled.positiontup is not None:  # qmark / format paramstyles (SQLite)
        args = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _with_order_ids(conn: Connection, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows ending in ``execution_ids`` -> the same rows ending in the opening order id."""
    firsts: list[int | None] = []
    for row in rows:
        ids = json.loads(row[-1]) if row[-1] else []
        firsts.append(int(ids[0]) if ids else None)
    orders = _order_ids(conn, [i for i in firsts if i is not None])
    return [
        (*row[:-1], orders.get(f) if f is not None else None)
        for row, f in zip(rows, firsts, strict=True)
    ]


def _order_ids(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    unique = sorted(set(ids))
    found: dict[int, str] = {}
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        stmt = select(executions.c.id, executions.c.order_id).where(
            executions.c.id.in_(chunk), executions.c.order_id.is_not(None)
        )
        found.update({ident: order for ident, order in conn.execute(stmt)})
    return found


def _open_legs(
    conn: Connection, account_id: int | None, names: dict[int, str], insts: dict[int, Instrument]
) -> list[Leg]:
    opening_order = (
        select(func.min(executions.c.order_id))
        .where(
            and_(
                executions.c.account_id == open_positions.c.account_id,
                executions.c.instrument_id == open_positions.c.instrument_id,
                executions.c.ts == open_positions.c.opened_at,
            )
        )
        .scalar_subquery()
    )
    stmt = select(open_positions, opening_order.label("order_id"))
    if account_id is not None:
        stmt = stmt.where(open_positions.c.account_id == account_id)
    legs: list[Leg] = []
    for row in conn.execute(stmt).mappings():
        qty: Decimal = row["quantity"]
        instrument = insts[row["instrument_id"]]
        trip = RoundTrip(
            account=names[row["account_id"]],
            instrument=instrument,
            direction="long" if qty > 0 else "short",
            entry_time=_aware(row["opened_at"]),
            exit_time=None,
            quantity=abs(qty),
            entry_price=row["average_price"],
            exit_price=None,
            gross_pnl=_ZERO,
            fees=row["fees"],
            net_pnl=-row["fees"],
        )
        legs.append(Leg(trip, row["order_id"], row["round_trip_id"]))
    return legs
