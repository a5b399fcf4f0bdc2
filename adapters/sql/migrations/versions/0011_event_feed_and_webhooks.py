"""event feed and webhooks: the outbox's commit position and channel, webhook subscriptions and
what each was sent

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The id of the transaction that wrote the row, as a bigint (xid8 never wraps around).
_TXID = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # The feed orders by (txid, id) and reads only below the oldest running transaction (see
    # adapters/sql/event_feed.py); on SQLite, where writers take turns, id alone is commit order.
    # A constant default first (no rewrite of a large outbox: the rows written so far read as
    # txid 0, ahead of every later one, in id order, which is how they committed as far as any
    # reader after this migration can tell); then new rows take their transaction's id.
    op.add_column("outbox", sa.Column("txid", sa.BigInteger(), nullable=False, server_default="0"))
    if postgres:
        op.alter_column("outbox", "txid", server_default=sa.text(_TXID))
    op.add_column("outbox", sa.Column("channel", sa.String(100), nullable=True))
    # The events kept so far get their order's channel (one pass over the outbox, under the
    # migration's lock: on a large outbox, run it in a quiet hour).
    if postgres:
        op.execute(
            "UPDATE outbox SET channel = orders.channel FROM orders "
            "WHERE outbox.aggregate_type = 'order' AND outbox.aggregate_id = orders.id::text"
        )
    else:
        bind = op.get_bind()
        for order_id, channel in bind.execute(sa.text("SELECT id, channel FROM orders")).all():
            bind.execute(
                sa.text(
                    "UPDATE outbox SET channel = :channel "
                    "WHERE aggregate_type = 'order' AND aggregate_id = :order_id"
                ),
                {"channel": channel, "order_id": _dashed(order_id)},
            )
    op.create_index("ix_outbox_feed", "outbox", ["txid", "id"])
    op.create_index("ix_outbox_channel_feed", "outbox", ["channel", "txid", "id"])

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "event_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(100), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_table(
        "webhook_sends",
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", "event_id", name=op.f("pk_webhook_sends")),
    )


def _dashed(order_id: object) -> str:
    """An order id as the outbox writes it: SQLite stores a `Uuid` as 32 hex digits."""
    text = str(order_id).replace("-", "")
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def downgrade() -> None:
    op.drop_table("webhook_sends")
    op.drop_table("webhook_subscriptions")
    op.drop_index("ix_outbox_channel_feed", table_name="outbox")
    op.drop_index("ix_outbox_feed", table_name="outbox")
    op.drop_column("outbox", "channel")
    op.drop_column("outbox", "txid")
