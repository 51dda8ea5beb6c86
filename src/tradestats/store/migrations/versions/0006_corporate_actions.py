"""Corporate actions: splits stored as events the matcher applies with the executions.

A split (forward or reverse) adjusts the open lots of one (account, instrument) at its
time: quantity x ratio, per-unit price / ratio, cost basis and fees unchanged. Stored,
not applied once, so re-matching (lot-method change, undo, rebuild) gives the same result.

Revision ID: 0006_corporate_actions
Revises: 0005_currencies
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_corporate_actions"
down_revision = "0005_currencies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corporate_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("new_units", sa.String(length=48), nullable=True),
        sa.Column("old_units", sa.String(length=48), nullable=True),
        sa.Column("quantity_delta", sa.String(length=48), nullable=True),
        sa.Column("broker", sa.String(length=50), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_corporate_actions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imports.id"],
            name=op.f("fk_corporate_actions_import_id_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_corporate_actions_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corporate_actions")),
        sa.UniqueConstraint(
            "account_id", "fingerprint", name="uq_corporate_actions_account_fingerprint"
        ),
    )
    op.create_index(
        "ix_corporate_actions_account_instrument_ts",
        "corporate_actions",
        ["account_id", "instrument_id", "ts"],
    )
    op.create_index("ix_corporate_actions_import", "corporate_actions", ["import_id"])


def downgrade() -> None:
    op.drop_index("ix_corporate_actions_import", table_name="corporate_actions")
    op.drop_index("ix_corporate_actions_account_instrument_ts", table_name="corporate_actions")
    op.drop_table("corporate_actions")
