"""What the stuck-workflow gauge's counts cost on PostgreSQL (entrypoints/metrics.py,
`STUCK_SPACING`): N returns received 10 days ago, one in 1,000 still not refunded, in a database of
their own; five reads of `Operations.stuck_counts`, each timed.

    .venv/bin/python -m bench.stuck_counts 100000
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from adapters.clock import FixedClock
from adapters.sql.engine import create_engine
from adapters.sql.operations_reader import SqlOperationsReader
from adapters.sql.schema import order_views, timeline_entries
from read_models.operations import Operations
from tests.integration.databases import postgres_database

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
NOW = datetime(2026, 12, 8, tzinfo=UTC)


async def main(url: str) -> None:
    engine = create_engine(url)
    old = NOW - timedelta(days=10)
    batch = 5000
    for start in range(0, N, batch):
        views, entries = [], []
        for i in range(start, min(N, start + batch)):
            oid, rid = uuid.uuid4(), str(uuid.uuid4())
            status = "received" if i % 1000 == 0 else "refunded"
            views.append(
                {
                    "order_id": oid,
                    "version": 5,
                    "channel": "web",
                    "channel_order_ref": f"W{i}",
                    "status": "delivered",
                    "customer_email": "a@example.com",
                    "erp_order_ref": None,
                    "created_at": old,
                    "last_event_at": old,
                    "document": {"returns": []},
                    "return_documents": {rid: {"id": rid, "status": status}},
                }
            )
            entries.append(
                {
                    "order_id": oid,
                    "aggregate_version": 4,
                    "event_id": uuid.uuid4(),
                    "at": old,
                    "source": "warehouse",
                    "kind": "return.received",
                    "title": "t",
                    "detail": {"return_id": rid},
                    "correlation_id": "c",
                }
            )
        async with engine.begin() as conn:
            await conn.execute(insert(order_views), views)
            await conn.execute(insert(timeline_entries), entries)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    ops = Operations(SqlOperationsReader(engine), FixedClock(NOW))
    times = []
    for _ in range(5):
        t = time.perf_counter()
        counts = await ops.stuck_counts(NOW)
        times.append(time.perf_counter() - t)
    print(f"{N} returns received: {counts}; ms per read: {[round(x * 1000, 1) for x in times]}")
    await engine.dispose()


if __name__ == "__main__":
    with postgres_database() as url:
        asyncio.run(main(url))
