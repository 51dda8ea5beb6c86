"""Table definitions (SQLAlchemy Core). Alembic migrations create and evolve them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Instance-wide key/value settings (instance id, demo-seeded marker, ...).
app_settings = Table(
    "app_settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# --- journal -------------------------------------------------------------------------
# Quantities, prices and money are stored as exact decimal strings (DecimalText): SQLite
# has no exact numeric type and P&L must reconcile to the cent with brokers. Round-trip
# P&L is also kept as a float column, only for server-side sorting and range filters.


class DecimalText(TypeDecorator[Decimal]):
    """Exact Decimal stored as TEXT on every backend."""

    impl = String(48)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return format(Decimal(value), "f")

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("base_currency", String(10), nullable=False, default="USD"),
    Column("lot_method", String(10), nullable=False, default="fifo"),
    Column("is_demo", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

instruments = Table(
    "instruments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("symbol", String(100), nullable=False),
    Column("asset_class", String(20), nullable=False),
    Column("underlying", String(50), nullable=False),
    Column("multiplier", DecimalText, nullable=False),
    Column("expiry", Date, nullable=True),
    Column("strike", DecimalText, nullable=True),
    Column("option_right", String(4), nullable=True),
    Column("currency", String(10), nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("broker", String(50), nullable=False),
    Column("strict", Boolean, nullable=False, default=False),
    Column("rows_read", Integer, nullable=False),
    Column("imported", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("report_json", Text, nullable=False),  # rejections + skipped kinds
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

executions = Table(
    "executions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="CASCADE"), nullable=True),
    Column("instrument_id", Integer, ForeignKey("instruments.id"), nullable=False),
    Column("broker", String(50), nullable=False),
    Column("broker_execution_id", String(200), nullable=True),
    Column("fingerprint", String(64), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", DecimalText, nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("fees", DecimalText, nullable=False),
    Column("currency", String(10), nullable=False),
    Column("order_id", String(200), nullable=True),
    Column("source_row", Integer, nullable=True),
    Column("raw_json", Text, nullable=True),
    # 0005: the export's rate from `currency` to the account's base currency (None: not
    # given; a fill in the base currency needs none)
    Column("fx_rate", DecimalText, nullable=True),
    UniqueConstraint("account_id", "fingerprint", name="uq_executions_account_fingerprint"),
    Index("ix_executions_account_instrument_ts", "account_id", "instrument_id", "ts"),
    Index("ix_executions_import", "import_id"),
)

# Splits (forward/reverse) the matcher applies in time order with the executions
# (migration 0006). Exactly one of (new_units, old_units) or quantity_delta is set.
corporate_actions = Table(
    "corporate_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id", ondelete="CASCADE"), nullable=True),
    Column("instrument_id", Integer, ForeignKey("instruments.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("new_units", DecimalText, nullable=True),
    Column("old_units", DecimalText, nullable=True),
    Column("quantity_delta", DecimalText, nullable=True),
    Column("broker", String(50), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("source_row", Integer, nullable=True),
    Column("description", Text, nullable=False, default=""),
    UniqueConstraint("account_id", "fingerprint", name="uq_corporate_actions_account_fingerprint"),
    Index("ix_corporate_actions_account_instrument_ts", "account_id", "instrument_id", "ts"),
    Index("ix_corporate_actions_import", "import_id"),
)

round_trips = Table(
    "round_trips",
    metadata,
    # Stable id: hash of (account, instrument, opening fill fingerprint), so recomputing
    # round trips after an import keeps ids, tags, notes and risk.
    Column("id", String(32), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("instrument_id", Integer, ForeignKey("instruments.id"), nullable=False),
    Column("direction", String(5), nullable=False),
    Column("entry_time", DateTime(timezone=True), nullable=False),
    Column("exit_time", DateTime(timezone=True), nullable=False),
    Column("quantity", DecimalText, nullable=False),
    Column("entry_price", DecimalText, nullable=False),
    Column("exit_price", DecimalText, nullable=False),
    Column("gross_pnl", DecimalText, nullable=False),
    Column("fees", DecimalText, nullable=False),
    Column("net_pnl", DecimalText, nullable=False),
    Column("net_pnl_sort", Float, nullable=False),
    Column("holding_seconds", Float, nullable=False),
    Column("executions_count", Integer, nullable=False),
    Column("execution_ids", Text, nullable=False),  # JSON list of execution ids
    # 0005: P&L in the account's base currency, None when no conversion applies (the
    # instrument is in the base currency); `net_pnl_sort` is the base net P&L
    Column("base_gross_pnl", DecimalText, nullable=True),
    Column("base_fees", DecimalText, nullable=True),
    Column("base_net_pnl", DecimalText, nullable=True),
    Index("ix_round_trips_account_exit", "account_id", "exit_time"),
    Index("ix_round_trips_exit_id", "exit_time", "id"),  # Trades paging (0004)
    Index("ix_round_trips_instrument", "instrument_id"),
    Index("ix_round_trips_net", "net_pnl_sort"),
)

realizations = Table(
    "realizations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("instrument_id", Integer, ForeignKey("instruments.id"), nullable=False),
    Column("round_trip_id", String(32), nullable=True),  # None while the position is open
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("quantity", DecimalText, nullable=False),
    Column("gross_pnl", DecimalText, nullable=False),
    Column("fees", DecimalText, nullable=False),
    Column("fx_rate", DecimalText, nullable=True),  # 0005: the closing fill's rate to base
    Index("ix_realizations_account_ts", "account_id", "ts"),
    Index("ix_realizations_instrument", "account_id", "instrument_id"),
)

open_positions = Table(
    "open_positions",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("instrument_id", Integer, ForeignKey("instruments.id"), primary_key=True),
    Column("round_trip_id", String(32), nullable=False),
    Column("quantity", DecimalText, nullable=False),  # signed: negative = short
    Column("average_price", DecimalText, nullable=False),
    Column("cost_basis", DecimalText, nullable=False),
    Column("fees", DecimalText, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
)

# User annotations live apart from the derived round trips, keyed by the stable trip id,
# so re-matching never loses them.
trade_annotations = Table(
    "trade_annotations",
    metadata,
    Column("round_trip_id", String(32), primary_key=True),
    Column("tags", Text, nullable=False, default="[]"),
    Column("notes", Text, nullable=False, default=""),
    Column("risk", DecimalText, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("scope", String(30), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Background work (large imports, scans): state shared by every process through the DB.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),  # queued | running | done | failed | cancelled
    Column("progress_json", Text, nullable=False, default="{}"),
    Column("result_json", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("params_json", Text, nullable=True),  # 0003: a scan's date and filters
)

# A scan's event log (0003): every progress/result/status change of one job, numbered
# 1, 2, 3, ... per job, so Server-Sent Events clients resume after the last id they saw.
# Per-ticker outcomes carry the ticker (at most one event per job and ticker).
scan_events = Table(
    "scan_events",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("type", String(20), nullable=False),
    Column("ticker", String(32), nullable=True),
    Column("data_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("job_id", "ticker", name="uq_scan_events_job_ticker"),
)
