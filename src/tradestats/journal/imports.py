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

Speed (the benchmark imports 1,000,000 fills): rows are stored in chunks through one
driver ``executemany``; on SQLite the fills of instruments the account had no execution
of are kept in memory as stored (bounded: `KEEP_FOR_REMATCH`) and re-matched from there,
every other instrument is read back from the database; the page cache is enlarged and
the garbage collector runs less often for the duration of the import.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from tradestats.journal import rebuild
from tradestats.journal.importers import ImportSettings, detect_preset, get_preset, open_source
from tradestats.journal.importers.base import BrokerImporter, ImportFormatError, ParseTally
from tradestats.journal.importers.generic import GenericImporter
from tradestats.journal.importers.reading import SourceFile
from tradestats.journal.matching import SplitError
from tradestats.journal.model import CorporateAction, Execution, Instrument, Rejection
from tradestats.store import corporate_action_repo
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
    #: the rows behind `skipped`, by kind, as ranges ("3-5, 9"; see `row_ranges`)
    skipped_rows: dict[str, str] = field(default_factory=dict)
    #: splits stored from this file (new ones; the matcher applies them to open lots)
    corporate_actions: int = 0
    #: the accounts the fills went to (a multi-account export names its own)
    accounts: list[str] = field(default_factory=list)
    strict: bool = False
    replayed: bool = False
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(execution: Execution, occurrence: int, instrument_key: str | None = None) -> str:
    """The execution's de-duplication key within its account (see the module doc).

    `instrument_key` is ``execution.instrument.key``, when the caller has it at hand.
    """
    if execution.broker_execution_id:
        raw = f"id|{execution.broker}|{execution.broker_execution_id}"
    else:
        raw = "|".join(
            (
                "c",
                instrument_key or execution.instrument.key,
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


class CurrencyMixError(ImportFormatError):
    """The file's fills cannot all be expressed in their account's base currency: rows
    in another currency without an FX rate, a rate on a base-currency row that is not 1
    (the export's rates are to another currency), or a base currency the file states
    that differs from the account's. Nothing is stored. `problems` lists the first
    `MAX_LISTED_REJECTIONS` offending rows (``row``, ``account``, ``currency``,
    ``reason``); `total` counts them all."""

    def __init__(self, message: str, problems: list[dict[str, Any]], total: int) -> None:
        self.problems = problems
        self.total = total
        shown = "; ".join(
            f"row {p['row']} ({p['currency']})" if p.get("row") is not None else p["reason"]
            for p in problems[:20]
        )
        more = f"; and {total - 20} more" if total > 20 else ""
        super().__init__(f"{message}: {shown}{more}" if shown else message)


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

    digest = _content_hash(source)
    settings = ImportSettings(account=account, timezone=timezone)
    source_file = open_source(source, file_name, settings)
    importer = get_preset(broker) if broker else detect_preset(source_file.sample())
    tally = ParseTally()
    rejections: list[dict[str, Any]] = []  # the first MAX_LISTED_REJECTIONS of them
    rejected = 0
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
        with (
            _fewer_collections(),
            engine.connect() as conn,
            repo.bulk_write_cache(conn),
            conn.begin(),
        ):
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
            # One writer per account: a multi-account export (IBKR, Fidelity "All
            # accounts") keeps each fill in the account the file names; fills without
            # one are in `account`. Fingerprints and matching are per account.
            writers: dict[str, _ExecutionWriter] = {
                account: _ExecutionWriter(conn, acct, import_id)
            }
            for item, raw_json in _parsed(importer, source_file, settings, tally):
                if isinstance(item, Execution):
                    writer = writers.get(item.account)
                    if writer is None:
                        writer = writers[item.account] = _ExecutionWriter(
                            conn, repo.get_or_create_account(conn, item.account), import_id
                        )
                    writer.add(item, raw_json)
                    if writer.pending >= repo.CHUNK:
                        writer.flush()
                        notify("store", tally.rows_read, 0)
                else:
                    rejected += 1
                    if rejected <= MAX_LISTED_REJECTIONS:
                        rejections.append(_rejection_dict(item))
            for writer in writers.values():
                writer.flush()
            notify("store", tally.rows_read, tally.rows_read)
            report.rows_read = tally.rows_read
            report.rejections = rejections
            report.rejected = rejected
            report.skipped = dict(tally.skipped)
            report.skipped_rows = {k: row_ranges(v) for k, v in tally.skipped_rows.items()}
            if tally.rows_read == 0:
                raise ImportFormatError("the file has no data rows")
            if strict and rejected:
                raise _StrictRejected
            for writer in writers.values():
                writer.currencies.settle(conn, writer.account, tally.base_currencies, import_id)
            report.id = import_id
            report.imported = sum(w.inserted for w in writers.values())
            report.duplicates = sum(w.attempted for w in writers.values()) - report.imported
            report.accounts = sorted(name for name, w in writers.items() if w.attempted)
            split_ids = _store_corporate_actions(conn, tally, account, acct, import_id)
            report.corporate_actions = sum(len(ids) for _, ids in split_ids.values())
            details: dict[str, Any] = {
                "rejections": rejections,
                "skipped": report.skipped,
                "skipped_rows": report.skipped_rows,
            }
            if report.corporate_actions:
                details["corporate_actions"] = report.corporate_actions
            if report.accounts != [account]:
                details["accounts"] = report.accounts
            repo.finish_import(
                conn,
                import_id,
                rows_read=tally.rows_read,
                imported=report.imported,
                duplicates=report.duplicates,
                rejected=rejected,
                report_json=json.dumps(details),
            )
            if report.imported or report.corporate_actions:
                notify("match", 0, 1)
                try:
                    for name, writer in writers.items():
                        _, split_touched = split_ids.pop(name, (writer.account, []))
                        if writer.inserted or split_touched:
                            rebuild.rebuild(
                                conn,
                                writer.account,
                                writer.touched | set(split_touched),
                                fresh=writer.fresh_fills(),
                            )
                    for split_acct, split_touched in split_ids.values():
                        rebuild.rebuild(conn, split_acct, set(split_touched))
                except SplitError as exc:
                    raise SplitConflict(str(exc)) from None
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


#: The report lists the first this many rejected rows (row, column, reason) and counts
#: them all: one bad line repeated over a large file must not turn into a response and a
#: stored report of hundreds of thousands of entries (the chaos suite's repeated-line file).
MAX_LISTED_REJECTIONS = 1000

class _Currencies:
    """The currencies and FX rates of one account's fills in a file, and the check that
    they can all be expressed in the account's base currency (see `settle`).

    Kept per currency: which kinds of rate its rows have (0: none, 1: exactly 1, 2:
    another). Until a chunk with any rate arrives, no row is looked at: the currencies
    are those of the instruments met (the writer's new instruments per chunk), all
    without rates. The offending rows themselves are listed from what the import
    stored (`settle`), only when there are some.
    """

    def __init__(self, established: bool) -> None:
        #: whether the account had executions before this import (its base is fixed)
        self.established = established
        self.seen: set[str] = set()
        self.kinds: dict[str, set[int]] | None = None  # set once a rate is met

    def add(self, fills: list[Execution], new_currencies: set[str]) -> None:
        """Account for a chunk; `new_currencies` are those of its instruments that the
        writer meets for the first time."""
        kinds = self.kinds
        if kinds is None:
            if not any(map(_FX_RATE, fills)):
                self.seen |= new_currencies
                return
            kinds = self.kinds = {c: {0} for c in self.seen}  # rows so far: no rate
        self.seen |= new_currencies
        one = _ONE
        for e in fills:
            rate = e.fx_rate
            kind = 0 if rate is None else 1 if rate == one else 2
            found = kinds.get(e.instrument.currency)
            if found is None:
                kinds[e.instrument.currency] = {kind}
            else:
                found.add(kind)

    def settle(
        self,
        conn: Connection,
        account: repo.AccountRow,
        declared: dict[str, str],
        import_id: int,
    ) -> str:
        """Decide the account's base currency, store it when it changes, and raise
        `CurrencyMixError` when a fill stored by import `import_id` cannot be converted
        to it. Returns the base.

        The base currency: an account with executions before this import keeps its own
        (a different base the file states is an error: its rates are to that other
        currency); a new (empty) account takes the base the file states for it, else
        the one currency of all its fills when they have one, else keeps its default.
        Then every fill in another currency needs an FX rate, and a fill in the base
        currency may carry none or a rate of 1.
        """
        if not self.seen:
            return account.base_currency
        stated = declared.get(account.name) or declared.get("")
        base = account.base_currency
        if self.established:
            if stated and stated != base:
                raise CurrencyMixError(
                    f"account {account.name!r} has base currency {base}, the file states "
                    f"{stated}: its FX rates are to {stated}; import it into another account",
                    [{"row": None, "account": account.name, "currency": stated,
                      "reason": f"base currency {stated} is not the account's {base}"}],
                    1,
                )
        elif stated:
            base = stated
        elif len(self.seen) == 1:
            base = next(iter(self.seen))
        kinds = self.kinds if self.kinds is not None else {c: {0} for c in self.seen}
        unrated = sorted(c for c, k in kinds.items() if c != base and 0 in k)
        base_rated = 2 in kinds.get(base, ())
        if unrated or base_rated:
            total, problems = repo.unconvertible_rows(
                conn, import_id, account.id, base, unrated, base_rated, MAX_LISTED_REJECTIONS
            )
            if total:
                raise CurrencyMixError(
                    f"account {account.name!r} (base currency {base}): {total} row(s) cannot "
                    "be converted to the base currency; nothing was imported (export with "
                    "per-trade FX rates, e.g. an IBKR Flex query with fxRateToBase, or import the "
                    "rows of each currency into an account of their own)",
                    [
                        {"row": row, "account": account.name, "currency": currency,
                         "reason": _unconvertible_reason(currency, base, rate)}
                        for row, currency, rate in problems
                    ],
                    total,
                )
        if base != account.base_currency:
            repo.set_base_currency(conn, account.id, base)
        return base


def _unconvertible_reason(currency: str, base: str, rate: Decimal | None) -> str:
    if rate is None:
        return f"in {currency}, not the base currency {base}, and no FX rate"
    return (
        f"in the base currency {base} with FX rate {rate}, not 1: the export's rates "
        "are to another base currency"
    )


_ONE = Decimal(1)
_FX_RATE = attrgetter("fx_rate")

#: At most this many just-stored fills are kept in memory for re-matching (about 0.6 KB
#: each); past it they are dropped and re-matching reads everything back from the DB.
KEEP_FOR_REMATCH = 1_500_000


def row_ranges(rows: list[int], limit: int = 1000) -> str:
    """Row numbers as sorted ranges, ``"3-5, 9, 12"``; past `limit` ranges the rest is
    counted (``"..., and 120 more rows"``), so a huge file's report stays small."""
    ordered = sorted(set(rows))
    parts: list[str] = []
    i = 0
    while i < len(ordered) and len(parts) < limit:
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    if i < len(ordered):
        parts.append(f"and {len(ordered) - i} more rows")
    return ", ".join(parts)


class SplitConflict(ImportFormatError):
    """A split in the file does not fit the position it meets (e.g. removes more shares
    than are held); nothing is stored. The message names the instrument and the row."""


def _store_corporate_actions(
    conn: Connection,
    tally: ParseTally,
    default_name: str,
    default_account: repo.AccountRow,
    import_id: int,
) -> dict[str, tuple[repo.AccountRow, list[int]]]:
    """Store the file's splits; per account name, the account and the instrument ids of
    the ones newly stored, one per split (a re-imported file stores none)."""
    by_account: dict[str, list[CorporateAction]] = {}
    for action in tally.corporate_actions:
        by_account.setdefault(action.account, []).append(action)
    stored: dict[str, tuple[repo.AccountRow, list[int]]] = {}
    for name, actions in by_account.items():
        acct = default_account if name == default_name else repo.get_or_create_account(conn, name)
        ids = repo.instrument_ids(conn, (a.instrument for a in actions))
        new = corporate_action_repo.insert_corporate_actions(
            conn, account_id=acct.id, import_id=import_id, actions=actions, instrument_ids=ids
        )
        if new:
            stored[name] = (acct, new)
    return stored


def _parsed(
    importer: BrokerImporter, source: SourceFile, settings: ImportSettings, tally: ParseTally
) -> Iterator[tuple[Execution | Rejection, str | None]]:
    """The importer's records, each with its source row as JSON text when the importer
    makes that directly (the generic preset), else None (the writer encodes `raw`)."""
    if isinstance(importer, GenericImporter):
        yield from importer.iter_parse_stored(source, settings, tally)
        return
    for item in importer.iter_parse(source, settings, tally):
        yield item, None


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while an import runs.

    A large import allocates millions of objects that live to its end (executions kept
    for re-matching, round trips); with the default thresholds the collector re-scans
    them again and again (measured: 22% of the CPU time of a 200,000-fill import). Cyclic
    garbage is still collected, later. The thresholds are process-wide, so concurrent
    imports share one setting, restored when the last one ends.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(50_000, 50, 1000)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


class _ExecutionWriter:
    """Buffers executions and writes them in chunks with their fingerprints.

    On SQLite it also keeps the fills it stored for instruments that had no execution of
    this account before (`fresh`), with their ids, so re-matching them needs no read-back
    from the database; the ids are assigned here (SQLite has one writer at a time, and
    this transaction is it). A chunk with any duplicate makes its instruments read back.
    """

    def __init__(self, conn: Connection, account: repo.AccountRow, import_id: int) -> None:
        self.conn = conn
        self.currencies = _Currencies(repo.has_executions(conn, account.id))
        self.account = account
        self.account_id = account.id
        self.account_name = account.name
        self.import_id = import_id
        self.buffer: list[Execution] = []
        #: the source rows as JSON, when the importer gives them so (else from `raw`)
        self.raw_texts: list[str | None] = []
        self.instrument_ids: dict[str, int] = {}
        # instrument key by Instrument object identity (importers share one object per
        # instrument); the object is held so that its id() cannot be reused
        self._keys: dict[int, tuple[Instrument, str]] = {}
        # Occurrences of content-identical fills without a broker id, keyed by a digest
        # (16 bytes each rather than the whole tuple: bounded memory on huge files).
        self.occurrences: Counter[bytes] = Counter()
        self.touched: set[int] = set()
        self.attempted = 0
        self.inserted = 0
        self.raw_json = repo.RawRowEncoder()
        self.sqlite = conn.dialect.name == "sqlite"
        self.fresh: dict[int, list[rebuild.FreshFill]] | None = {} if self.sqlite else None
        self.kept = 0
        self.read_back: set[int] = set()
        self._decimals: dict[int, tuple[Decimal, Decimal]] = {}

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def add(self, execution: Execution, raw_json: str | None = None) -> None:
        """Buffer `execution`; `raw_json` is its source row as JSON text when the
        importer gave it so (the execution's `raw` is then None)."""
        self.buffer.append(execution)
        self.raw_texts.append(raw_json)

    def _key(self, instrument: Instrument) -> str:
        found = self._keys.get(id(instrument))
        if found is not None:
            return found[1]
        if len(self._keys) > 200_000:  # importers that make one object per row
            self._keys.clear()
        key = instrument.key
        self._keys[id(instrument)] = (instrument, key)
        return key

    def flush(self) -> None:
        if not self.buffer:
            return
        known = self._keys
        keys = []
        for e in self.buffer:
            hit = known.get(id(e.instrument))
            keys.append(hit[1] if hit is not None else self._key(e.instrument))
        ids = self.instrument_ids
        unknown = {k: e.instrument for k, e in zip(keys, self.buffer, strict=True) if k not in ids}
        self.currencies.add(self.buffer, {i.currency for i in unknown.values()})
        if unknown:
            found, created = repo.resolve_instruments(self.conn, unknown.values())
            ids.update(found)
            if self.fresh is not None:
                existing = [found[k] for k in unknown if k not in created]
                if existing:
                    self.read_back.update(
                        repo.instruments_with_executions(self.conn, self.account_id, existing)
                    )
        items: list[tuple[Execution, int, str, str | None]] = []
        encode = self.raw_json
        sha256 = hashlib.sha256
        for e, key, text in zip(self.buffer, keys, self.raw_texts, strict=True):
            if text is None and e.raw:
                text = encode(e.raw)
            if e.broker_execution_id:
                # fingerprint(e, 0), inline: this loop runs once per fill
                fp = sha256(f"id|{e.broker}|{e.broker_execution_id}".encode()).hexdigest()[:40]
                items.append((e, ids[key], fp, text))
                continue
            digest = hashlib.blake2b(
                repr(
                    (
                        key,
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
            self.occurrences[digest] += 1
            occurrence = self.occurrences[digest]
            items.append((e, ids[key], fingerprint(e, occurrence, key), text))
        self.touched.update(i for _, i, _, _ in items)
        self.attempted += len(items)
        if self.sqlite:
            # asked per chunk, not counted here: the writers of a multi-account file
            # share the table (an indexed MAX, negligible beside the chunk's inserts)
            first = repo.next_execution_id(self.conn)
            stored = repo.insert_new_executions_sqlite(
                self.conn,
                account_id=self.account_id,
                import_id=self.import_id,
                first_id=first,
                items=items,
            )
            self._keep(items, first, complete=stored == len(items))
        else:
            stored = repo.insert_executions(
                self.conn,
                [
                    repo.execution_row(
                        e,
                        account_id=self.account_id,
                        import_id=self.import_id,
                        instrument_id=instrument_id,
                        fingerprint=fp,
                        raw_json=raw_json,
                    )
                    for e, instrument_id, fp, raw_json in items
                ],
            )
        self.inserted += stored
        self.buffer.clear()
        self.raw_texts.clear()

    def _keep(
        self, items: list[tuple[Execution, int, str, str | None]], first_id: int, *, complete: bool
    ) -> None:
        fresh = self.fresh
        if fresh is None:
            return
        if not complete:
            # some rows were duplicates: which ones is not known here, so every
            # instrument of the chunk is re-matched from what the database holds
            self.read_back.update(i for _, i, _, _ in items)
        if self.kept + len(items) > KEEP_FOR_REMATCH:
            self.fresh = None  # bounded memory: re-match reads back
            return
        read_back = self.read_back
        account = self.account_name
        decimals = self._decimals
        stored = self._stored_decimal
        ident = first_id
        for e, instrument_id, fp, _ in items:
            if instrument_id in read_back:
                fresh.pop(instrument_id, None)
            else:
                # `e` as reading it back from the database gives it: the import's
                # account, decimals as stored, and no source row held in memory
                quantity, price, fees = e.quantity, e.price, e.fees
                hit = decimals.get(id(quantity))
                quantity = hit[1] if hit is not None else stored(quantity)
                hit = decimals.get(id(price))
                price = hit[1] if hit is not None else stored(price)
                hit = decimals.get(id(fees))
                fees = hit[1] if hit is not None else stored(fees)
                if (
                    e.raw is None
                    and e.account == account
                    and quantity is e.quantity
                    and price is e.price
                    and fees is e.fees
                ):
                    fill = e
                else:
                    fill = Execution(
                        account,
                        e.instrument,
                        e.timestamp,
                        e.side,
                        quantity,
                        price,
                        fees,
                        e.broker,
                        e.broker_execution_id,
                        e.order_id,
                        e.row,
                        None,
                        e.fx_rate,
                    )
                kept = fresh.get(instrument_id)
                if kept is None:
                    fresh[instrument_id] = [(ident, fp, fill)]
                else:
                    kept.append((ident, fp, fill))
            ident += 1
        self.kept += len(items)

    def _stored_decimal(self, value: Decimal) -> Decimal:
        # Stored as format(value, "f") and read back with Decimal(): the same value,
        # but 1E+2 comes back as 100. Importers share Decimal objects for repeated
        # texts, so this is cached by object (held, so its id() is not reused).
        # only a positive exponent changes (str() shows it as "E+")
        stored = Decimal(format(value, "f")) if "E+" in str(value) else value
        if len(self._decimals) > 100_000:
            self._decimals.clear()
        self._decimals[id(value)] = (value, stored)
        return stored

    def fresh_fills(self) -> dict[int, list[rebuild.FreshFill]]:
        """Hand over the kept fills of instruments with no other execution of the
        account, by instrument id (the writer keeps no reference to them)."""
        fresh, self.fresh = self.fresh, None
        if fresh is None:
            return {}
        for ident in self.read_back:
            fresh.pop(ident, None)
        return fresh


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
    name = account or row.get("account") or ""
    return ImportReport(
        id=row["id"],
        file_name=row["file_name"],
        broker=row["broker"],
        account=name,
        accounts=details.get("accounts", [name] if row["imported"] or row["duplicates"] else []),
        status="imported",
        rows_read=row["rows_read"],
        imported=row["imported"],
        duplicates=row["duplicates"],
        rejected=row["rejected"],
        rejections=details.get("rejections", []),
        skipped=details.get("skipped", {}),
        skipped_rows=details.get("skipped_rows", {}),
        corporate_actions=details.get("corporate_actions", 0),
        strict=bool(row["strict"]),
        created_at=_iso(row["created_at"]),
    )


def _replayed(engine: Engine, row: dict[str, Any]) -> ImportReport:
    with engine.connect() as conn:
        names = {a.id: a.name for a in repo.list_accounts(conn)}
    report = report_from_row(row, names.get(row["account_id"]))
    report.replayed = True
    return report


def _content_hash(source: Path | bytes) -> Any:
    """SHA-256 of the file, read in chunks (bounded memory)."""
    if isinstance(source, bytes):
        return hashlib.sha256(source)
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return repo._aware(value).isoformat()
