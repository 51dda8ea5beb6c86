"""Journal: accounts, instruments, imports, executions, round trips, realizations,
annotations, idempotency keys.

Revision ID: 0002_journal
Revises: 0001_foundation
Create Date: 2026-11-26 02:58:13.566504
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_journal"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("base_currency", sa.String(length=10), nullable=False),
        sa.Column("lot_method", sa.String(length=10), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_accounts_name")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=30), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("asset_class", sa.String(length=20), nullable=False),
        sa.Column("underlying", sa.String(length=50), nullable=False),
        sa.Column("multiplier", sa.String(length=48), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("strike", sa.String(length=48), nullable=True),
        sa.Column("option_right", sa.String(length=4), nullable=True),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
        sa.UniqueConstraint("key", name=op.f("uq_instruments_key")),
    )
    op.create_table(
        "trade_annotations",
        sa.Column("round_trip_id", sa.String(length=32), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("risk", sa.String(length=48), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("round_trip_id", name=op.f("pk_trade_annotations")),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("broker", sa.String(length=50), nullable=False),
        sa.Column("strict", sa.Boolean(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_imports_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_imports_idempotency_key")),
    )
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_imports_content_hash"), ["content_hash"], unique=False)

    op.create_table(
        "realizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("round_trip_id", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quantity", sa.String(length=48), nullable=False),
        sa.Column("gross_pnl", sa.String(length=48), nullable=False),
        sa.Column("fees", sa.String(length=48), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_realizations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_realizations_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realizations")),
    )
    with op.batch_alter_table("realizations", schema=None) as batch_op:
        batch_op.create_index("ix_realizations_account_ts", ["account_id", "ts"], unique=False)
        batch_op.create_index(
            "ix_realizations_instrument", ["account_id", "instrument_id"], unique=False
        )

    op.create_table(
        "round_trips",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=5), nullable=False),
        sa.Column("entry_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exit_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quantity", sa.String(length=48), nullable=False),
        sa.Column("entry_price", sa.String(length=48), nullable=False),
        sa.Column("exit_price", sa.String(length=48), nullable=False),
        sa.Column("gross_pnl", sa.String(length=48), nullable=False),
        sa.Column("fees", sa.String(length=48), nullable=False),
        sa.Column("net_pnl", sa.String(length=48), nullable=False),
        sa.Column("net_pnl_sort", sa.Float(), nullable=False),
        sa.Column("holding_seconds", sa.Float(), nullable=False),
        sa.Column("executions_count", sa.Integer(), nullable=False),
        sa.Column("execution_ids", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_round_trips_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_round_trips_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_trips")),
    )
    with op.batch_alter_table("round_trips", schema=None) as batch_op:
        batch_op.create_index(
            "ix_round_trips_account_exit", ["account_id", "exit_time"], unique=False
        )
        batch_op.create_index("ix_round_trips_instrument", ["instrument_id"], unique=False)
        batch_op.create_index("ix_round_trips_net", ["net_pnl_sort"], unique=False)

    op.create_table(
        "executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("broker", sa.String(length=50), nullable=False),
        sa.Column("broker_execution_id", sa.String(length=200), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("quantity", sa.String(length=48), nullable=False),
        sa.Column("price", sa.String(length=48), nullable=False),
        sa.Column("fees", sa.String(length=48), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("raw_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_executions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imports.id"],
            name=op.f("fk_executions_import_id_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_executions_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
        sa.UniqueConstraint("account_id", "fingerprint", name="uq_executions_account_fingerprint"),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_executions_account_instrument_ts",
            ["account_id", "instrument_id", "ts"],
            unique=False,
        )
        batch_op.create_index("ix_executions_import", ["import_id"], unique=False)

    op.create_table(
        "open_positions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("round_trip_id", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.String(length=48), nullable=False),
        sa.Column("average_price", sa.String(length=48), nullable=False),
        sa.Column("cost_basis", sa.String(length=48), nullable=False),
        sa.Column("fees", sa.String(length=48), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_open_positions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_open_positions_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("account_id", "instrument_id", name=op.f("pk_open_positions")),
    )

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress_json", sa.Text(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("open_positions")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_import")
        batch_op.drop_index("ix_executions_account_instrument_ts")

    op.drop_table("executions")
    with op.batch_alter_table("round_trips", schema=None) as batch_op:
        batch_op.drop_index("ix_round_trips_net")
        batch_op.drop_index("ix_round_trips_instrument")
        batch_op.drop_index("ix_round_trips_account_exit")

    op.drop_table("round_trips")
    with op.batch_alter_table("realizations", schema=None) as batch_op:
        batch_op.drop_index("ix_realizations_instrument")
        batch_op.drop_index("ix_realizations_account_ts")

    op.drop_table("realizations")
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_imports_content_hash"))

    op.drop_table("imports")
    op.drop_table("trade_annotations")
    op.drop_table("instruments")
    op.drop_table("idempotency_keys")
    op.drop_table("accounts")
