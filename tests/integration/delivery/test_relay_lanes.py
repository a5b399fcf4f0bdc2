"""The relay keeps two batches in flight on PostgreSQL: while one lane waits for the broker, the
other claims the next batch. `SKIP LOCKED` must keep their rows apart, so every event is still
published exactly once to each of its consumers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import outbox
from domain import commands as c
from entrypoints.container import CONSUMERS
from outbox.relay import Relay, RelaySettings
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.delivery.conftest import build_pipeline


class SlowBroker:
    """Takes a while per batch, like a broker round trip, and remembers how many batches were
    being published at the same time."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.most_in_flight = 0

    def publish(self, outgoing: Sequence[tuple[str, dict[str, Any]]]) -> None:
        with self._lock:
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)
        time.sleep(0.02)
        with self._lock:
            self._in_flight -= 1
            self.published += [(consumer, m["event_id"]) for consumer, m in outgoing]


async def test_two_lanes_publish_every_event_once_to_each_consumer(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis
) -> None:
    hub = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    try:
        await hub.run(
            c.ApplyStockSnapshot(sku="SKU-1", location="dc-east", on_hand=100, sequence=1)
        )
        for _ in range(40):
            await hub.run(PlaceOrderFactory(lines=[LineSpecFactory(sku="SKU-1")]))
        broker = SlowBroker()
        api = hub.api
        relay = Relay(api.outbox_store(), broker, CONSUMERS, api.clock(),
                      RelaySettings(batch_size=5, lanes=2))  # fmt: skip
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        async with api.engine().connect() as conn:
            query = select(func.count()).where(outbox.c.published_at.is_(None))
            deadline = time.monotonic() + 30
            while (await conn.scalar(query)) and time.monotonic() < deadline:
                await conn.commit()
                await asyncio.sleep(0.05)
            events = (
                await conn.execute(
                    select(outbox.c.event_id, outbox.c.event_type, outbox.c.aggregate_id)
                )
            ).all()
        stop.set()
        await running

        # Every consumer but those sent an order's newest event of a batch: each event once.
        expected = Counter(
            (consumer, str(e.event_id))
            for e in events
            for consumer in CONSUMERS.consumers_of(e.event_type)
            if consumer not in CONSUMERS.newest_only
        )
        assert len(events) >= 81  # the stock snapshot; per order, OrderPlaced and its reservation
        published = Counter(broker.published)
        assert +Counter({k: n for k, n in published.items() if k[0] != "projection"}) == expected
        # The projection: at least one message per order, never one event twice.
        to_projection = [e for consumer, e in broker.published if consumer == "projection"]
        order_of = {str(e.event_id): e.aggregate_id for e in events}
        assert len(to_projection) == len(set(to_projection))
        assert {order_of[e] for e in to_projection} == {
            e.aggregate_id for e in events if "projection" in CONSUMERS.consumers_of(e.event_type)
        }
        assert broker.most_in_flight == 2
    finally:
        await hub.api.engine().dispose()
