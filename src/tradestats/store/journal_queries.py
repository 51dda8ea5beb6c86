"""Read queries of the journal: trades pages, executions, positions, and the round trips
and realizations statistics are computed from."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from tradestats.journal.matching import Realization, to_base
from tradestats.journal.model import RoundTrip
from tradestats.store.journal_repo import _aware, journal_version, load_instruments
from tradestats.store.tables import (
    accounts,
    executions,
    instruments,
    open_positions,
    realizations,
    round_trips,
    trade_annotations,
)


@dataclass(frozen=True)
class TradeQuery:
    """Filters shared by every journal read (the API's query parameters)."""

    account: str | None = None
    symbol: str | None = None
    side: str | None = None
    asset_class: str | None = None
    tag: str | None = None
    start: datetime | None = None  # exit time >= start (UTC)
    end: datetime | None = None  # exit time < end (UTC)


SORTABLE = {
    "exit_time": round_trips.c.exit_time,
    "entry_time": round_trips.c.entry_time,
    "net_pnl": round_trips.c.net_pnl_sort,
    "holding_seconds": round_trips.c.holding_seconds,
    "symbol": instruments.c.symbol,
    "quantity": round_trips.c.quantity,
}


def _conditions(q: TradeQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if q.account:
        conds.append(accounts.c.name == q.account)
    if q.symbol:
        conds.append(or_(instruments.c.symbol == q.symbol, instruments.c.underlying == q.symbol))
    if q.side:
        conds.append(round_trips.c.direction == q.side)
    if q.asset_class:
        conds.append(instruments.c.asset_class == q.asset_class)
    if q.start:
        conds.append(round_trips.c.exit_time >= q.start)
    if q.end:
        conds.append(round_trips.c.exit_time < q.end)
    if q.tag:
        # Tags are a JSON list; match the quoted element exactly.
        conds.append(trade_annotations.c.tags.contains(json.dumps(q.tag)))
    return conds


def _trips_select(q: TradeQuery) -> Select[Any]:
    stmt = (
        select(
            round_trips,
            accounts.c.name.label("account"),
            accounts.c.base_currency,
            instruments.c.symbol,
            instruments.c.underlying,
            instruments.c.asset_class,
            instruments.c.multiplier,
            instruments.c.currency,
            trade_annotations.c.tags,
            trade_annotations.c.notes,
            trade_annotations.c.risk,
        )
        .join(accounts, accounts.c.id == round_trips.c.account_id)
        .join(instruments, instruments.c.id == round_trips.c.instrument_id)
        .outerjoin(trade_annotations, trade_annotations.c.round_trip_id == round_trips.c.id)
    )
    conds = _conditions(q)
    return stmt.where(and_(*conds)) if conds else stmt


def trade_dict(row: Any) -> dict[str, Any]:
    """A round trip for the API: prices and P&L in the instrument's `currency`, and the
    P&L in the account's `baseCurrency` (the same figures when no conversion applies)."""
    risk = row["risk"]
    net = row["net_pnl"]
    base_gross = row["base_gross_pnl"]
    converted = base_gross is not None
    return {
        "id": row["id"],
        "account": row["account"],
        "symbol": row["symbol"],
        "underlying": row["underlying"],
        "assetClass": row["asset_class"],
        "direction": row["direction"],
        "entryTime": _aware(row["entry_time"]).isoformat(),
        "exitTime": _aware(row["exit_time"]).isoformat(),
        "quantity": str(row["quantity"]),
        "entryPrice": str(row["entry_price"]),
        "exitPrice": str(row["exit_price"]),
        "multiplier": str(row["multiplier"]),
        "grossPnl": float(row["gross_pnl"]),
        "fees": float(row["fees"]),
        "netPnl": float(net),
        "currency": row["currency"],
        "baseCurrency": row["base_currency"],
        "baseGrossPnl": float(base_gross if converted else row["gross_pnl"]),
        "baseFees": float(row["base_fees"] if converted else row["fees"]),
        "baseNetPnl": float(row["base_net_pnl"] if converted else net),
        "holdingSeconds": row["holding_seconds"],
        "executions": row["executions_count"],
        "risk": float(risk) if risk is not None else None,
        "rMultiple": float(net / risk) if risk else None,
        "tags": json.loads(row["tags"]) if row["tags"] else [],
        "notes": row["notes"] or "",
    }


def _narrow_from(q: TradeQuery, *, sort: str = "") -> Any:
    """round_trips joined only to the tables the filters (and the sort) need."""
    source: Any = round_trips
    if q.symbol or q.asset_class or sort == "symbol":
        source = source.join(instruments, instruments.c.id == round_trips.c.instrument_id)
    if q.tag:
        source = source.join(
            trade_annotations, trade_annotations.c.round_trip_id == round_trips.c.id
        )
    return source


def _narrow_conditions(q: TradeQuery) -> list[ColumnElement[bool]]:
    """`_conditions` with the account as an id (no join; the (account_id, exit_time)
    index applies)."""
    conds = _conditions(replace(q, account=None))
    if q.account:
        account_id = select(accounts.c.id).where(accounts.c.name == q.account).scalar_subquery()
        conds.append(round_trips.c.account_id == account_id)
    return conds


class _TotalsCache:
    """Row counts per (database, journal version, filters), so the pages after the first
    of one selection reuse its total instead of counting again (a filtered count over
    200k+ round trips costs tens of ms). Any write through the journal bumps the
    version, which retires every entry; first pages always count afresh."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, TradeQuery], int] = OrderedDict()

    def get(self, key: tuple[str, TradeQuery]) -> int | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple[str, TradeQuery], value: int) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_TOTALS = _TotalsCache()


def count_trades(conn: Connection, q: TradeQuery, *, reuse: bool = False) -> int:
    """How many round trips match `q`; with `reuse`, the count cached for the current
    journal version when there is one."""
    version = journal_version(conn)
    key = (f"{conn.engine.url}|{version}", q)
    if reuse:
        cached = _TOTALS.get(key)
        if cached is not None:
            return cached
    stmt = select(func.count()).select_from(_narrow_from(q))
    conds = _narrow_conditions(q)
    total = int(conn.execute(stmt.where(and_(*conds)) if conds else stmt).scalar_one())
    _TOTALS.put(key, total)
    return total


def page_ids_query(
    q: TradeQuery, sort: str, descending: bool, limit: int, offset: int
) -> Select[Any]:
    """The ids of one page of round trips, in order, from round_trips and only the
    tables the filters or the sort need."""
    column = SORTABLE[sort]
    order = column.desc() if descending else column.asc()
    tiebreak = round_trips.c.id.desc() if descending else round_trips.c.id.asc()
    page = select(round_trips.c.id).select_from(_narrow_from(q, sort=sort))
    conds = _narrow_conditions(q)
    if conds:
        page = page.where(and_(*conds))
    return page.order_by(order, tiebreak).limit(limit).offset(offset)


def list_trades(
    conn: Connection, q: TradeQuery, *, sort: str, descending: bool, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """One page of round trips and the total. The page's ids are chosen first from
    round_trips alone (for the default newest-closed-first order a walk of the
    (exit_time, id) index that stops after offset + limit entries; no sort of the
    table), then only those rows are joined and returned. The first page counts the
    selection; the pages after it reuse that count (see `_TotalsCache`)."""
    ids = list(conn.execute(page_ids_query(q, sort, descending, limit, offset)).scalars())
    total = count_trades(conn, q, reuse=offset > 0)
    if not ids:
        return total, []
    rows = conn.execute(_trips_select(TradeQuery()).where(round_trips.c.id.in_(ids))).mappings()
    by_id = {r["id"]: r for r in rows}
    return total, [trade_dict(by_id[i]) for i in ids if i in by_id]


def get_trade(conn: Connection, trip_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(_trips_select(TradeQuery()).where(round_trips.c.id == trip_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    out = trade_dict(row)
    ids = json.loads(row["execution_ids"])
    out["executionList"] = list_executions_by_ids(conn, ids)
    return out


def list_executions_by_ids(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    stmt = (
        _executions_select()
        .where(executions.c.id.in_(list(ids)))
        .order_by(executions.c.ts, executions.c.id)
    )
    return [execution_dict(r) for r in conn.execute(stmt).mappings()]


def _executions_select() -> Select[Any]:
    return (
        select(
            executions,
            accounts.c.name.label("account"),
            instruments.c.symbol,
            instruments.c.asset_class,
        )
        .join(accounts, accounts.c.id == executions.c.account_id)
        .join(instruments, instruments.c.id == executions.c.instrument_id)
    )


def execution_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "account": row["account"],
        "importId": row["import_id"],
        "symbol": row["symbol"],
        "assetClass": row["asset_class"],
        "time": _aware(row["ts"]).isoformat(),
        "side": row["side"],
        "quantity": str(row["quantity"]),
        "price": str(row["price"]),
        "fees": str(row["fees"]),
        "currency": row["currency"],
        "fxRate": None if row["fx_rate"] is None else str(row["fx_rate"]),
        "broker": row["broker"],
        "brokerExecutionId": row["broker_execution_id"],
        "orderId": row["order_id"],
        "sourceRow": row["source_row"],
    }


def list_executions(
    conn: Connection,
    *,
    account: str | None,
    symbol: str | None,
    import_id: int | None,
    limit: int,
    offset: int,
    descending: bool,
) -> tuple[int, list[dict[str, Any]]]:
    stmt = _executions_select()
    if account:
        stmt = stmt.where(accounts.c.name == account)
    if symbol:
        stmt = stmt.where(or_(instruments.c.symbol == symbol, instruments.c.underlying == symbol))
    if import_id is not None:
        stmt = stmt.where(executions.c.import_id == import_id)
    total = int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    order = (
        (executions.c.ts.desc(), executions.c.id.desc())
        if descending
        else (executions.c.ts.asc(), executions.c.id.asc())
    )
    rows = conn.execute(stmt.order_by(*order).limit(limit).offset(offset)).mappings()
    return total, [execution_dict(r) for r in rows]


def list_positions(conn: Connection, account: str | None) -> list[dict[str, Any]]:
    stmt = (
        select(
            open_positions,
            accounts.c.name.label("account"),
            instruments.c.symbol,
            instruments.c.underlying,
            instruments.c.asset_class,
            instruments.c.multiplier,
            instruments.c.currency,
        )
        .join(accounts, accounts.c.id == open_positions.c.account_id)
        .join(instruments, instruments.c.id == open_positions.c.instrument_id)
        .order_by(accounts.c.name, instruments.c.symbol)
    )
    if account:
        stmt = stmt.where(accounts.c.name == account)
    out = []
    for r in conn.execute(stmt).mappings():
        qty: Decimal = r["quantity"]
        out.append(
            {
                "account": r["account"],
                "symbol": r["symbol"],
                "underlying": r["underlying"],
                "assetClass": r["asset_class"],
                "direction": "long" if qty > 0 else "short",
                "quantity": str(qty),
                "averagePrice": str(r["average_price"]),
                "costBasis": float(r["cost_basis"] * r["multiplier"]),
                "multiplier": str(r["multiplier"]),
                "currency": r["currency"],  # of the prices, cost basis and fees
                "openFees": float(r["fees"]),
                "openedAt": _aware(r["opened_at"]).isoformat(),
                "tradeId": r["round_trip_id"],
            }
        )
    return out


def load_for_stats(
    conn: Connection, account: str | None
) -> tuple[list[RoundTrip], list[Realization]]:
    """Closed round trips (with annotations) and all realizations, as model objects,
    with their money in the account's base currency: a converted round trip's
    `gross_pnl`, `fees` and `net_pnl` are its base figures, a realization's are its own
    times its closing fill's rate (see `tradestats.journal.matching`)."""
    insts = load_instruments(conn)
    names = {r.id: r.name for r in conn.execute(select(accounts.c.id, accounts.c.name))}
    acct_id = next((i for i, n in names.items() if n == account), None) if account else None
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
        trade_annotations.c.tags,
        trade_annotations.c.notes,
        trade_annotations.c.risk,
        round_trips.c.base_gross_pnl,
        round_trips.c.base_fees,
        round_trips.c.base_net_pnl,
    ).outerjoin(trade_annotations, trade_annotations.c.round_trip_id == round_trips.c.id)
    if account:
        if acct_id is None:
            return [], []
        stmt = stmt.where(round_trips.c.account_id == acct_id)
    trips: dict[str, RoundTrip] = {}
    for (
        ident,
        account_id,
        instrument_id,
        direction,
        entry,
        exit_,
        qty,
        entry_px,
        exit_px,
        gross,
        fees,
        net,
        tags,
        notes,
        risk,
        base_gross,
        base_fees,
        base_net,
    ) in conn.execute(stmt):
        if base_gross is not None:  # statistics are in the base currency
            gross, fees, net = base_gross, base_fees, base_net
        trips[ident] = RoundTrip(
            account=names[account_id],
            instrument=insts[instrument_id],
            direction=direction,
            entry_time=_aware(entry),
            exit_time=_aware(exit_),
            quantity=qty,
            entry_price=entry_px,
            exit_price=exit_px,
            gross_pnl=gross,
            fees=fees,
            net_pnl=net,
            risk=risk,
            tags=json.loads(tags) if tags else [],
            notes=notes or "",
        )
    rstmt = select(
        realizations.c.round_trip_id,
        realizations.c.account_id,
        realizations.c.instrument_id,
        realizations.c.ts,
        realizations.c.quantity,
        realizations.c.gross_pnl,
        realizations.c.fees,
        realizations.c.fx_rate,
    ).order_by(realizations.c.ts)
    if acct_id is not None:
        rstmt = rstmt.where(realizations.c.account_id == acct_id)
    open_trips: dict[str, RoundTrip] = {}
    out: list[Realization] = []
    for trip, account_id, instrument_id, ts, qty, gross, fees, rate in conn.execute(rstmt):
        if rate is not None:  # in the base currency, as the matcher converts it
            gross = to_base(gross, rate)
            fees = to_base(fees, rate)
        parent = trips.get(trip)
        if parent is None:  # the position is still open: a placeholder carries its labels
            parent = open_trips.get(trip)
            if parent is None:
                parent = RoundTrip(
                    account=names[account_id],
                    instrument=insts[instrument_id],
                    direction="",
                    entry_time=_aware(ts),
                    exit_time=None,
                    quantity=Decimal(0),
                    entry_price=Decimal(0),
                    exit_price=None,
                    gross_pnl=Decimal(0),
                    fees=Decimal(0),
                    net_pnl=Decimal(0),
                )
                open_trips[trip] = parent
        out.append(
            Realization(
                time=_aware(ts),
                account=names[account_id],
                instrument=insts[instrument_id],
                quantity=qty,
                gross_pnl=gross,
                fees=fees,
                round_trip=parent,
            )
        )
    return list(trips.values()), out


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
