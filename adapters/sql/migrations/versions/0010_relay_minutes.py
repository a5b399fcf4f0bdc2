"""relay minutes: what the relays published per minute, for the ops console's charts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_minutes",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published", sa.Integer(), nullable=False),
        sa.Column("commands", sa.Integer(), nullable=False),
        sa.Column("max_lag_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("minute", name=op.f("pk_relay_minutes")),
    )


def downgrade() -> None:
    op.drop_table("relay_minutes")
