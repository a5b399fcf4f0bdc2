"""Relay throughput from a pre-filled outbox, with one and with two `orderhub relay` processes,
and the projection consumer's throughput in `orderhub worker` on the events the relay published.

The outbox is filled in SQL with OrderPlaced + InventoryReserved pairs whose columns and payloads
have the shape orderhub writes for a one-line order (as `python -m bench.capture_sql` shows).
Relay rate = events / (last published_at - first published_at), from the database.

Projection: after a run of one relay, the broker holds one message per (event, subscribed
consumer). The other consumers' queues (and their delivery rows) are removed, so the worker does
projection work only; `orderhub worker` (8 threads, one process) then runs for a bounded time.
Rate = projection deliveries processed / (last processed_at - first processed_at).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import redis

from bench.processes import BROKER_URL, Database, Processes, flush_broker
from bench.stats import summarize

FILL_SQL = """
INSERT INTO outbox (event_id, event_type, schema_version, aggregate_type, aggregate_id,
  aggregate_version, occurred_at, correlation_id, causation_id, actor, payload)
SELECT md5('event/' || o.i || '/' || v.version)::uuid,
  v.event_type, 1, 'order', o.order_id::text, v.version, o.at,
  md5('corr/' || o.i)::uuid::text, NULL, 'channel:web:bench',
  CASE v.version WHEN 1 THEN jsonb_build_object(
    'order_id', o.order_id, 'channel', 'web', 'channel_order_ref', 'FILL-' || o.i,
    'customer', jsonb_build_object('email', 'bench' || (o.i % 5000) || '@example.com',
      'name', 'Bench Customer', 'id', NULL),
    'shipping_address', jsonb_build_object('name', 'Bench Customer', 'line1', '1 Harbour Street',
      'city', 'Berlin', 'postal_code', '10115', 'country', 'DE', 'line2', NULL),
    'currency', 'EUR', 'lines', jsonb_build_array(jsonb_build_object('sku', o.sku,
      'quantity', 1, 'unit_price', '19.99')),
    'shipping_amount', '0.00', 'total', '19.99', 'payment_reference', 'pay-FILL-' || o.i,
    'payment_amount', '19.99', 'allow_backorder', false, 'replacement_for_return_id', NULL)
  ELSE jsonb_build_object('order_id', o.order_id, 'reservations', jsonb_build_array(
    jsonb_build_object('reservation_id', md5('res/' || o.i)::uuid, 'sku', o.sku,
      'location', 'dc-east', 'quantity', 1)), 'order_status', 'reserved')
  END
FROM (
  SELECT i, md5('order/' || i)::uuid AS order_id,
    'SKU-' || lpad((1 + i % 1000)::text, 5, '0') AS sku,
    now() - interval '1 hour' + i * interval '1 millisecond' AS at
  FROM generate_series(1, {orders}) AS i
) AS o
CROSS JOIN (VALUES (1, 'OrderPlaced'), (2, 'InventoryReserved')) AS v(version, event_type)
ORDER BY o.i, v.version
"""

RESET_SQL = (
    "UPDATE outbox SET published_at = NULL",
    "TRUNCATE deliveries, order_views, order_view_cases, timeline_entries, dead_letters",
    "VACUUM ANALYZE outbox",
)

RATE_SQL = """
SELECT count(*) AS n, extract(epoch FROM max(published_at) - min(published_at)) AS seconds
FROM outbox WHERE published_at IS NOT NULL
"""

PROJECTED_SQL = """
SELECT count(*) AS n, extract(epoch FROM max(processed_at) - min(processed_at)) AS seconds
FROM deliveries WHERE consumer = 'projection' AND processed_at IS NOT NULL
"""


async def _reset(db: Database) -> None:
    flush_broker()
    await db.execute(*RESET_SQL)
    with contextlib.suppress(Exception):  # a table of the read side issue, not in every schema
        await db.execute("TRUNCATE order_view_returns")


async def _relay_run(db: Database, procs: Processes, relays: int, events: int) -> dict[str, Any]:
    await _reset(db)
    rss: dict[str, Any] = {}
    for r in range(relays):
        procs.orderhub(f"relay{r + 1}", "relay")
    time.sleep(1.0)
    rss["start"] = procs.rss()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        left = await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        if left == 0:
            break
        time.sleep(0.25)
    rss["end"] = procs.rss()
    for r in range(relays):
        procs.stop(f"relay{r + 1}")
    row = (await db.fetch(RATE_SQL))[0]
    seconds = float(row["seconds"] or 0) or 1e-3
    return {
        "relays": relays,
        "events": int(row["n"]),
        "complete": int(row["n"]) == events,
        "seconds": round(seconds, 2),
        "events_per_s": round(int(row["n"]) / seconds, 1),
        "rss_mb": rss,
    }


def _keep_projection_queue_only() -> int:
    """Remove every queue but the projection's from the broker; returns its length."""
    r = redis.Redis.from_url(BROKER_URL)
    others = ("orderhub.hub", "orderhub.fulfilment", "orderhub.returns")
    for key in r.keys("*"):
        if any(other in key.decode() for other in others):
            r.delete(key)
    return int(r.llen("orderhub:orderhub.projection"))


async def _projection_run(db: Database, procs: Processes, seconds: float) -> dict[str, Any]:
    queued = _keep_projection_queue_only()
    await db.execute("DELETE FROM deliveries WHERE consumer <> 'projection'")
    total = await db.fetchval("SELECT count(*) FROM deliveries WHERE consumer = 'projection'")
    procs.orderhub("worker", "worker", "--threads", "8")
    time.sleep(1.0)
    rss = {"start": procs.rss()}
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        done = await db.fetchval(
            "SELECT count(*) FROM deliveries WHERE consumer = 'projection' "
            "AND processed_at IS NOT NULL"
        )
        if done >= total:
            break
        time.sleep(0.5)
    rss["end"] = procs.rss()
    procs.stop("worker")
    row = (await db.fetch(PROJECTED_SQL))[0]
    elapsed = float(row["seconds"] or 0) or 1e-3
    views = await db.fetchval("SELECT count(*) FROM order_views")
    return {
        "queued": queued,
        "deliveries": int(total),
        "processed": int(row["n"]),
        "drained": int(row["n"]) >= total,
        "seconds": round(elapsed, 2),
        "events_per_s": round(int(row["n"]) / elapsed, 1),
        "order_views": int(views),
        "dead_letters": int(await db.fetchval("SELECT count(*) FROM dead_letters")),
        "rss_mb": rss,
    }


async def run(quick: bool, runs: int = 3) -> dict[str, Any]:
    orders = 10_000 if quick else 50_000
    events = 2 * orders
    worker_seconds = 15
    db = await Database.create("relay")
    procs = Processes(db.url, LOG_LEVEL="WARNING")
    try:
        await db.execute(FILL_SQL.format(orders=orders), "VACUUM ANALYZE outbox")
        one, two, projection = [], [], []
        for i in range(runs):
            r = await _relay_run(db, procs, 1, events)
            one.append(r)
            print(f"  relay x1 run {i + 1}: {r['events_per_s']} events/s "
                  f"({r['events']} in {r['seconds']} s)", flush=True)  # fmt: skip
            p = await _projection_run(db, procs, worker_seconds)
            projection.append(p)
            print(f"  projection worker run {i + 1}: {p['events_per_s']} events/s "
                  f"({p['processed']}/{p['deliveries']} in {p['seconds']} s, "
                  f"dead {p['dead_letters']})", flush=True)  # fmt: skip
            r = await _relay_run(db, procs, 2, events)
            two.append(r)
            print(f"  relay x2 run {i + 1}: {r['events_per_s']} events/s "
                  f"({r['events']} in {r['seconds']} s)", flush=True)  # fmt: skip
        return {
            "events": events,
            "one_relay": {"summary": summarize(one, ("events_per_s",)), "runs": one},
            "two_relays": {"summary": summarize(two, ("events_per_s",)), "runs": two},
            "projection_worker": {
                "summary": summarize(projection, ("events_per_s",)),
                "runs": projection,
                "bounded_seconds": worker_seconds,
            },
        }
    finally:
        procs.close()
        flush_broker()
        await db.drop()


if __name__ == "__main__":
    import asyncio
    import json
    import sys

    print(json.dumps(asyncio.run(run(quick="--quick" in sys.argv, runs=1)), indent=1))
