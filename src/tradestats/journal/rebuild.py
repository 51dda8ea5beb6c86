"""Recompute derived rows (round trips, realizations, open positions) from executions.

Round trips are derived data: after an import or an undo, the affected (account,
instrument) pairs are re-matched from all their stored executions, inside the same
transaction. A round trip's id is a hash of (account, instrument, fingerprint of its
opening fill), so it is stable across recomputations and user annotations (tags, notes,
risk), stored apart by that id, survive re-imports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from tradestats.journal.matching import MatchMethod, match_round_trips
from tradestats.journal.model import RoundTrip
from tradestats.store import journal_repo as repo


def trip_id(account_id: int, instrument_key: str, opening_fingerprint: str) -> str:
    raw = f"{account_id}|{instrument_key}|{opening_fingerprint}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def rebuild(
    conn: Connection, account: repo.AccountRow, instrument_ids: Iterable[int] | None
) -> int:
    """Re-match `account`'s executions for `instrument_ids` (None = all); returns trips."""
    ids = None if instrument_ids is None else sorted(set(instrument_ids))
    if ids is None:
        return _rebuild_part(conn, account, ids)
    # Instruments match independently: re-match them in parts of about _PART executions,
    # so memory is bounded by max(_PART, the busiest instrument), whatever the journal's size.
    counts = repo.execution_counts(conn, account.id, ids)
    trips = 0
    part: list[int] = []
    size = 0
    for ident in ids:
        n = counts.get(ident, 0)
        if part and size + n > _PART:
            trips += _rebuild_part(conn, account, part)
            part, size = [], 0
        part.append(ident)
        size += n
    if part:
        trips += _rebuild_part(conn, account, part)
    return trips


_PART = 50_000


def _rebuild_part(conn: Connection, account: repo.AccountRow, ids: list[int] | None) -> int:
    instruments_by_id = repo.load_instruments(conn, ids)
    key_to_id = {inst.key: ident for ident, inst in instruments_by_id.items()}
    stored = repo.load_executions(conn, account, ids, instruments_by_id)
    meta = {id(s.execution): s for s in stored}
    method: MatchMethod = account.lot_method  # type: ignore[assignment]
    result = match_round_trips([s.execution for s in stored], method)

    ids_by_trip: dict[int, str] = {}

    def ident(rt: RoundTrip) -> str:
        key = id(rt)
        if key not in ids_by_trip:
            first = meta[id(rt.executions[0])]
            ids_by_trip[key] = trip_id(account.id, rt.instrument.key, first.fingerprint)
        return ids_by_trip[key]

    trips: list[dict[str, Any]] = []
    for rt in result.round_trips:
        assert rt.exit_time is not None and rt.exit_price is not None
        trips.append(
            {
                "id": ident(rt),
                "account_id": account.id,
                "instrument_id": key_to_id[rt.instrument.key],
                "direction": rt.direction,
                "entry_time": rt.entry_time,
                "exit_time": rt.exit_time,
                "quantity": rt.quantity,
                "entry_price": rt.entry_price,
                "exit_price": rt.exit_price,
                "gross_pnl": rt.gross_pnl,
                "fees": rt.fees,
                "net_pnl": rt.net_pnl,
                "net_pnl_sort": float(rt.net_pnl),
                "holding_seconds": rt.holding_seconds or 0.0,
                "executions_count": len(rt.executions),
                "execution_ids": json.dumps(_unique(meta[id(e)].id for e in rt.executions)),
            }
        )
    realized = [
        {
            "account_id": account.id,
            "instrument_id": key_to_id[r.instrument.key],
            "round_trip_id": ident(r.round_trip),
            "ts": r.time,
            "quantity": r.quantity,
            "gross_pnl": r.gross_pnl,
            "fees": r.fees,
        }
        for r in result.realizations
    ]
    positions = [
        {
            "account_id": account.id,
            "instrument_id": key_to_id[p.instrument.key],
            "round_trip_id": ident(p.round_trip),
            "quantity": p.quantity,
            "average_price": p.average_price,
            "cost_basis": p.cost_basis,
            "fees": p.fees,
            "opened_at": p.round_trip.entry_time,
        }
        for p in result.open_positions
        if p.quantity != Decimal(0)
    ]
    repo.replace_derived(conn, account.id, ids, trips, realized, positions)
    return len(trips)


def _unique(values: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(values))
