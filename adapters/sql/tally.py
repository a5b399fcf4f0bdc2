"""Everything the demo's summary counts, read in SQL: every order as it stands, every order's
events, and the outbox's, deliveries' and dead letters' totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.order_record import order_from_row
from adapters.sql.schema import dead_letters, deliveries, inbound_deferred, orders, outbox
from domain.order import Order


@dataclass
class Tally:
    orders: list[Order] = field(default_factory=list)
    #: order id -> its events in stream order, as (event type, payload)
    order_events: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    events_written: int = 0
    events_relayed: int = 0
    deliveries_processed: int = 0
    deliveries_repeated: int = 0  #: attempted more than once
    dead_letters: int = 0
    inbound_waiting: int = 0


async def tally(engine: AsyncEngine) -> Tally:
    found = Tally()
    async with engine.connect() as conn:
        found.orders = [order_from_row(row) for row in await conn.execute(select(orders))]
        events = await conn.execute(
            select(outbox.c.aggregate_id, outbox.c.event_type, outbox.c.payload)
            .where(outbox.c.aggregate_type == "order")
            .order_by(outbox.c.aggregate_id, outbox.c.aggregate_version)
        )
        for row in events:
            found.order_events.setdefault(row.aggregate_id, []).append(
                (row.event_type, row.payload)
            )
        d = deliveries.c
        found.events_written = await _count(conn, select(func.count()).select_from(outbox))
        found.events_relayed = await _count(
            conn, select(func.count()).where(outbox.c.published_at.is_not(None))
        )
        found.deliveries_processed = await _count(
            conn, select(func.count()).where(d.processed_at.is_not(None))
        )
        found.deliveries_repeated = await _count(conn, select(func.count()).where(d.attempts > 1))
        found.dead_letters = await _count(conn, select(func.count()).select_from(dead_letters))
        found.inbound_waiting = await _count(
            conn, select(func.count()).select_from(inbound_deferred)
        )
    return found


async def _count(conn: AsyncConnection, query: Any) -> int:
    return int((await conn.execute(query)).scalar_one())
