"""read models: order views, case index, timeline

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:36:17.780077
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_view_cases",
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "order_id", name=op.f("pk_order_view_cases")),
    )
    op.create_table(
        "order_views",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("channel_order_ref", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("customer_email", sa.String(length=200), nullable=False),
        sa.Column("erp_order_ref", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_views")),
    )
    with op.batch_alter_table("order_views", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_views_channel_ref", ["channel_order_ref", "channel"], unique=False
        )
        batch_op.create_index("ix_order_views_created", ["created_at", "order_id"], unique=False)
        batch_op.create_index(
            "ix_order_views_email", ["customer_email", "created_at", "order_id"], unique=False
        )
        batch_op.create_index("ix_order_views_erp_ref", ["erp_order_ref"], unique=False)
        batch_op.create_index(
            "ix_order_views_status", ["status", "created_at", "order_id"], unique=False
        )

    op.create_table(
        "timeline_entries",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("correlation_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "aggregate_version", name=op.f("pk_timeline_entries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_timeline_entries_event_id")),
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_kind_at", ["kind", "at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_published_at", ["published_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_published_at")
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_kind_at")
    op.drop_table("timeline_entries")
    with op.batch_alter_table("order_views", schema=None) as batch_op:
        batch_op.drop_index("ix_order_views_status")
        batch_op.drop_index("ix_order_views_erp_ref")
        batch_op.drop_index("ix_order_views_email")
        batch_op.drop_index("ix_order_views_created")
        batch_op.drop_index("ix_order_views_channel_ref")

    op.drop_table("order_views")
    op.drop_table("order_view_cases")
