"""Scans: the scan event log, and scan parameters on jobs.

Revision ID: 0003_scans
Revises: 0002_journal
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_scans"
down_revision = "0002_journal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params_json", sa.Text(), nullable=True))
    op.create_table(
        "scan_events",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("ticker", sa.String(length=32), nullable=True),
        sa.Column("data_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_scan_events_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "id", name=op.f("pk_scan_events")),
        # NULL tickers (status events) never collide: NULLs are distinct in unique indexes
        # on both SQLite and PostgreSQL.
        sa.UniqueConstraint("job_id", "ticker", name="uq_scan_events_job_ticker"),
    )


def downgrade() -> None:
    op.drop_table("scan_events")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("params_json")
