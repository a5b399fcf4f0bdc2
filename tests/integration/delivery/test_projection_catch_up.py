"""The projection catches an order up to everything committed; the deliveries of the events it
applied along the way are then done, so their own messages cost one lookup, not a projection."""

from __future__ import annotations

from uuid import UUID

import redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import deliveries, outbox
from domain import commands as c
from outbox.delivery import Outcome
from outbox.messages import message_from_row
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.delivery.conftest import build_pipeline


async def test_the_second_event_of_a_command_is_done_once_the_first_is_projected(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis
) -> None:
    hub = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    try:
        await hub.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=5, sequence=1))
        await hub.run(PlaceOrderFactory(lines=[LineSpecFactory(sku="MUG", quantity=1)]))
        await hub.relay_until_quiet()
        engine = hub.api.engine()
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox)
                    .where(outbox.c.aggregate_type == "order")
                    .order_by(outbox.c.aggregate_version)
                )
            ).all()
        placed, reserved = (message_from_row(row) for row in rows)
        assert (placed["event_type"], reserved["event_type"]) == (
            "OrderPlaced",
            "InventoryReserved",
        )
        delivery = hub.worker_side.delivery()

        assert (await delivery.deliver("projection", placed)).outcome is Outcome.DONE
        async with engine.connect() as conn:
            done = (
                await conn.execute(
                    select(deliveries.c.event_id).where(
                        deliveries.c.consumer == "projection",
                        deliveries.c.processed_at.is_not(None),
                    )
                )
            ).scalars()
            assert {str(e) for e in done} == {placed["event_id"], reserved["event_id"]}
        assert (await delivery.deliver("projection", reserved)).outcome is Outcome.DUPLICATE
        view = await hub.api.read_models().order(UUID(rows[0].aggregate_id))
        assert view is not None
        assert view.version == 2
    finally:
        await hub.api.engine().dispose()
        await hub.worker_side.engine().dispose()
