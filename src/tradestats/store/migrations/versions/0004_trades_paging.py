"""Trades paging: an (exit_time, id) index on round_trips.

The Trades view pages through round trips newest-closed first (`ORDER BY exit_time DESC,
id DESC LIMIT/OFFSET`). Without this index every page sorted the whole table: ~0.5-1 s a
page on 217k round trips (1M executions); with it a page is an index walk.

Revision ID: 0004_trades_paging
Revises: 0003_scans
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004_trades_paging"
down_revision = "0003_scans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_round_trips_exit_id", "round_trips", ["exit_time", "id"])


def downgrade() -> None:
    op.drop_index("ix_round_trips_exit_id", table_name="round_trips")
