"""SQL for corporate actions (splits): store them with their import, load them for
re-matching, delete them with their import.

A corporate action is de-duplicated per account by a fingerprint of its content (kind,
instrument, time, ratio or quantity change, broker), so importing the same file twice
stores it once, as for executions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from tradestats.journal.model import CorporateAction, Instrument
from tradestats.store.tables import corporate_actions

if TYPE_CHECKING:
    from tradestats.store.journal_repo import AccountRow


def fingerprint(action: CorporateAction, instrument_key: str | None = None) -> str:
    """The action's de-duplication key within its account."""

    def text(value: Decimal | None) -> str:
        return "" if value is None else format(value.normalize(), "f")

    raw = "|".join(
        (
            action.kind,
            instrument_key or action.instrument.key,
            action.timestamp.isoformat(),
            text(action.new_units),
            text(action.old_units),
            text(action.quantity_delta),
            action.broker,
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def insert_corporate_actions(
    conn: Connection,
    *,
    account_id: int,
    import_id: int | None,
    actions: Sequence[CorporateAction],
    instrument_ids: dict[str, int],
) -> list[int]:
    """Store `actions` (their instruments already resolved to `instrument_ids`), skipping
    those the account already has; returns the instrument id of each one stored."""
    rows = []
    for action in actions:
        key = action.instrument.key
        rows.append(
            {
                "account_id": account_id,
                "import_id": import_id,
                "instrument_id": instrument_ids[key],
                "kind": action.kind,
                "ts": action.timestamp,
                "new_units": action.new_units,
                "old_units": action.old_units,
                "quantity_delta": action.quantity_delta,
                "broker": action.broker,
                "fingerprint": fingerprint(action, key),
                "source_row": action.row,
                "description": action.description[:1000],
            }
        )
    if not rows:
        return []
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(corporate_actions)
        .on_conflict_do_nothing(index_elements=["account_id", "fingerprint"])
        .returning(corporate_actions.c.instrument_id)
    )
    stored: list[int] = []
    for row in rows:  # a file holds a handful of them: one statement each
        stored.extend(conn.execute(stmt, row).scalars())
    return stored


def load_corporate_actions(
    conn: Connection,
    account: AccountRow,
    instrument_ids: Iterable[int] | None,
    instruments_by_id: dict[int, Instrument],
) -> list[CorporateAction]:
    """The corporate actions of `account` (optionally only some instruments), by time.

    Read per account and filtered here: an account has a handful of splits, while a
    re-match part may name tens of thousands of instruments (no huge ``IN`` list).
    """
    wanted = None if instrument_ids is None else set(instrument_ids)
    if wanted is not None and not wanted:
        return []
    stmt = (
        select(corporate_actions)
        .where(corporate_actions.c.account_id == account.id)
        .order_by(corporate_actions.c.ts, corporate_actions.c.id)
    )
    out = []
    for r in conn.execute(stmt).mappings():
        if wanted is not None and r["instrument_id"] not in wanted:
            continue
        instrument = instruments_by_id.get(r["instrument_id"])
        if instrument is None:  # not among the instruments being re-matched
            continue
        out.append(
            CorporateAction(
                account=account.name,
                instrument=instrument,
                timestamp=_aware(r["ts"]),
                new_units=r["new_units"],
                old_units=r["old_units"],
                quantity_delta=r["quantity_delta"],
                kind=r["kind"],
                broker=r["broker"],
                row=r["source_row"],
                description=r["description"],
            )
        )
    return out


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone=True columns; everything stored is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
