"""Currencies: FX rates of executions and base-currency P&L of derived rows.

- ``executions.fx_rate``: the export's rate from the fill's currency to the account's
  base currency (IBKR ``fxRateToBase``); NULL when the export gives none (a fill in the
  base currency needs none).
- ``realizations.fx_rate``: the closing fill's rate (NULL: in the base currency).
- ``round_trips.base_gross_pnl``, ``base_fees``, ``base_net_pnl``: the round trip's P&L in
  the account's base currency, NULL when it needs no conversion.

All nullable: existing rows are in their account's base currency, as before.

Revision ID: 0005_currencies
Revises: 0004_trades_paging
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_currencies"
down_revision = "0004_trades_paging"
branch_labels = None
depends_on = None

_DECIMAL = sa.String(length=48)  # DecimalText: exact decimal strings on every backend


def upgrade() -> None:
    op.add_column("executions", sa.Column("fx_rate", _DECIMAL, nullable=True))
    op.add_column("realizations", sa.Column("fx_rate", _DECIMAL, nullable=True))
    op.add_column("round_trips", sa.Column("base_gross_pnl", _DECIMAL, nullable=True))
    op.add_column("round_trips", sa.Column("base_fees", _DECIMAL, nullable=True))
    op.add_column("round_trips", sa.Column("base_net_pnl", _DECIMAL, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("round_trips") as batch_op:
        batch_op.drop_column("base_net_pnl")
        batch_op.drop_column("base_fees")
        batch_op.drop_column("base_gross_pnl")
    with op.batch_alter_table("realizations") as batch_op:
        batch_op.drop_column("fx_rate")
    with op.batch_alter_table("executions") as batch_op:
        batch_op.drop_column("fx_rate")
