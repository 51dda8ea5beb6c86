"""Import a broker export into the journal: parse, de-duplicate, store, re-match.

Guarantees:
- **Transactional**: one database transaction per file. Either every accepted row is
  stored (rejected rows are listed in the report) or, in strict mode with any rejection,
  nothing is. A crash or kill mid-import rolls back: the database is as it was.
- **Idempotent**: each execution gets a fingerprint, unique per account — the broker's
  execution id when the export has one, else a hash of its content (instrument, time,
  side, quantity, price, fees, order id) plus its occurrence number among identical
  fills in the file (so two genuine identical partial fills are both kept, and the same
  file imported twice adds nothing). An ``Idempotency-Key`` returns the first import's
  report instead of importing again.
- **Undo**: deleting an import removes exactly its executions and re-matches the
  instruments they touched.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from tradestats.journal import rebuild
from tradestats.journal.importers import ImportSettings, detect_preset, get_preset, open_source
from tradestats.journal.importers.base import ImportFormatError, ParseTally
from tradestats.journal.model import Execution, Rejection
from tradestats.store import journal_repo as repo

Progress = Callable[[str, int, int], None]


class ImportNotFound(LookupError):
    pass


@dataclass
class ImportReport:
    """What an import did. `status`: imported | rejected (strict: nothing stored)."""

    id: int | None
    file_name: str
    broker: str
    account: str
    status: str
    rows_read: int
    imported: int
    duplicates: int
    rejected: int
    rejections: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    strict: bool = False
    replayed: bool = False
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(execution: Execution, occurrence: int) -> str:
    if execution.broker_execution_id:
        raw = f"id|{execution.broker}|{execution.broker_execution_id}"
    else:
        raw = "|".join(
            (
                "c",
                execution.instrument.key,
                execution.timestamp.isoformat(),
                execution.side.value,
                format(execution.quantity.normalize(), "f"),
                format(execution.price.normalize(), "f"),
                format(execution.fees.normalize(), "f"),
                execution.order_id or "",
                str(occurrence),
            )
        )
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _rejection_dict(r: Rejection) -> dict[str, Any]:
    return {"row": r.row, "column": r.column, "reason": r.reason}


class _StrictRejected(Exception):
    """Raised inside the transaction to roll back a strict import with rejections."""


def import_file(
    engine: Engine,
    source: Path | bytes,
    file_name: str,
    *,
    account: str = "default",
    broker: str | None = None,
    strict: bool = False,
    timezone: str | None = None,
    idempotency_key: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file, streaming it in chunks inside one transaction.

    Raises `ImportFormatError` when the file as a whole is unusable (unknown format,
    missing column, no data rows); nothing is stored then.
    """
    notify = progress or (lambda _stage, _done, _total: None)
    if idempotency_key:
        with engine.connect() as conn:
            existing = repo.import_by_idempotency_key(conn, idempotency_key)
        if existing is not None:
            return _replayed(engine, existing)

    digest = hashlib.sha256(source if isinstance(source, bytes) else source.read_bytes())
    settings = ImportSettings(account=account, timezone=timezone)
    source_file = open_source(source, file_name, settings)
    importer = get_preset(broker) if broker else detect_preset(source_file.sample())
    tally = ParseTally()
    rejections: list[dict[str, Any]] = []
    report = ImportReport(
        id=None,
        file_name=file_name,
        broker=importer.name,
        account=account,
        status="imported",
        rows_read=0,
        imported=0,
        duplicates=0,
        rejected=0,
        strict=strict,
    )
    try:
        with engine.begin() as conn:
            acct = repo.get_or_create_account(conn, account)
            import_id = repo.create_import(
                conn,
                account_id=acct.id,
                file_name=file_name[:255],
                content_hash=digest.hexdigest(),
                broker=importer.name,
                strict=strict,
                rows_read=0,
                imported=0,
                duplicates=0,
                rejected=0,
                report_json="{}",
                idempotency_key=idempotency_key,
            )
            writer = _ExecutionWriter(conn, acct.id, import_id)
            for item in importer.iter_parse(source_file, settings, tally):
                if isinstance(item, Execution):
                    writer.add(item)
                    if writer.pending >= repo.CHUNK:
                        writer.flush()
                        notify("store", tally.rows_read, 0)
                else:
                    rejections.append(_rejection_dict(item))
            writer.flush()
            notify("store", tally.rows_read, tally.rows_read)
            report.rows_read = tally.rows_read
            report.rejections = rejections
            report.rejected = len(rejections)
            report.skipped = dict(tally.skipped)
            if tally.rows_read == 0:
                raise ImportFormatError("the file has no data rows")
            if strict and rejections:
                raise _StrictRejected
            report.id = import_id
            report.imported = writer.inserted
            report.duplicates = writer.attempted - writer.inserted
            repo.finish_import(
                conn,
                import_id,
                rows_read=tally.rows_read,
                imported=writer.inserted,
                duplicates=report.duplicates,
                rejected=len(rejections),
                report_json=json.dumps({"rejections": rejections, "skipped": report.skipped}),
            )
            if writer.inserted:
                notify("match", 0, 1)
                rebuild.rebuild(conn, acct, writer.touched)
                repo.bump_journal_version(conn)
                notify("match", 1, 1)
            stored = repo.get_import(conn, import_id)
            report.created_at = _iso(stored["created_at"]) if stored else None
    except _StrictRejected:
        report.status = "rejected"
        return report
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race: answer with it.
        if idempotency_key:
            with engine.connect() as conn:
                existing = repo.import_by_idempotency_key(conn, idempotency_key)
            if existing is not None:
                return _replayed(engine, existing)
        raise
    return report


class _ExecutionWriter:
    """Buffers executions and writes them in chunks with their fingerprints."""

    def __init__(self, conn: Connection, account_id: int, import_id: int) -> None:
        self.conn = conn
        self.account_id = account_id
        self.import_id = import_id
        self.buffer: list[Execution] = []
        self.instrument_ids: dict[str, int] = {}
        # Occurrences of content-identical fills without a broker id, keyed by a digest
        # (16 bytes each rather than the whole tuple: bounded memory on huge files).
        self.occurrences: Counter[bytes] = Counter()
        self.touched: set[int] = set()
        self.attempted = 0
        self.inserted = 0

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def add(self, execution: Execution) -> None:
        self.buffer.append(execution)

    def flush(self) -> None:
        if not self.buffer:
            return
        unknown = [e.instrument for e in self.buffer if e.instrument.key not in self.instrument_ids]
        if unknown:
            self.instrument_ids.update(repo.instrument_ids(self.conn, unknown))
        rows = []
        for e in self.buffer:
            occurrence = 0
            if not e.broker_execution_id:
                key = hashlib.blake2b(
                    repr(
                        (
                            e.instrument.key,
                            e.timestamp.isoformat(),
                            e.side.value,
                            e.quantity,
                            e.price,
                            e.fees,
                            e.order_id,
                        )
                    ).encode(),
                    digest_size=16,
                ).digest()
                self.occurrences[key] += 1
                occurrence = self.occurrences[key]
            instrument_id = self.instrument_ids[e.instrument.key]
            self.touched.add(instrument_id)
            rows.append(
                repo.execution_row(
                    e,
                    account_id=self.account_id,
                    import_id=self.import_id,
                    instrument_id=instrument_id,
                    fingerprint=fingerprint(e, occurrence),
                )
            )
        self.attempted += len(rows)
        self.inserted += repo.insert_executions(self.conn, rows)
        self.buffer.clear()


def undo_import(engine: Engine, import_id: int) -> dict[str, Any]:
    """Delete an import and exactly its executions; re-match what they touched."""
    with engine.begin() as conn:
        if repo.get_import(conn, import_id) is None:
            raise ImportNotFound(import_id)
        affected = repo.delete_import(conn, import_id)
        accounts = {a.id: a for a in repo.list_accounts(conn)}
        trips = 0
        for account_id, instrument_ids in affected.items():
            trips += rebuild.rebuild(conn, accounts[account_id], instrument_ids)
        repo.bump_journal_version(conn)
    return {
        "id": import_id,
        "deleted": True,
        "instruments_rematched": sum(map(len, affected.values())),
    }


def report_from_row(row: dict[str, Any], account: str | None = None) -> ImportReport:
    details = json.loads(row.get("report_json") or "{}")
    return ImportReport(
        id=row["id"],
        file_name=row["file_name"],
        broker=row["broker"],
        account=account or row.get("account") or "",
        status="imported",
        rows_read=row["rows_read"],
        imported=row["imported"],
        duplicates=row["duplicates"],
        rejected=row["rejected"],
        rejections=details.get("rejections", []),
        skipped=details.get("skipped", {}),
        strict=bool(row["strict"]),
        created_at=_iso(row["created_at"]),
    )


def _replayed(engine: Engine, row: dict[str, Any]) -> ImportReport:
    with engine.connect() as conn:
        names = {a.id: a.name for a in repo.list_accounts(conn)}
    report = report_from_row(row, names.get(row["account_id"]))
    report.replayed = True
    return report


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return repo._aware(value).isoformat()
