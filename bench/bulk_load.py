"""Bulk-load N orders straight into the read models of a throwaway PostgreSQL database.

Not through the API: the rows are generated inside PostgreSQL (`INSERT … SELECT` over
`generate_series`) in the shapes the projector writes (`read_models/projector.py`):

- `order_views`: one row per order; `document` is the order resource (PRODUCT.md §5.1) with 1–3
  lines, payment, returns and case ids consistent with the status;
- `timeline_entries`: the order's story, ~8 entries per order (placed, reserved, booked, captured,
  split shipments and deliveries, returns, cases, holds, cancellations), versions 1..n;
- `order_view_cases`: ~5 % of the orders carry a CRM case id.

Spreads: channels web 60 % / pos 15 % / marketplace 25 %; ~3 orders per customer email plus one
reseller account holding 1 % of all orders (so a customer search has later pages); `created_at`
over the 90 days before the anchor; statuses by age (recent orders are placed / reserved / booked,
older ones mostly delivered, a few on hold, backordered or cancelled).

Physical order follows production: timeline rows are inserted in `at` order (one order's entries
are spread over the heap, as live projection leaves them) and order views in `last_event_at` order
(an updated row moves to the end of the heap). VACUUM ANALYZE afterwards, as autovacuum would,
and a CHECKPOINT so that flushing the load does not disturb what is measured next.

    .venv/bin/python -m bench.bulk_load --orders 100000           # load, report, drop
    .venv/bin/python -m bench.bulk_load --orders 100000 --keep    # keep the database
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from adapters.sql.engine import create_engine
from adapters.sql.migrate import migrate

PG_HOST = os.environ.get("ORDERHUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ORDERHUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ORDERHUB_TEST_PG_USER", "postgres")

#: The reseller account that holds 1 % of all orders (a customer with many pages of orders).
HEAVY_CUSTOMER = "orders@reseller-one.example"


async def _drop_indexes(conn: asyncpg.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' keys and indexes for the load; returns the statements that build them
    again. Built by sorting after the load instead of growing row by row, they take a fraction of
    the time at 1M orders (the entries' key is (order_id, version), and the entries are inserted
    in time order, so every insert lands on a random leaf). A freshly built B-tree is packed
    tighter than a grown one, a little in the queries' favour."""
    rebuild: list[str] = []
    for table in tables:
        constraints = await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE conrelid = $1::regclass AND contype IN ('p', 'u')",
            table,
        )
        names = {c["conname"] for c in constraints}
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1", table
        )
        for c in constraints:
            await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{c["conname"]}"')
            rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{c["conname"]}" {c["definition"]}')
        for i in indexes:
            if i["indexname"] not in names:
                await conn.execute(f'DROP INDEX "{i["indexname"]}"')
                rebuild.append(i["indexdef"])
    return rebuild


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def connect(database: str) -> asyncpg.Connection:
    return await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database=database)


async def create_database(prefix: str = "orderhub_plans") -> str:
    """A new database migrated to the newest schema, as tests/integration/databases.py makes."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await connect("postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine = create_engine(pg_url(name))
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    return name


async def drop_database(name: str) -> None:
    admin = await connect("postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class LoadReport:
    orders: int
    timeline_rows: int = 0
    cases: int = 0
    customers: int = 0
    heavy_customer_orders: int = 0
    steps: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, str] = field(default_factory=dict)

    @property
    def load_seconds(self) -> float:
        return sum(v for k, v in self.steps.items() if k not in ("vacuum analyze", "checkpoint"))

    def lines(self) -> list[str]:
        out = [
            f"orders {self.orders:,}, timeline entries {self.timeline_rows:,} "
            f"({self.timeline_rows / max(self.orders, 1):.2f} per order), cases {self.cases:,}, "
            f"customers {self.customers:,} ({self.orders / max(self.customers, 1):.2f} orders each;"
            f" {HEAVY_CUSTOMER} has {self.heavy_customer_orders:,})",
            "statuses: " + ", ".join(f"{k} {v:,}" for k, v in self.statuses.items()),
            "steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.steps.items()),
            f"load {self.load_seconds:.2f} s + vacuum analyze {self.steps.get('vacuum analyze', 0):.2f} s"
            f" + checkpoint {self.steps.get('checkpoint', 0):.2f} s",
            "sizes (table + indexes + toast): "
            + ", ".join(f"{k} {v}" for k, v in self.sizes.items()),
        ]
        return out


# -- the generator ----------------------------------------------------------------------------

#: kind -> (source, minutes after the previous entry, title; format() args: 1 channel_order_ref,
#: 2 channel, 3 lines, 4 total, 5 currency, 6 erp_order_ref, 7 case_id, 8 a short id)
KINDS: dict[str, tuple[str, float, str]] = {
    "order.placed": ("channel", 0, "Order %1$s placed on %2$s: %3$s, %4$s %5$s"),
    "order.amended": ("channel", 25, "Order changed: new shipping address; total now %4$s"),
    "inventory.reserved": ("hub", 0.05, "Stock reserved: %3$s at dc-east"),
    "order.backordered": ("hub", 0.05, "Waiting for stock: %3$s"),
    "order.booked": ("erp", 4, "Booked in the ERP as %6$s"),
    "payment.captured": ("payment", 6, "Payment of %4$s %5$s captured"),
    "payment.failed": ("payment", 6, "Payment failed: card declined"),
    "order.held": ("agent", 45, "Put on hold: address check"),
    "order.cancelled": ("channel", 90, "Order cancelled: customer changed their mind"),
    "payment.voided": ("payment", 1, "Payment authorization of %4$s %5$s released"),
    "shipment.dispatched": (
        "warehouse",
        1100,
        "Shipped %3$s from dc-east with UPS, tracking 1Z%8$s",
    ),
    "shipment.delivered": ("warehouse", 2200, "Parcel S-%8$s delivered"),
    "return.requested": ("channel", 12000, "Return requested: 1 × the first line (damaged)"),
    "return.authorized": ("hub", 2, "Return authorized as RMA-%8$s"),
    "return.received": ("warehouse", 5000, "Return received; refund due in %5$s"),
    "return.inspected": ("warehouse", 900, "Return inspected: resell"),
    "refund.issued": ("payment", 60, "Refund issued (credit memo CM-%8$s)"),
    "return.closed": ("hub", 1, "Return closed"),
    "case.linked": ("agent", 1500, "Linked to CRM case %7$s"),
    "case.updated": ("crm", 300, "Case %7$s is in_progress: customer asked about the parcel"),
}

_RFC3339 = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _kinds_values() -> str:
    return ", ".join(
        f"({_q(kind)}, {_q(source)}, {delay}::float8, {_q(title)})"
        for kind, (source, delay, title) in KINDS.items()
    )


def _gen0_sql(orders: int) -> str:
    randoms = ", ".join(
        f"random() AS r_{name}"
        for name in (
            "time", "channel", "status", "customer", "lines", "case", "return", "split", "amend",
            "pace", "country", "named",
        )
    )  # fmt: skip
    return f"CREATE TEMP TABLE gen0 AS SELECT i, {randoms} FROM generate_series(1, {orders}) AS i"


def _gen_sql(orders: int, seed: str, anchor: datetime) -> str:
    customers = max(orders // 3, 1)
    a = f"{_q(anchor.isoformat())}::timestamptz"
    return f"""
CREATE TEMP TABLE gen AS
WITH base AS (
  SELECT g0.*,
    md5({_q(seed)} || '/order/' || i)::uuid AS order_id,
    {a} - interval '90 days' + ((i - 1 + r_time) / {orders}) * interval '90 days' AS created_at,
    CASE WHEN r_channel < .60 THEN 'web' WHEN r_channel < .75 THEN 'pos' ELSE 'marketplace' END
      AS channel,
    CASE WHEN r_customer < .01 THEN 0
         ELSE 1 + floor((r_customer - .01) / .99 * {customers})::int END AS customer_no,
    CASE WHEN r_lines < .45 THEN 1 WHEN r_lines < .80 THEN 2 ELSE 3 END AS n_lines,
    (ARRAY['DE','FR','NL','GB','US','DE','DE','FR'])[1 + floor(r_country * 8)::int] AS country
  FROM gen0 AS g0
), aged AS (
  SELECT b.*, extract(epoch FROM {a} - created_at) / 3600 AS age_h FROM base AS b
), status AS (
  SELECT s.*,
    CASE
      WHEN age_h < 2 THEN CASE WHEN r_status < .10 THEN 'placed' WHEN r_status < .70 THEN 'reserved'
        WHEN r_status < .95 THEN 'booked' WHEN r_status < .98 THEN 'on_hold' ELSE 'backordered' END
      WHEN age_h < 24 THEN CASE WHEN r_status < .05 THEN 'reserved' WHEN r_status < .62 THEN 'booked'
        WHEN r_status < .67 THEN 'partially_shipped' WHEN r_status < .92 THEN 'shipped'
        WHEN r_status < .95 THEN 'on_hold' WHEN r_status < .97 THEN 'backordered'
        ELSE 'cancelled' END
      WHEN age_h < 120 THEN CASE WHEN r_status < .04 THEN 'booked'
        WHEN r_status < .07 THEN 'partially_shipped' WHEN r_status < .55 THEN 'shipped'
        WHEN r_status < .90 THEN 'delivered' WHEN r_status < .92 THEN 'on_hold'
        WHEN r_status < .94 THEN 'backordered' ELSE 'cancelled' END
      ELSE CASE WHEN r_status < .005 THEN 'backordered' WHEN r_status < .02 THEN 'on_hold'
        WHEN r_status < .03 THEN 'shipped' WHEN r_status < .94 THEN 'delivered'
        ELSE 'cancelled' END
    END AS status
  FROM aged AS s
), attrs AS (
  SELECT t.*,
    CASE channel WHEN 'web' THEN 'WEB-' || (1000000 + i)
      WHEN 'pos' THEN 'POS-S' || lpad((1 + i % 40)::text, 2, '0') || '-' || (100000 + i)
      ELSE '302-' || lpad(((i::bigint * 7919) % 10000000)::text, 7, '0') || '-'
        || lpad(i::text, 7, '0') END AS channel_order_ref,
    CASE WHEN customer_no = 0 THEN {_q(HEAVY_CUSTOMER)}
      ELSE 'customer' || lpad(customer_no::text, 7, '0') || '@'
        || (ARRAY['example.com','mail.example','post.example'])[1 + customer_no % 3] END
      AS customer_email,
    CASE WHEN customer_no = 0 THEN 'Reseller One GmbH'
      ELSE (ARRAY['Ann','Bo','Chen','Dara','Eli','Fatima','Georg','Hana'])[1 + customer_no % 8]
        || ' ' || (ARRAY['Lee','Meyer','Okafor','Novak','Silva','Berg'])[1 + customer_no % 6]
        || ' ' || customer_no END AS customer_name,
    CASE WHEN r_named < .7 THEN 'cust-' || customer_no END AS customer_id,
    CASE country WHEN 'GB' THEN 'GBP' WHEN 'US' THEN 'USD' ELSE 'EUR' END AS currency,
    CASE country WHEN 'DE' THEN 'Berlin' WHEN 'FR' THEN 'Lyon' WHEN 'NL' THEN 'Utrecht'
      WHEN 'GB' THEN 'Leeds' ELSE 'Austin' END AS city,
    CASE WHEN status IN ('booked','partially_shipped','shipped','delivered')
           OR (status = 'on_hold' AND r_split < .5)
         THEN 'SO-' || (4000000 + i) END AS erp_order_ref,
    CASE WHEN r_case < .05 THEN 'CASE-' || lpad(i::text, 8, '0') END AS case_id,
    status = 'delivered' AND r_return < .15 AS has_return,
    n_lines > 1 AND r_split < .85 AS split,
    r_amend < .05 AND status NOT IN ('placed', 'cancelled') AS amended,
    left(md5(order_id::text), 10) AS short_id
  FROM status AS t
)
SELECT a.*, li.lines_doc, li.lines_placed, li.total, li.lines_text,
  ARRAY['order.placed']
  || CASE WHEN amended THEN ARRAY['order.amended'] ELSE '{{}}'::text[] END
  || CASE status
       WHEN 'placed' THEN '{{}}'::text[]
       WHEN 'reserved' THEN ARRAY['inventory.reserved']
       WHEN 'backordered' THEN ARRAY['order.backordered']
       WHEN 'booked' THEN ARRAY['inventory.reserved', 'order.booked', 'payment.captured']
       WHEN 'partially_shipped' THEN ARRAY['inventory.reserved', 'order.booked',
         'payment.captured', 'shipment.dispatched']
       WHEN 'shipped' THEN ARRAY['inventory.reserved', 'order.booked', 'payment.captured']
         || array_fill('shipment.dispatched'::text, ARRAY[CASE WHEN split THEN n_lines ELSE 1 END])
       WHEN 'delivered' THEN ARRAY['inventory.reserved', 'order.booked', 'payment.captured']
         || array_remove(string_to_array(repeat('shipment.dispatched,shipment.delivered,',
              CASE WHEN split THEN n_lines ELSE 1 END), ','), '')
         || CASE WHEN has_return THEN ARRAY['return.requested', 'return.authorized',
              'return.received', 'return.inspected', 'refund.issued', 'return.closed']
            ELSE '{{}}'::text[] END
       WHEN 'on_hold' THEN CASE WHEN erp_order_ref IS NOT NULL
         THEN ARRAY['inventory.reserved', 'order.booked', 'order.held']
         ELSE ARRAY['inventory.reserved', 'payment.failed'] END
       WHEN 'cancelled' THEN ARRAY['inventory.reserved', 'order.cancelled', 'payment.voided']
     END
  || CASE WHEN case_id IS NOT NULL THEN ARRAY['case.linked', 'case.updated', 'case.updated']
     ELSE '{{}}'::text[] END AS path,
  0.6 + r_pace AS pace
FROM attrs AS a
CROSS JOIN LATERAL (
  SELECT
    jsonb_agg(jsonb_build_object('sku', sku, 'quantity', q, 'unit_price', price::text,
      'reserved', CASE WHEN a.status IN ('reserved', 'booked', 'on_hold') THEN q
                       WHEN a.status = 'partially_shipped' AND l > 1 THEN q ELSE 0 END,
      'shipped', CASE WHEN a.status IN ('shipped', 'delivered') THEN q
                      WHEN a.status = 'partially_shipped' AND l = 1 THEN q ELSE 0 END,
      'returned', CASE WHEN a.has_return AND l = 1 THEN 1 ELSE 0 END) ORDER BY l) AS lines_doc,
    jsonb_agg(jsonb_build_object('sku', sku, 'quantity', q, 'unit_price', price::text)
      ORDER BY l) AS lines_placed,
    sum(q * price) AS total,
    string_agg(q || ' × ' || sku, ', ' ORDER BY l) AS lines_text
  FROM (
    SELECT l,
      'SKU-' || lpad((1 + abs(hashtext(a.order_id::text || l)) % 5000)::text, 5, '0') AS sku,
      CASE WHEN random() < .7 THEN 1 WHEN random() < .7 THEN 2 ELSE 3 + floor(random() * 3)::int
      END AS q,
      round((4.99 + random() * 195)::numeric, 2) AS price
    FROM generate_series(1, a.n_lines) AS l
  ) AS x
) AS li
"""


def _timeline_sql(anchor: datetime) -> str:
    a = f"{_q(anchor.isoformat())}::timestamptz"
    return f"""
INSERT INTO timeline_entries
  (order_id, aggregate_version, event_id, at, source, kind, title, detail, correlation_id)
SELECT e.order_id, e.seq, md5(e.order_id::text || '/event/' || e.seq)::uuid, e.at, k.source,
  e.kind,
  format(k.title, e.channel_order_ref, e.channel, e.lines_text, e.total::text, e.currency,
         e.erp_order_ref, e.case_id, e.short_id),
  CASE e.kind
    WHEN 'order.placed' THEN jsonb_build_object('channel', e.channel,
      'channel_order_ref', e.channel_order_ref, 'customer', jsonb_build_object(
        'id', e.customer_id, 'email', e.customer_email, 'name', e.customer_name),
      'currency', e.currency, 'total', e.total::text, 'lines', e.lines_placed,
      'payment_reference', 'pay_' || e.short_id, 'payment_amount', e.total::text,
      'allow_backorder', false, 'order_status', 'placed')
    WHEN 'order.booked' THEN jsonb_build_object('erp_order_ref', e.erp_order_ref,
      'order_status', 'booked')
    WHEN 'shipment.dispatched' THEN jsonb_build_object('shipment_id', 'S-' || e.short_id,
      'location', 'dc-east', 'carrier', 'UPS', 'tracking_number', '1Z' || e.short_id,
      'lines', e.lines_placed, 'dispatched_at', {_RFC3339.format("e.at")})
    WHEN 'case.linked' THEN jsonb_build_object('case_id', e.case_id)
    WHEN 'case.updated' THEN jsonb_build_object('case_id', e.case_id, 'status', 'in_progress',
      'note', 'customer asked about the parcel')
    ELSE jsonb_build_object('order_status', e.status)
  END,
  'req-' || left(md5(e.order_id::text || '/corr/' || e.seq), 16)
FROM (
  SELECT g.*, p.kind, p.seq,
    least(g.created_at + (sum(k.delay) OVER (PARTITION BY g.order_id ORDER BY p.seq))
      * g.pace * interval '1 minute', {a}) AS at
  FROM gen AS g
  CROSS JOIN LATERAL unnest(g.path) WITH ORDINALITY AS p(kind, seq)
  JOIN kinds AS k ON k.kind = p.kind
) AS e
JOIN kinds AS k ON k.kind = e.kind
ORDER BY e.at, e.order_id, e.seq
"""


def _views_sql() -> str:
    return f"""
INSERT INTO order_views (order_id, version, channel, channel_order_ref, status, customer_email,
  erp_order_ref, created_at, last_event_at, document)
SELECT g.order_id, t.version, g.channel, g.channel_order_ref, g.status, g.customer_email,
  g.erp_order_ref, g.created_at, t.last_at,
  jsonb_build_object(
    'id', g.order_id, 'channel', g.channel, 'channel_order_ref', g.channel_order_ref,
    'status', g.status, 'version', t.version, 'currency', g.currency, 'total', g.total::text,
    'customer', jsonb_build_object('id', g.customer_id, 'email', g.customer_email,
      'name', g.customer_name),
    'shipping_address', jsonb_build_object('name', g.customer_name,
      'line1', (10 + g.i % 190) || ' Harbour Street', 'line2', NULL, 'city', g.city,
      'postal_code', lpad((g.i % 99999)::text, 5, '0'), 'country', g.country),
    'allow_backorder', g.status = 'backordered',
    'lines', g.lines_doc,
    'payment', jsonb_build_object(
      'status', CASE WHEN g.has_return THEN 'partially_refunded'
        WHEN g.status = 'cancelled' THEN 'voided'
        WHEN 'payment.failed' = ANY (g.path) THEN 'failed'
        WHEN 'payment.captured' = ANY (g.path) THEN 'captured' ELSE 'authorized' END,
      'reference', 'pay_' || g.short_id, 'authorized', g.total::text,
      'captured', CASE WHEN 'payment.captured' = ANY (g.path) THEN g.total::text
        ELSE '0.00' END,
      'refunded', CASE WHEN g.has_return THEN (g.lines_placed -> 0 ->> 'unit_price')
        ELSE '0.00' END),
    'erp_order_ref', g.erp_order_ref,
    'returns', CASE WHEN g.has_return THEN jsonb_build_array(jsonb_build_object(
        'id', md5(g.order_id::text || '/return')::uuid, 'status', 'closed'))
      ELSE '[]'::jsonb END,
    'case_ids', CASE WHEN g.case_id IS NULL THEN '[]'::jsonb
      ELSE jsonb_build_array(g.case_id) END,
    'created_at', {_RFC3339.format("g.created_at")},
    'updated_at', {_RFC3339.format("t.last_at")})
FROM gen AS g
JOIN (
  SELECT order_id, max(at) AS last_at, max(aggregate_version) AS version
  FROM timeline_entries GROUP BY order_id
) AS t USING (order_id)
ORDER BY t.last_at, g.order_id
"""


def _orders_sql() -> str:
    """The write side's `orders` rows (GET /v1/orders/{id} reads them), in the shape of
    adapters/sql/order_record.py: lookup columns plus the JSON state. Reservations, shipments and
    returns are left empty: the order read renders them, but their shape does not change the cost
    of the primary-key lookup that is measured."""
    return f"""
INSERT INTO orders (id, channel, channel_order_ref, status, version, created_at, updated_at,
  next_hold_expiry, state)
SELECT g.order_id, g.channel, g.channel_order_ref, g.status, v.version, g.created_at,
  v.last_event_at, NULL,
  jsonb_build_object(
    'customer', v.document -> 'customer', 'shipping_address', v.document -> 'shipping_address',
    'currency', g.currency,
    'lines', (SELECT jsonb_agg(jsonb_build_object('sku', l ->> 'sku',
      'quantity', (l ->> 'quantity')::int, 'unit_price', l ->> 'unit_price',
      'shipped', (l ->> 'shipped')::int)) FROM jsonb_array_elements(g.lines_doc) AS l),
    'shipping_amount', '0.00',
    'payment', v.document -> 'payment',
    'allow_backorder', g.status = 'backordered', 'erp_order_ref', g.erp_order_ref,
    'reservations', '[]'::jsonb, 'shipments', '[]'::jsonb, 'returns', '[]'::jsonb,
    'case_ids', v.document -> 'case_ids',
    'hold_reason', CASE WHEN g.status = 'on_hold' THEN 'address check' END,
    'held_at', CASE WHEN g.status = 'on_hold' THEN {_RFC3339.format("v.last_event_at")} END,
    'resume_to', CASE WHEN g.status = 'on_hold' THEN 'booked' END,
    'replacement_for_return_id', NULL)
FROM gen AS g
JOIN order_views AS v USING (order_id)
ORDER BY g.created_at
"""


#: One published outbox row per order at the view's version: the order read (read-your-writes)
#: compares the view's version with the newest event of the order in the outbox. Production keeps
#: every event (~8 per order); one per order gives the same index lookup on a smaller index.
_OUTBOX_SQL = """
INSERT INTO outbox (event_id, event_type, schema_version, aggregate_type, aggregate_id,
  aggregate_version, occurred_at, correlation_id, causation_id, actor, payload, published_at)
SELECT md5(v.order_id::text || '/last-event')::uuid, 'BulkLoaded', 1, 'order', v.order_id::text,
  v.version, v.last_event_at, 'bulk-load', NULL, 'bench', '{}'::jsonb, v.last_event_at
FROM order_views AS v
ORDER BY v.last_event_at
"""


_CASES_SQL = """
INSERT INTO order_view_cases (case_id, order_id)
SELECT case_id, order_id FROM gen WHERE case_id IS NOT NULL ORDER BY order_id
"""


async def load(
    database: str,
    orders: int,
    *,
    seed: float = 0.42,
    anchor: datetime | None = None,
    write_side: bool = False,
) -> LoadReport:
    """Generate `orders` orders into the migrated, empty `database`; VACUUM ANALYZE afterwards.
    `write_side` also fills the `orders` table (for GET /v1/orders/{id} through the API)."""
    anchor = anchor or datetime.now(UTC).replace(second=0, microsecond=0)
    report = LoadReport(orders=orders)
    conn = await connect(database)
    try:
        for setting in (
            "max_parallel_workers_per_gather = 0",  # setseed() does not reach parallel workers
            "work_mem = '256MB'",
            "maintenance_work_mem = '256MB'",
            "synchronous_commit = off",
            "jit = off",  # compiling the generator's expressions costs more than running them
        ):
            await conn.execute(f"SET {setting}")
        await conn.execute("SELECT setseed($1)", seed)
        steps: list[tuple[str, str]] = [
            ("generate", _gen0_sql(orders)),
            ("kinds", "CREATE TEMP TABLE kinds (kind text, source text, delay float8, title text)"),
            ("kinds", f"INSERT INTO kinds VALUES {_kinds_values()}"),
            ("generate", _gen_sql(orders, f"seed-{seed}", anchor)),
            ("timeline_entries", _timeline_sql(anchor)),
            ("order_views", _views_sql()),
            ("order_view_cases", _CASES_SQL),
        ]
        if write_side:
            steps += [("orders", _orders_sql()), ("outbox", _OUTBOX_SQL)]
        dropped = await _drop_indexes(conn, ("timeline_entries", "order_views"))
        for name, sql in steps:
            started = time.perf_counter()
            await conn.execute(sql)
            report.steps[name] = report.steps.get(name, 0.0) + time.perf_counter() - started
        started = time.perf_counter()
        for statement in dropped:
            await conn.execute(statement)
        report.steps["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        tables = ("order_views", "order_view_cases", "timeline_entries")
        for table in (*tables, "orders", "outbox") if write_side else tables:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        report.steps["vacuum analyze"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("CHECKPOINT")  # so that the writes do not land in the measurements
        report.steps["checkpoint"] = time.perf_counter() - started

        report.timeline_rows = await conn.fetchval("SELECT count(*) FROM timeline_entries")
        report.cases = await conn.fetchval("SELECT count(*) FROM order_view_cases")
        report.customers = await conn.fetchval(
            "SELECT count(DISTINCT customer_email) FROM order_views"
        )
        report.heavy_customer_orders = await conn.fetchval(
            "SELECT count(*) FROM order_views WHERE customer_email = $1", HEAVY_CUSTOMER
        )
        report.statuses = {
            r["status"]: r["n"]
            for r in await conn.fetch(
                "SELECT status, count(*) AS n FROM order_views GROUP BY status ORDER BY n DESC"
            )
        }
        for table in ("order_views", "order_view_cases", "timeline_entries"):
            report.sizes[table] = await conn.fetchval(
                "SELECT pg_size_pretty(pg_total_relation_size($1::regclass))", table
            )
    finally:
        await conn.close()
    return report


async def _main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    name = await create_database()
    print(f"database {name} created and migrated in {time.perf_counter() - started:.2f} s")
    try:
        report = await load(name, args.orders, seed=args.seed)
        for line in report.lines():
            print(line)
    finally:
        if args.keep:
            print(f"kept: {pg_url(name)}")
        else:
            await drop_database(name)
            print(f"database {name} dropped")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() value in [-1, 1]")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
