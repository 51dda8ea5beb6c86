"""Read query for multi-leg strategies: stored round trips as legs, with the order id of
their opening fill.

Closed round trips keep their fills' ids (``execution_ids``, opening fill first), so the
opening order id is exact. An open position stores only when it opened: its opening
order id is that of a fill of its instrument at that very time. Open legs are read so
that a strategy with a leg still open is not mistaken for a smaller one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from tradestats.journal.model import Instrument, RoundTrip
from tradestats.journal.strategies import Leg
from tradestats.store.journal_repo import _aware, load_instruments
from tradestats.store.tables import (
    accounts,
    executions,
    open_positions,
    round_trips,
    trade_annotations,
)

_CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit
_ZERO = Decimal(0)


def load_legs(conn: Connection, account: str | None = None) -> list[Leg]:
    """Every stored round trip (closed, then open) of `account` (None = all) as a leg."""
    names = {r.id: r.name for r in conn.execute(select(accounts.c.id, accounts.c.name))}
    account_id = None
    if account is not None:
        account_id = next((i for i, n in names.items() if n == account), None)
        if account_id is None:
            return []
    insts = load_instruments(conn)
    closed = _closed_rows(conn, account_id)
    first_ids = [ident for *_, ident in closed if ident is not None]
    orders = _order_ids(conn, first_ids)
    legs = [
        Leg(
            RoundTrip(
                account=names[row.account_id],
                instrument=insts[row.instrument_id],
                direction=row.direction,
                entry_time=_aware(row.entry_time),
                exit_time=_aware(row.exit_time),
                quantity=row.quantity,
                entry_price=row.entry_price,
                exit_price=row.exit_price,
                gross_pnl=row.gross_pnl,
                fees=row.fees,
                net_pnl=row.net_pnl,
                risk=row.risk,
                tags=json.loads(row.tags) if row.tags else [],
                notes=row.notes or "",
            ),
            orders.get(first) if first is not None else None,
            row.id,
        )
        for row, first in closed
    ]
    legs.extend(_open_legs(conn, account_id, names, insts))
    return legs


def _closed_rows(conn: Connection, account_id: int | None) -> list[tuple[Any, int | None]]:
    stmt = select(
        round_trips.c.id,
        round_trips.c.account_id,
        round_trips.c.instrument_id,
        round_trips.c.direction,
        round_trips.c.entry_time,
        round_trips.c.exit_time,
        round_trips.c.quantity,
        round_trips.c.entry_price,
        round_trips.c.exit_price,
        round_trips.c.gross_pnl,
        round_trips.c.fees,
        round_trips.c.net_pnl,
        round_trips.c.execution_ids,
        trade_annotations.c.tags,
        trade_annotations.c.notes,
        trade_annotations.c.risk,
    ).outerjoin(trade_annotations, trade_annotations.c.round_trip_id == round_trips.c.id)
    if account_id is not None:
        stmt = stmt.where(round_trips.c.account_id == account_id)
    out: list[tuple[Any, int | None]] = []
    for row in conn.execute(stmt):
        ids = json.loads(row.execution_ids) if row.execution_ids else []
        out.append((row, int(ids[0]) if ids else None))
    return out


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
