"""How long retention's purge blocks place-order (PRODUCT.md §8.7): a database with 1M events
published 60 days ago (each with a finished delivery) and 1M old inbox entries; place-order at a
fixed rate through `orderhub serve` for a while with no purge, then while the retention job's
own code (`application.retention`, the SQL store, its default batches and pauses) deletes them.
Prints both phases' p50 / p99 and the purge's duration and rate.

    .venv/bin/python -m bench.retention [--rows 1000000] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from adapters.clock import SystemClock
from adapters.sql.engine import create_engine
from adapters.sql.retention import SqlRetentionStore
from application.retention import Retention, RetentionPolicy
from bench.payloads import STOCK_SQL
from bench.place_order import fixed_rate
from bench.processes import Database, Processes

FILL = """
INSERT INTO outbox (event_id, event_type, schema_version, aggregate_type, aggregate_id,
                    aggregate_version, occurred_at, correlation_id, actor, payload, published_at)
SELECT gen_random_uuid(), 'OrderNoteAdded', 1, 'order', md5(i::text)::uuid::text, 1,
       now() - interval '60 days', 'bench', 'bench', '{{}}'::jsonb, now() - interval '60 days'
FROM generate_series(1, {rows}) AS i;
INSERT INTO deliveries (event_id, consumer, attempts, due_at, processed_at)
SELECT event_id, 'projection', 1, published_at, published_at FROM outbox;
INSERT INTO inbox (consumer, message_id, processed_at)
SELECT 'inbound:erp', 'old-' || i, now() - interval '60 days' FROM generate_series(1, {rows}) AS i;
ANALYZE outbox; ANALYZE deliveries; ANALYZE inbox;
"""


async def purge(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        job = Retention(
            SqlRetentionStore(engine), SystemClock(), RetentionPolicy(most_batches=10**6)
        )
        started = time.monotonic()
        deleted = await job.run()
        return {"seconds": round(time.monotonic() - started, 1), "deleted": dict(deleted)}
    finally:
        await engine.dispose()


async def main(rows: int, rate: float, seconds: float) -> None:
    db = await Database.create("retention")
    procs = Processes(db.url)
    try:
        await db.execute(STOCK_SQL)
        filled = time.monotonic()
        await db.execute(FILL.format(rows=rows))
        print(f"filled {rows:,} events, deliveries and inbox entries in "
              f"{time.monotonic() - filled:.0f} s", flush=True)  # fmt: skip
        key = procs.key("channel", "web")
        url = procs.serve("api")
        fixed_rate(url, key, rate, 3, "retention-warm")
        quiet = await asyncio.to_thread(fixed_rate, url, key, rate, seconds, "retention-quiet")
        purging = asyncio.create_task(purge(db.url))
        during: list[dict[str, Any]] = []
        while not purging.done():
            during.append(await asyncio.to_thread(fixed_rate, url, key, rate, seconds,
                                                  f"retention-purge-{len(during)}"))  # fmt: skip
        done = await purging
        left = await db.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at < now() - interval '30 days'"
        )
        print(
            f"purge: {done['deleted']} in {done['seconds']} s "
            f"({rows / max(done['seconds'], 0.1):,.0f} events/s); old events left {left}"
        )
        print(
            f"place-order at {rate:.0f}/s, no purge: p50 {quiet['p50_ms']} p99 {quiet['p99_ms']} ms, "
            f"non-2xx {quiet['non_2xx']}"
        )
        for i, r in enumerate(during):
            print(
                f"place-order at {rate:.0f}/s during the purge ({i + 1}): p50 {r['p50_ms']} "
                f"p99 {r['p99_ms']} ms, max {r.get('max_ms')} ms, non-2xx {r['non_2xx']}"
            )
    finally:
        procs.close()
        await db.drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.rate, args.seconds))
