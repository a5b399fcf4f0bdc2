"""The tables of the write side: orders, stock, the outbox, idempotency keys, API keys, inbound."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
    text,
)

from adapters.sql.types import Json, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: One row per order; `state` holds the whole aggregate, the other columns are what we look up by.
orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("channel", String(100), nullable=False),
    Column("channel_order_ref", String(100), nullable=False),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    #: The earliest expiry of a held reservation while the order is on hold (the expiry job's index).
    Column("next_hold_expiry", UtcDateTime, nullable=True),
    Column("state", Json, nullable=False),
    UniqueConstraint("channel", "channel_order_ref", name="uq_orders_channel_ref"),
)
Index(
    "ix_orders_hold_expiry",
    orders.c.next_hold_expiry,
    postgresql_where=orders.c.next_hold_expiry.is_not(None),
    sqlite_where=orders.c.next_hold_expiry.is_not(None),
)

#: Orders waiting for the ERP, oldest first (degraded mode's catch-up and the ops view).
Index(
    "ix_orders_reserved_created",
    orders.c.created_at,
    postgresql_where=orders.c.status == "reserved",
    sqlite_where=orders.c.status == "reserved",
)

#: Which order owns a return (returns are entities of their order).
order_returns = Table(
    "order_returns",
    metadata,
    Column("return_id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=False, index=True),
)

#: SKUs a backordered order still misses, so arriving stock finds the oldest waiting order.
backorder_waits = Table(
    "backorder_waits",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("order_id", Uuid, ForeignKey("orders.id"), primary_key=True),
    Column("since", UtcDateTime, nullable=False),
)
Index("ix_backorder_waits_sku_since", backorder_waits.c.sku, backorder_waits.c.since)

#: Reservations only take what is available (`on_hand - reserved >= q` in the update itself);
#: shrinkage reported by the warehouse may leave reserved above on_hand, so that is not a CHECK.
stock_levels = Table(
    "stock_levels",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("location", String(100), primary_key=True),
    Column("on_hand", Integer, nullable=False, server_default=text("0")),
    Column("reserved", Integer, nullable=False, server_default=text("0")),
    Column("last_sequence", BigInteger, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
)

#: The transactional outbox (PRODUCT.md §2.4 envelope). The relay claims `published_at IS NULL`.
outbox = Table(
    "outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("aggregate_type", String(32), nullable=False),
    Column("aggregate_id", String(200), nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("correlation_id", String(200), nullable=False),
    Column("causation_id", String(200), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("payload", Json, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    #: The writing transaction's id on PostgreSQL (its server default), 0 on SQLite: the feed's
    #: position is (txid, id) (adapters/sql/event_feed.py).
    Column("txid", BigInteger, nullable=False, server_default=text("0")),
    #: The channel of the order whose event this is (null for stock): a channel's feed.
    Column("channel", String(100), nullable=True),
    UniqueConstraint(
        "aggregate_type", "aggregate_id", "aggregate_version", name="uq_outbox_stream"
    ),
)
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)

Index("ix_outbox_feed", outbox.c.txid, outbox.c.id)
Index("ix_outbox_channel_feed", outbox.c.channel, outbox.c.txid, outbox.c.id)

#: Idempotency-Key records: claimed in their own transaction, completed in the command's.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("claim_token", String(36), nullable=False),
    Column("completed", Boolean, nullable=False, server_default=text("false")),
    Column("locked_until", UtcDateTime, nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_headers", Json, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

#: API keys: only a SHA-256 of the key is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("channel", String(100), nullable=True),
    #: A system key's sources, comma-separated (`erp,warehouse`); NULL for other roles, and for
    #: system keys created before keys were bound to sources.
    Column("sources", String(100), nullable=True),
    Column("label", String(200), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    #: After this the key is refused like a revoked one (`keys create/rotate --expires-in`).
    Column("expires_at", UtcDateTime, nullable=True),
    #: Which of the key's secrets `key_hash` is: 0 at creation, one more at each rotation (a
    #: console session remembers the generation it signed in with).
    Column("generation", Integer, nullable=False, server_default=text("0")),
    #: The secret `key_hash` replaced at the last rotation, valid until `previous_valid_until`
    #: (the rotation's grace); NULL once no rotation left one.
    Column("previous_key_hash", String(64), nullable=True, unique=True),
    Column("previous_valid_until", UtcDateTime, nullable=True),
)

#: Messages each consumer has already processed (inbound events, delivered outbox events), so a
#: redelivery has no second effect.
inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)

#: One row per (event, consumer) the relay published: how often it was attempted, by when it must be
#: processed before the relay publishes it again, and whether it was processed or given up.
deliveries = Table(
    "deliveries",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("consumer", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("publications", Integer, nullable=False, server_default=text("1")),
    Column("due_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime, nullable=True),
    Column("dead_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    #: The first failure of the current outage of the remote this delivery needs (it waits,
    #: spending no attempt, until REMOTE_OUTAGE_HORIZON_SECONDS after this).
    Column("outage_since", UtcDateTime, nullable=True),
    #: While a copy of the delivery runs, until when it holds it (renewed as it runs): another
    #: copy arriving meanwhile neither runs nor spends an attempt. Expires if its worker dies.
    Column("running_until", UtcDateTime, nullable=True),
    #: The remote (`ports.circuits.REMOTES`) this delivery last waited out an outage of: with
    #: `outage_since` set and unfinished, it counts as waiting for that remote (GET /v1/ops/remotes).
    Column("waiting_for", String(32), nullable=True),
    #: The remote this delivery was announced failing with on its order's timeline (PRODUCT.md
    #: §8.3), once per episode: cleared when its recovery is announced or its dead letter replayed.
    Column("failing_announced", String(32), nullable=True),
)
Index(
    "ix_deliveries_due",
    deliveries.c.due_at,
    postgresql_where=and_(deliveries.c.processed_at.is_(None), deliveries.c.dead_at.is_(None)),
    sqlite_where=and_(deliveries.c.processed_at.is_(None), deliveries.c.dead_at.is_(None)),
)

#: The dead-letter store of record (Dramatiq's own dead letters expire after 7 days): outbox events
#: a consumer gave up on (`message_id` is the event id), and inbound events that never applied
#: (`consumer` is `inbound:<source>`, `payload` the event as received).
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("message_id", String(200), nullable=False),
    Column("consumer", String(100), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("aggregate_id", String(200), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("error", Text, nullable=False),
    Column("payload", Json, nullable=True),
    Column("died_at", UtcDateTime, nullable=False, index=True),
    Column("replayed_at", UtcDateTime, nullable=True),
)

#: Inbound events that came before what they refer to (a delivery before its shipment): kept and
#: tried again later, never dropped.
inbound_deferred = Table(
    "inbound_deferred",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("event_type", String(64), nullable=False),
    Column("body", Json, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("correlation_id", String(200), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UtcDateTime, nullable=False, index=True),
    Column("last_error", Text, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
)

#: The circuit board (`ports.circuits`): one row per remote system, the latest report of any
#: process's circuit breaker; written only when a breaker's state or failure count changes.
remote_circuits = Table(
    "remote_circuits",
    metadata,
    Column("remote", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("since", UtcDateTime, nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
)

#: What the relays published, per minute of commit (`ports.relay_minutes`): the ops console's
#: charts of the last hour. Written a few seconds' worth at a time, pruned after a day.
relay_minutes = Table(
    "relay_minutes",
    metadata,
    Column("minute", UtcDateTime, primary_key=True),
    Column("published", Integer, nullable=False),
    Column("commands", Integer, nullable=False),
    Column("max_lag_ms", BigInteger, nullable=False),
)

# -- read models ---------------------------------------------------------------------------------

#: One row per order, folded from its events; `document` is the order resource.
order_views = Table(
    "order_views",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("channel", String(100), nullable=False),
    Column("channel_order_ref", String(100), nullable=False),
    Column("status", String(32), nullable=False),
    Column("customer_email", String(200), nullable=False),
    Column("erp_order_ref", String(100), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_event_at", UtcDateTime, nullable=False),
    Column("document", Json, nullable=False),
    #: The order's return resources by return id, folded from the same events.
    Column("return_documents", Json, nullable=False, server_default=text("'{}'")),
)
Index("ix_order_views_created", order_views.c.created_at, order_views.c.order_id)
#: Lists are keyset-paginated on (created_at, order_id): every list index ends with both.
Index(
    "ix_order_views_email",
    order_views.c.customer_email,
    order_views.c.created_at,
    order_views.c.order_id,
)
#: The reference first: agents search a reference without knowing its channel.
Index("ix_order_views_channel_ref", order_views.c.channel_order_ref, order_views.c.channel)
Index("ix_order_views_erp_ref", order_views.c.erp_order_ref)
Index(
    "ix_order_views_status", order_views.c.status, order_views.c.created_at, order_views.c.order_id
)

#: Which orders a CRM case is about, for search by case id.
order_view_cases = Table(
    "order_view_cases",
    metadata,
    Column("case_id", String(100), primary_key=True),
    Column("order_id", Uuid, primary_key=True),
)

#: Which order a return belongs to, for `GET /v1/returns/{id}`.
order_view_returns = Table(
    "order_view_returns",
    metadata,
    Column("return_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
)

#: The agent's timeline: one entry per meaningful event, in each order's stream order.
timeline_entries = Table(
    "timeline_entries",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("aggregate_version", Integer, primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("at", UtcDateTime, nullable=False),
    Column("source", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("detail", Json, nullable=False),
    Column("correlation_id", String(200), nullable=False),
)
#: The stuck-workflow check finds returns received long ago by this index.
Index("ix_timeline_kind_at", timeline_entries.c.kind, timeline_entries.c.at)
#: For "published in the last minute" on the ops view.
Index("ix_outbox_published_at", outbox.c.published_at)

#: Outbound webhook subscriptions (PRODUCT.md §8.5); `secret` is encrypted with WEBHOOK_SECRET_KEY.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", Text, nullable=False),
    Column("event_types", Json, nullable=False),
    Column("channel", String(100), nullable=True),
    Column("secret", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    #: Set when the receiver answered 410 Gone: nothing more is sent to it.
    Column("disabled_at", UtcDateTime, nullable=True),
    Column("disabled_reason", Text, nullable=True),
)

#: Which event each subscription was sent, so that a retry of the webhooks consumer (one
#: subscription failed) sends nothing twice to the others.
webhook_sends = Table(
    "webhook_sends",
    metadata,
    Column("subscription_id", Uuid, primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("sent_at", UtcDateTime, nullable=False),
)
