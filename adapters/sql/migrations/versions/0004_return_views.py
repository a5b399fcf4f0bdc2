"""read models: return resources in the order view, return index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_view_returns",
        sa.Column("return_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("return_id", name=op.f("pk_order_view_returns")),
    )
    with op.batch_alter_table("order_views", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "return_documents",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'{}'"),
                nullable=False,
            )
        )
    # Views projected before this revision lack their returns: `orderhub projections rebuild`
    # (or POST /v1/ops/projections/rebuild) fills them from the outbox.


def downgrade() -> None:
    with op.batch_alter_table("order_views", schema=None) as batch_op:
        batch_op.drop_column("return_documents")
    op.drop_table("order_view_returns")
