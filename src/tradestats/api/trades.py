"""Journal read/annotate endpoints: trades, executions, positions, accounts, statistics,
and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Response, current_app, json
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tradestats.api.openapi import TIME_ZONE, ApiSpec, ResponseSpec, link
from tradestats.api.problems import ApiProblem
from tradestats.journal import rebuild
from tradestats.journal.reports import MixedCurrencies, ReportParams, journal_report
from tradestats.services import services_of
from tradestats.store import journal_queries as queries
from tradestats.store import journal_repo as repo

AssetClassName = Literal[
    "stock", "option", "future", "future_option", "crypto_spot", "crypto_perp", "forex"
]


class Filters(BaseModel):
    """Filters every journal read obeys. Dates are calendar days in `tz`, inclusive."""

    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(default=None, max_length=100)
    symbol: str | None = Field(default=None, max_length=100)
    side: Literal["long", "short"] | None = None
    asset_class: AssetClassName | None = None
    tag: str | None = Field(default=None, max_length=50)
    start: date | None = None
    end: date | None = None
    tz: str = Field(default="UTC", max_length=64, json_schema_extra=TIME_ZONE)

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone") from None
        return value

    def check_dates(self) -> None:
        """400 naming `start` when the range is reversed."""
        if self.start and self.end and self.start > self.end:
            raise ApiProblem(
                400,
                "Invalid request",
                "start is after end",
                errors=[{"name": "start", "in": "query", "reason": "after end"}],
            )

    def trade_query(self) -> queries.TradeQuery:
        self.check_dates()
        zone = ZoneInfo(self.tz)
        start = datetime.combine(self.start, time(0), zone).astimezone(UTC) if self.start else None
        end = (
            datetime.combine(self.end + timedelta(days=1), time(0), zone).astimezone(UTC)
            if self.end
            else None
        )
        return queries.TradeQuery(
            account=self.account,
            symbol=self.symbol,
            side=self.side,
            asset_class=self.asset_class,
            tag=self.tag,
            start=start,
            end=end,
        )


class Paging(BaseModel):
    """Order and page of a listing (every paged journal endpoint)."""

    model_config = ConfigDict(extra="forbid")

    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class TradesQuery(Paging, Filters):
    sort: Literal["exit_time", "entry_time", "net_pnl", "holding_seconds", "symbol", "quantity"] = (
        "exit_time"
    )


class StatsQuery(Filters):
    basis: Literal["net", "gross"] = "net"
    capital: Decimal = Field(default=Decimal(10000), gt=0, le=Decimal(10) ** 12)
    annualization: int = Field(default=252, ge=1, le=366)


class ExecutionsQuery(Paging):
    account: str | None = Field(default=None, max_length=100)
    symbol: str | None = Field(default=None, max_length=100)
    import_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class AccountQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(default=None, max_length=100)


class TradePatch(BaseModel):
    """Fields a trader edits on a trade; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    tags: list[str] | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=5000)
    risk: Decimal | None = Field(
        default=None, gt=0, le=Decimal(10) ** 12, description="money at risk; null clears it"
    )

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = []
        for tag in value:
            tag = tag.strip()
            if not tag or len(tag) > 50:
                raise ValueError("each tag is 1 to 50 characters")
            if tag not in cleaned:
                cleaned.append(tag)
        return cleaned


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot_method: Literal["fifo", "lifo", "average"]


class Trade(BaseModel):
    id: str
    account: str
    symbol: str
    underlying: str
    assetClass: str
    direction: str
    entryTime: str
    exitTime: str
    quantity: str
    entryPrice: str
    exitPrice: str
    multiplier: str
    grossPnl: float = Field(description="In `currency`, the instrument's currency")
    fees: float
    netPnl: float
    currency: str = Field(description="The instrument's currency: prices and P&L above")
    baseCurrency: str = Field(description="The account's base currency")
    baseGrossPnl: float = Field(
        description="Gross P&L in `baseCurrency`: each closing fill's P&L times its FX rate"
    )
    baseFees: float
    baseNetPnl: float = Field(description="Net P&L in `baseCurrency` (what statistics add up)")
    holdingSeconds: float
    executions: int
    risk: float | None
    rMultiple: float | None
    tags: list[str]
    notes: str


class ExecutionOut(BaseModel):
    id: int
    account: str
    importId: int | None
    symbol: str
    assetClass: str
    time: str
    side: str
    quantity: str
    price: str
    fees: str
    currency: str
    fxRate: str | None = Field(
        default=None,
        description="The export's rate from `currency` to the account's base currency "
        "(null: not given; a fill in the base currency needs none)",
    )
    broker: str
    brokerExecutionId: str | None
    orderId: str | None
    sourceRow: int | None


class TradeDetail(Trade):
    executionList: list[ExecutionOut]


class TradePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Trade]


class ExecutionPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ExecutionOut]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


#: What every statistics response says about its money (the rest is free-form).
REPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "currency": {
            "type": ["string", "null"],
            "description": "The base currency of the report's account(s): every amount is "
            "in it (null when there is no account)",
        },
        "basis": {"type": "string", "enum": ["net", "gross"]},
    },
    "required": ["currency", "basis"],
}


def _report(q: StatsQuery) -> dict[str, Any]:
    """The journal report for `q`; a 400 problem when its accounts' currencies differ."""
    try:
        return journal_report(services_of(current_app).engine, _params(q))
    except MixedCurrencies as exc:
        raise mixed_currencies_problem(exc) from None


def mixed_currencies_problem(exc: MixedCurrencies) -> ApiProblem:
    """The 400 answer to statistics over accounts of different base currencies."""
    return ApiProblem(
        400,
        "Accounts in different currencies",
        str(exc),
        errors=[
            {"name": "account", "in": "query", "reason": f"{name} has base currency {cur}"}
            for name, cur in sorted(exc.currencies.items())
        ],
    )


def _params(q: StatsQuery) -> ReportParams:
    q.check_dates()
    return ReportParams(
        account=q.account,
        symbol=q.symbol,
        side=q.side,
        asset_class=q.asset_class,
        tag=q.tag,
        start=q.start,
        end=q.end,
        tz=q.tz,
        basis=q.basis,
        capital=q.capital,
        annualization=q.annualization,
    )


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralize spreadsheet formula injection: text starting with = + - @ TAB CR gets a
    leading apostrophe (OWASP). Numbers are written as numbers and need no escaping."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


CSV_COLUMNS = (
    "id",
    "account",
    "symbol",
    "underlying",
    "assetClass",
    "direction",
    "entryTime",
    "exitTime",
    "quantity",
    "entryPrice",
    "exitPrice",
    "multiplier",
    "grossPnl",
    "fees",
    "netPnl",
    "holdingSeconds",
    "executions",
    "risk",
    "rMultiple",
    "tags",
    "notes",
    "currency",
    "baseCurrency",
    "baseNetPnl",
)
_TEXT_COLUMNS = {
    "id",
    "account",
    "symbol",
    "underlying",
    "assetClass",
    "direction",
    "tags",
    "notes",
    "currency",
    "baseCurrency",
}


def register(spec: ApiSpec) -> Blueprint:
    """A new blueprint per app (blueprints cannot gain routes once registered)."""
    bp = Blueprint("trades", __name__, url_prefix="/api")

    @spec.route(
        bp,
        "/trades",
        "GET",
        summary="Round trips, paginated, sorted and filtered",
        tags=["journal"],
        query=TradesQuery,
        responses={
            200: ResponseSpec(
                "A page of trades",
                model=TradePage,
                links={
                    "GetTrade": link("trades_get_trade", trade_id="$response.body#/items/0/id"),
                    "PatchTrade": link(
                        "trades_patch_trade", trade_id="$response.body#/items/0/id"
                    ),
                },
            )
        },
    )
    def list_trades(query: TradesQuery) -> Response:
        with services_of(current_app).engine.connect() as conn:
            total, items = queries.list_trades(
                conn,
                query.trade_query(),
                sort=query.sort,
                descending=query.order == "desc",
                limit=query.limit,
                offset=query.offset,
            )
        return _json({"total": total, "limit": query.limit, "offset": query.offset, "items": items})

    @spec.route(
        bp,
        "/trades/<trade_id>",
        "GET",
        summary="One trade with its executions",
        tags=["journal"],
        responses={200: ResponseSpec("Trade", model=TradeDetail)},
    )
    def get_trade(trade_id: str) -> Response:
        with services_of(current_app).engine.connect() as conn:
            trade = queries.get_trade(conn, trade_id)
        if trade is None:
            raise ApiProblem(404, "Not Found", f"no trade {trade_id}")
        return _json(trade)

    @spec.route(
        bp,
        "/trades/<trade_id>",
        "PATCH",
        summary="Edit a trade's tags, notes, risk",
        tags=["journal"],
        body=TradePatch,
        responses={200: ResponseSpec("Trade", model=TradeDetail)},
    )
    def patch_trade(trade_id: str, body: TradePatch) -> Response:
        engine = services_of(current_app).engine
        with engine.begin() as conn:
            if not repo.trip_exists(conn, trade_id):
                raise ApiProblem(404, "Not Found", f"no trade {trade_id}")
            repo.update_annotation(
                conn,
                trade_id,
                tags=body.tags,
                notes=body.notes,
                risk=body.risk,
                clear_risk="risk" in body.model_fields_set and body.risk is None,
            )
            repo.bump_journal_version(conn)
            trade = queries.get_trade(conn, trade_id)
        return _json(trade)

    @spec.route(
        bp,
        "/executions",
        "GET",
        summary="Executions (fills), newest first",
        tags=["journal"],
        query=ExecutionsQuery,
        responses={200: ResponseSpec("A page of executions", model=ExecutionPage)},
    )
    def list_executions(query: ExecutionsQuery) -> Response:
        with services_of(current_app).engine.connect() as conn:
            total, items = queries.list_executions(
                conn,
                account=query.account,
                symbol=query.symbol,
                import_id=query.import_id,
                limit=query.limit,
                offset=query.offset,
                descending=query.order == "desc",
            )
        return _json({"total": total, "limit": query.limit, "offset": query.offset, "items": items})

    @spec.route(
        bp,
        "/positions",
        "GET",
        summary="Open positions with cost basis",
        tags=["journal"],
        query=AccountQuery,
        responses={200: ResponseSpec("Open positions", schema={"type": "object"})},
    )
    def list_positions(query: AccountQuery) -> Response:
        with services_of(current_app).engine.connect() as conn:
            items = queries.list_positions(conn, query.account)
        return _json({"items": items})

    @spec.route(
        bp,
        "/accounts",
        "GET",
        summary="Accounts and their lot method",
        tags=["journal"],
        responses={
            200: ResponseSpec(
                "Accounts",
                schema={"type": "object"},
                links={
                    "PatchAccount": link(
                        "trades_patch_account", name="$response.body#/items/0/name"
                    )
                },
            )
        },
    )
    def list_accounts() -> Response:
        with services_of(current_app).engine.connect() as conn:
            items = [
                {
                    "name": a.name,
                    "baseCurrency": a.base_currency,
                    "lotMethod": a.lot_method,
                    "demo": a.is_demo,
                }
                for a in repo.list_accounts(conn)
            ]
        return _json({"items": items})

    @spec.route(
        bp,
        "/accounts/<name>",
        "PATCH",
        summary="Set an account's lot method (re-matches its trades)",
        tags=["journal"],
        body=AccountPatch,
        responses={200: ResponseSpec("Account", schema={"type": "object"})},
    )
    def patch_account(name: str, body: AccountPatch) -> Response:
        engine = services_of(current_app).engine
        with engine.begin() as conn:
            account = next((a for a in repo.list_accounts(conn) if a.name == name), None)
            if account is None:
                raise ApiProblem(404, "Not Found", f"no account {name}")
            repo.set_lot_method(conn, account.id, body.lot_method)
            account = next(a for a in repo.list_accounts(conn) if a.name == name)
            rebuild.rebuild(conn, account, None)
            repo.bump_journal_version(conn)
        return _json({"name": name, "lotMethod": body.lot_method})

    # (a 400 problem when the accounts' base currencies differ: the default response)
    stats_responses = {200: ResponseSpec("Report", schema=REPORT_SCHEMA)}

    @spec.route(
        bp,
        "/stats",
        "GET",
        summary="KPIs and breakdowns of the filtered trades",
        tags=["stats"],
        query=StatsQuery,
        responses=stats_responses,
    )
    def stats(query: StatsQuery) -> Response:
        report = _report(query)
        return _json(
            {
                k: report[k]
                for k in ("basis", "currency", "timezone", "kpis", "daily", "breakdowns", "version")
            }
        )

    @spec.route(
        bp,
        "/stats/equity",
        "GET",
        summary="Daily equity curve with drawdown",
        tags=["stats"],
        query=StatsQuery,
        responses=stats_responses,
    )
    def stats_equity(query: StatsQuery) -> Response:
        report = _report(query)
        points = []
        peak = None
        for point in report["equity"]:
            peak = point["equity"] if peak is None else max(peak, point["equity"])
            points.append({**point, "drawdown": round(point["equity"] - peak, 2)})
        return _json(
            {
                "basis": report["basis"],
                "currency": report["currency"],
                "startingCapital": float(query.capital),
                "points": points,
            }
        )

    @spec.route(
        bp,
        "/stats/calendar",
        "GET",
        summary="Daily P&L calendar (heatmap data)",
        tags=["stats"],
        query=StatsQuery,
        responses=stats_responses,
    )
    def stats_calendar(query: StatsQuery) -> Response:
        report = _report(query)
        return _json(
            {
                "basis": report["basis"],
                "currency": report["currency"],
                "timezone": report["timezone"],
                "days": report["calendar"],
            }
        )

    @spec.route(
        bp,
        "/trades.csv",
        "GET",
        summary="Export the filtered trades as CSV",
        tags=["journal"],
        query=TradesQuery,
        responses={200: ResponseSpec("CSV", schema={"type": "string"}, media_type="text/csv")},
    )
    def export_trades(query: TradesQuery) -> Response:
        engine = services_of(current_app).engine
        trade_query = query.trade_query()

        def rows() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(CSV_COLUMNS)
            offset = 0
            while True:
                with engine.connect() as conn:
                    _total, items = queries.list_trades(
                        conn,
                        trade_query,
                        sort=query.sort,
                        descending=query.order == "desc",
                        limit=2000,
                        offset=offset,
                    )
                for item in items:
                    writer.writerow([_csv_cell(col, item[col]) for col in CSV_COLUMNS])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                if len(items) < 2000:
                    return
                offset += 2000

        resp = Response(rows(), mimetype="text/csv")
        resp.headers["Content-Disposition"] = 'attachment; filename="trades.csv"'
        return resp

    return bp


def _csv_cell(column: str, value: Any) -> Any:
    if column == "tags":
        return csv_safe(";".join(value))
    if column in _TEXT_COLUMNS and isinstance(value, str):
        return csv_safe(value)
    return "" if value is None else value
