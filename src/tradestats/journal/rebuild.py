"""Recompute derived rows (round trips, realizations, open positions) from executions.

Round trips are derived data: after an import or an undo, the affected (account,
instrument) pairs are re-matched from all their stored executions and corporate actions
(splits), inside the same transaction. A round trip's id is a hash of (account,
instrument, fingerprint of its opening fill), so it is stable across recomputations and
user annotations (tags, notes, risk), stored apart by that id, survive re-imports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from tradestats.journal.matching import MatchMethod, match_round_trips
from tradestats.journal.model import Execution, Instrument, RoundTrip
from tradestats.store import corporate_action_repo
from tradestats.store import journal_repo as repo


def trip_id(account_id: int, instrument_key: str, opening_fingerprint: str) -> str:
    raw = f"{account_id}|{instrument_key}|{opening_fingerprint}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


#: A just-stored execution: (id, fingerprint, the execution as the database holds it).
FreshFill = tuple[int, str, Execution]


def rebuild(
    conn: Connection,
    account: repo.AccountRow,
    instrument_ids: Iterable[int] | None,
    *,
    fresh: dict[int, list[FreshFill]] | None = None,
) -> int:
    """Re-match `account`'s executions for `instrument_ids` (None = all); returns trips.

    `fresh` gives, for some of those instruments, every execution of the account stored
    for them (in id order): an import that just stored all the fills of an instrument
    passes them so they are not read back. Entries are removed from `fresh` as they are
    used, so their memory is freed part by part.
    """
    ids = None if instrument_ids is None else sorted(set(instrument_ids))
    if ids is None:
        return _rebuild_part(conn, account, ids, {})
    fresh = {} if fresh is None else fresh
    # Instruments match independently: re-match them in parts of about _PART executions,
    # so memory is bounded by max(_PART, the busiest instrument), whatever the journal's size.
    counts = repo.execution_counts(conn, account.id, [i for i in ids if i not in fresh])
    trips = 0
    part: list[int] = []
    size = 0
    for ident in ids:
        n = len(fresh[ident]) if ident in fresh else counts.get(ident, 0)
        if part and size + n > _PART:
            trips += _rebuild_part(conn, account, part, fresh)
            part, size = [], 0
        part.append(ident)
        size += n
    if part:
        trips += _rebuild_part(conn, account, part, fresh)
    return trips


_PART = 50_000


def _rebuild_part(
    conn: Connection,
    account: repo.AccountRow,
    ids: list[int] | None,
    fresh: dict[int, list[FreshFill]],
) -> int:
    instruments_by_id = repo.load_instruments(conn, ids)
    key_to_id = {inst.key: ident for ident, inst in instruments_by_id.items()}
    fills: list[FreshFill]
    if ids is None:
        stored = repo.load_executions(conn, account, ids, instruments_by_id)
        fills = [(s.id, s.fingerprint, s.execution) for s in stored]
        only_fresh = False
    else:
        in_db = [i for i in ids if i not in fresh]
        only_fresh = not in_db
        stored = repo.load_executions(conn, account, in_db, instruments_by_id) if in_db else []
        fills = [(s.id, s.fingerprint, s.execution) for s in stored]
        kept = [
            f
            for i in ids
            if i in fresh
            for f in _with_stored_instrument(fresh.pop(i), instruments_by_id[i])
        ]
        if kept:
            # In id order, the matcher's stable sort by time gives (time, id): the order
            # the database gives, so ties between equal timestamps resolve the same way.
            fills += kept
            fills.sort(key=itemgetter(0))
        del stored
    meta = {id(e): (ident, fp) for ident, fp, e in fills}
    method: MatchMethod = account.lot_method  # type: ignore[assignment]
    # Splits are stored per (account, instrument): re-matching applies them again, so a
    # lot-method change or an undo gives what the import gave.
    actions = corporate_action_repo.load_corporate_actions(conn, account, ids, instruments_by_id)
    result = match_round_trips([e for _, _, e in fills], method, actions)
    del fills

    ids_by_trip: dict[int, str] = {}
    # instrument id by Instrument object (the fills' own objects, alive for this part)
    by_object: dict[int, int] = {}

    def instrument_id(inst: Instrument) -> int:
        found = by_object.get(id(inst))
        if found is None:
            found = by_object[id(inst)] = key_to_id[inst.key]
        return found

    def ident(rt: RoundTrip) -> str:
        key = id(rt)
        if key not in ids_by_trip:
            first = meta[id(rt.executions[0])]
            ids_by_trip[key] = trip_id(account.id, rt.instrument.key, first[1])
        return ids_by_trip[key]

    trips: list[dict[str, Any]] = []
    for rt in result.round_trips:
        assert rt.exit_time is not None and rt.exit_price is not None
        trips.append(
            {
                "id": ident(rt),
                "account_id": account.id,
                "instrument_id": instrument_id(rt.instrument),
                "direction": rt.direction,
                "entry_time": rt.entry_time,
                "exit_time": rt.exit_time,
                "quantity": rt.quantity,
                "entry_price": rt.entry_price,
                "exit_price": rt.exit_price,
                "gross_pnl": rt.gross_pnl,
                "fees": rt.fees,
                "net_pnl": rt.net_pnl,
                "net_pnl_sort": float(rt.base_net_pnl),  # sorts across currencies
                "base_gross_pnl": rt.base_gross_pnl,
                "base_fees": rt.base_fees,
                "base_net_pnl": None if rt.base_gross_pnl is None else rt.base_net_pnl,
                "holding_seconds": rt.holding_seconds or 0.0,
                "executions_count": len(rt.executions),
                "execution_ids": _json_ints(_unique([meta[id(e)][0] for e in rt.executions])),
            }
        )
    realized = [
        {
            "account_id": account.id,
            "instrument_id": instrument_id(r.instrument),
            "round_trip_id": ident(r.round_trip),
            "ts": r.time,
            "quantity": r.quantity,
            "gross_pnl": r.gross_pnl,
            "fees": r.fees,
            "fx_rate": r.fx_rate,
        }
        for r in result.realizations
    ]
    positions = [
        {
            "account_id": account.id,
            "instrument_id": instrument_id(p.instrument),
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
    # Instruments with no stored execution before this import have no derived rows.
    repo.replace_derived(
        conn, account.id, ids, trips, realized, positions, delete_old=not only_fresh
    )
    return len(trips)


def _unique(values: list[int]) -> list[int]:
    return values if len(set(values)) == len(values) else list(dict.fromkeys(values))


def _json_ints(values: list[int]) -> str:
    """``json.dumps(values)`` for a list of ints, without the encoder's per-call cost."""
    return "[" + ", ".join(map(str, values)) + "]"


def _with_stored_instrument(fills: list[FreshFill], stored: Instrument) -> list[FreshFill]:
    """`fills` with the instrument as stored (what reading them back would give): an
    earlier import may have stored this instrument key with other attributes."""
    same: dict[int, bool] = {}
    out = fills
    for n, (ident, fp, e) in enumerate(fills):
        inst = e.instrument
        if inst is stored:
            continue
        equal = same.get(id(inst))
        if equal is None:
            equal = same[id(inst)] = inst == stored
        if not equal:
            if out is fills:
                out = list(fills)
            out[n] = (ident, fp, replace(e, instrument=stored))
    return out
