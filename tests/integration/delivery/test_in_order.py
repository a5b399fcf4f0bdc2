"""An in-order consumer gets one aggregate's events in stream order, whatever order the broker
hands them over in; the others run as they come. On the real PostgreSQL, no worker: the test
delivers the relayed messages itself, the later one first."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox_store import message_of
from adapters.sql.schema import deliveries, outbox
from domain import commands as c
from outbox.delivery import Delivery, Outcome
from outbox.policy import DeliveryPolicy
from ports.outbox import EventEnvelope
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.delivery.conftest import Pipeline, build_pipeline


class Recorder:
    """Remembers what it was given, in the order it was given."""

    name: ClassVar[str] = "fulfilment"  # a consumer the relay publishes to
    subscribes: ClassVar[frozenset[str]] = frozenset()
    in_order: ClassVar[bool] = True

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, envelope: EventEnvelope) -> None:
        self.seen.append(envelope.aggregate_version)


class Careless(Recorder):
    in_order = False


@pytest.fixture
async def relayed(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis
) -> AsyncIterator[tuple[Pipeline, list[dict[str, Any]]]]:
    """An order placed, cancelled and relayed: the fulfilment consumer's messages, in stream
    order."""
    built = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    try:
        await built.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=5, sequence=1))
        order_id = await built.run(
            PlaceOrderFactory(
                lines=(LineSpecFactory(sku="MUG", quantity=1, unit_price=Decimal("9")),)
            )
        )
        await built.run(c.CancelOrder(order_id=order_id))
        await built.relay_until_quiet()
        query = (
            select(outbox)
            .join(deliveries, deliveries.c.event_id == outbox.c.event_id)
            .where(outbox.c.aggregate_id == str(order_id), deliveries.c.consumer == "fulfilment")
            .order_by(outbox.c.aggregate_version)
        )
        async with built.api.engine().connect() as conn:
            messages = [message_of(row) for row in await conn.execute(query)]
        assert len(messages) >= 2, "reserved, then cancelled"
        yield built, messages
    finally:
        await built.api.engine().dispose()


def delivery(pipeline: Pipeline, consumer: Recorder) -> Delivery:
    return Delivery(
        {consumer.name: consumer},
        pipeline.api.delivery_log(),
        pipeline.api.codec(),
        pipeline.api.clock(),
        DeliveryPolicy(),
        random.Random(7),
    )


async def attempts_of(pipeline: Pipeline, message: dict[str, Any]) -> int:
    query = select(deliveries.c.attempts).where(
        deliveries.c.event_id == message["event_id"], deliveries.c.consumer == "fulfilment"
    )
    async with pipeline.api.engine().connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_a_later_event_waits_for_the_earlier_one_without_spending_an_attempt(
    relayed: tuple[Pipeline, list[dict[str, Any]]],
) -> None:
    pipeline, (first, second, *_) = relayed
    recorder = Recorder()
    deliver = delivery(pipeline, recorder)

    waited = await deliver.deliver(recorder.name, second)
    assert waited.outcome is Outcome.WAIT
    assert 50 <= waited.delay_ms <= 250  # the earlier one is merely in flight: soon
    assert recorder.seen == []
    assert await attempts_of(pipeline, second) == 0

    assert (await deliver.deliver(recorder.name, first)).outcome is Outcome.DONE
    assert (await deliver.deliver(recorder.name, second)).outcome is Outcome.DONE
    assert recorder.seen == [first["aggregate_version"], second["aggregate_version"]]


async def test_a_failing_earlier_event_is_waited_for_until_its_next_retry(
    relayed: tuple[Pipeline, list[dict[str, Any]]],
) -> None:
    pipeline, (first, second, *_) = relayed
    policy = DeliveryPolicy()
    first_id = UUID(first["event_id"])
    # The earlier event ran, failed (the ERP is down) and is due for its next try in 10 s.
    now = pipeline.api.clock().now()
    await pipeline.api.delivery_log().start(first_id, "fulfilment", now, now + policy.lease)
    next_try = pipeline.api.clock().now() + timedelta(seconds=10)
    await pipeline.api.delivery_log().postpone(
        first_id, "fulfilment", next_try + policy.redelivery_timeout, "RemoteUnavailable: ERP"
    )
    recorder = Recorder()
    waited = await delivery(pipeline, recorder).deliver(recorder.name, second)
    assert waited.outcome is Outcome.WAIT
    assert 9_000 < waited.delay_ms <= 10_250  # not polled in a tight loop
    assert recorder.seen == []


async def test_a_dead_earlier_event_does_not_block_the_later_ones(
    relayed: tuple[Pipeline, list[dict[str, Any]]],
) -> None:
    pipeline, (first, second, *_) = relayed
    await pipeline.api.delivery_log().bury(
        first, "fulfilment", 1, "permanent", "RemoteRejected: 422", pipeline.api.clock().now()
    )
    recorder = Recorder()
    assert (await delivery(pipeline, recorder).deliver(recorder.name, second)).outcome is (
        Outcome.DONE
    )
    assert recorder.seen == [second["aggregate_version"]]


async def test_a_consumer_that_needs_no_order_takes_events_as_they_come(
    relayed: tuple[Pipeline, list[dict[str, Any]]],
) -> None:
    pipeline, (first, second, *_) = relayed
    careless = Careless()
    deliver = delivery(pipeline, careless)
    assert (await deliver.deliver(careless.name, second)).outcome is Outcome.DONE
    assert (await deliver.deliver(careless.name, first)).outcome is Outcome.DONE
    assert careless.seen == [second["aggregate_version"], first["aggregate_version"]]
