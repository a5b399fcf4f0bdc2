"""The projection catches an order up to everything committed; the deliveries of the events it
applied along the way are then done, so their own messages cost one lookup, not a projection,
and the relay sends the projection only the newest event of an order in a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest
import redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox_store import message_of
from adapters.sql.schema import deliveries, outbox
from domain import commands as c
from entrypoints.container import CONSUMERS
from outbox.delivery import Outcome
from outbox.relay import Relay
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.delivery.conftest import build_pipeline


async def order_messages(engine: AsyncEngine) -> list[dict[str, Any]]:
    """The messages of the outbox's order events, oldest first."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox)
                .where(outbox.c.aggregate_type == "order")
                .order_by(outbox.c.aggregate_version)
            )
        ).all()
    return [message_of(row) for row in rows]


async def test_the_second_event_of_a_command_is_done_once_the_first_is_projected(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis
) -> None:
    hub = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    try:
        await hub.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=5, sequence=1))
        await hub.run(PlaceOrderFactory(lines=[LineSpecFactory(sku="MUG", quantity=1)]))
        await hub.relay_until_quiet()
        engine = hub.api.engine()
        placed, reserved = await order_messages(engine)
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
        view = await hub.api.read_models().order(UUID(placed["aggregate_id"]))
        assert view is not None
        assert view.version == 2
    finally:
        await hub.api.engine().dispose()
        await hub.worker_side.engine().dispose()


class Recording:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, outgoing: Sequence[tuple[str, dict[str, Any]]]) -> None:
        self.sent += outgoing


async def test_the_relay_sends_the_projection_only_the_newest_event_of_an_order_in_a_batch(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis
) -> None:
    hub = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    try:
        api = hub.api
        await hub.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=5, sequence=1))
        order_ids = [
            await hub.run(PlaceOrderFactory(lines=[LineSpecFactory(sku="MUG", quantity=1)]))
            for _ in range(2)
        ]
        broker = Recording()
        relay = Relay(api.outbox_store(), broker, CONSUMERS, api.clock())
        assert CONSUMERS.newest_only == {"projection"}
        assert await relay.relay_once() == 5  # the snapshot; OrderPlaced + InventoryReserved x2

        to_projection = [m for consumer, m in broker.sent if consumer == "projection"]
        assert sorted((m["aggregate_id"], m["event_type"]) for m in to_projection) == sorted(
            (str(order_id), "InventoryReserved") for order_id in order_ids
        )
        to_fulfilment = [m["event_type"] for consumer, m in broker.sent if consumer == "fulfilment"]
        assert to_fulfilment == ["InventoryReserved", "InventoryReserved"]

        async def projection_deliveries(done: bool) -> int:
            processed = deliveries.c.processed_at
            query = select(func.count()).where(
                deliveries.c.consumer == "projection",
                processed.is_not(None) if done else processed.is_(None),
            )
            async with api.engine().connect() as conn:
                return int(await conn.scalar(query) or 0)

        assert await projection_deliveries(done=False) == 4  # every delivery is recorded
        for message in to_projection:
            assert (await hub.worker_side.delivery().deliver("projection", message)).outcome is (
                Outcome.DONE
            )
        assert await projection_deliveries(done=False) == 0
        assert await projection_deliveries(done=True) == 4
    finally:
        await hub.api.engine().dispose()
        await hub.worker_side.engine().dispose()


@pytest.mark.parametrize("newest_done_meanwhile", [False, True])
async def test_events_projected_before_the_relay_recorded_them_are_done_with_the_newest(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis, newest_done_meanwhile: bool
) -> None:
    """A catch-up can apply an event before the relay records its delivery; if the relay then
    sends only the order's newest event, that message stands for the earlier one (`covers`), and
    handling it finishes both. Without it the earlier delivery stayed open until its due time
    (and for good where nothing publishes again, as in the demo). The same when another catch-up
    finished the newest event's delivery meanwhile and its message arrives as a duplicate."""
    hub = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    try:
        api = hub.api
        await hub.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=5, sequence=1))
        await hub.relay_until_quiet()
        await hub.run(PlaceOrderFactory(lines=[LineSpecFactory(sku="MUG", quantity=1)]))
        placed, reserved = await order_messages(api.engine())
        delivery = hub.worker_side.delivery()
        # An early message (e.g. published again by hand) projects the order: both events are
        # applied while neither delivery is recorded yet.
        assert (await delivery.deliver("projection", placed)).outcome is Outcome.DONE

        broker = Recording()
        relay = Relay(api.outbox_store(), broker, CONSUMERS, api.clock())
        assert await relay.relay_once() == 2
        to_projection = [m for consumer, m in broker.sent if consumer == "projection"]
        assert [m["event_id"] for m in to_projection] == [reserved["event_id"]]
        assert to_projection[0]["covers"] == [placed["event_id"]]
        to_fulfilment = [m for consumer, m in broker.sent if consumer == "fulfilment"]
        assert "covers" not in to_fulfilment[0]  # the other consumers' message is not touched

        expected = Outcome.DONE
        if newest_done_meanwhile:
            async with api.engine().begin() as conn:
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.event_id == UUID(reserved["event_id"]))
                    .values(processed_at=func.now())
                )
            expected = Outcome.DUPLICATE
        assert (await delivery.deliver("projection", to_projection[0])).outcome is expected
        async with api.engine().connect() as conn:
            open_ = await conn.scalar(
                select(func.count()).where(
                    deliveries.c.consumer == "projection", deliveries.c.processed_at.is_(None)
                )
            )
        assert open_ == 0
    finally:
        await hub.api.engine().dispose()
        await hub.worker_side.engine().dispose()
