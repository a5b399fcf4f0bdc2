"""Delivery under faults, on the real PostgreSQL and Redis: duplicates, lost messages, a poison
message, an ERP outage. Each test says what it counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.remote import InMemoryCommerce, InMemoryErp
from adapters.sql.schema import dead_letters, deliveries
from domain import commands as c
from entrypoints.worker_process import start_worker
from ports.commerce import CommerceStatus
from ports.erp import ErpDecision, ErpOrder
from ports.remote import RemoteRejected
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.delivery.conftest import Pipeline, build_pipeline


def mug_order(quantity: int = 1) -> c.PlaceOrder:
    return PlaceOrderFactory(
        lines=(LineSpecFactory(sku="MUG", quantity=quantity, unit_price=Decimal("9.00")),)
    )


async def status_of(pipeline: Pipeline, order_id: UUID) -> str:
    order = await pipeline.api.lookup().order(order_id)
    assert order is not None
    return order.status.value


async def count(engine: AsyncEngine, query: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_a_message_delivered_twice_has_one_effect(pipeline: Pipeline) -> None:
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=10, sequence=1))
    order_id = await pipeline.run(mug_order())

    async def booked() -> bool:
        return await status_of(pipeline, order_id) == "booked"

    await pipeline.until(booked)
    engine = pipeline.api.engine()
    unfinished = (
        select(func.count()).select_from(deliveries).where(deliveries.c.processed_at.is_(None))
    )

    async def settled() -> bool:  # every event relayed (`until` relays) and every delivery done
        return await count(engine, unfinished) == 0

    await pipeline.until(settled)
    attempts = select(func.sum(deliveries.c.attempts))
    async with engine.connect() as conn:
        rows = (await conn.execute(select(deliveries.c.consumer, deliveries.c.event_id))).all()
        attempted_once = int(await conn.scalar(attempts) or 0)
    # Publish every delivery a second time, as a Dramatiq retry or a redelivery would. (The
    # projection may have had fewer copies the first time: the relay sends it an order's newest
    # event of a batch only, so some of its deliveries have no attempt yet.)
    outbox_messages = await _messages(pipeline, [r.event_id for r in rows])
    pipeline.api.publisher().publish([(r.consumer, outbox_messages[r.event_id]) for r in rows])

    async def all_seen_again() -> bool:
        # An attempt is counted before it runs: every copy taken, and every one finished.
        taken = await count(engine, attempts) - attempted_once
        return taken >= len(rows) and await count(engine, unfinished) == 0

    await pipeline.until(all_seen_again)
    erp = pipeline.worker_side.erp()
    commerce = pipeline.worker_side.commerce()
    assert list(erp.orders) == [order_id]
    assert [u.status for u in commerce.updates.values()] == ["booked"]
    assert await count(engine, select(func.count()).select_from(deliveries)) == len(rows)


async def _messages(pipeline: Pipeline, event_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    from adapters.sql.outbox_store import message_of
    from adapters.sql.schema import outbox

    async with pipeline.api.engine().connect() as conn:
        rows = (await conn.execute(select(outbox).where(outbox.c.event_id.in_(event_ids)))).all()
    return {row.event_id: message_of(row) for row in rows}


@pytest.fixture
async def stopped_worker_pipeline(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis
) -> AsyncIterator[tuple[Pipeline, redis.Redis]]:
    built = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    try:
        yield built, clean_redis
    finally:
        if built.worker is not None:
            built.worker.stop(timeout=5000)
        await built.api.engine().dispose()


async def test_messages_the_broker_lost_are_published_again(
    stopped_worker_pipeline: tuple[Pipeline, redis.Redis],
) -> None:
    pipeline, broker_redis = stopped_worker_pipeline
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=10, sequence=1))
    order_id = await pipeline.run(mug_order())
    relayed = await pipeline.relay_until_quiet()
    assert relayed >= 3
    lost = broker_redis.dbsize()
    broker_redis.flushdb()  # Redis restarted without persistence: every queued message is gone
    assert lost > 0
    pipeline.worker = start_worker(pipeline.worker_side, threads=4)

    async def booked() -> bool:
        await pipeline.api.relay().republish_due()
        return await status_of(pipeline, order_id) == "booked"

    await pipeline.until(booked, timeout=30)
    assert pipeline.api.relay().republished >= 1
    assert list(pipeline.worker_side.erp().orders) == [order_id]


class PoisonedCommerce(InMemoryCommerce):
    """Refuses every update for good until `fixed`."""

    fixed = False

    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        if not self.fixed:
            raise RemoteRejected("422 Unprocessable Entity: order is archived")
        await super().push_status(update, idempotency_key)


async def test_a_poison_message_goes_to_the_dead_letters_and_a_replay_delivers_it(
    stopped_worker_pipeline: tuple[Pipeline, redis.Redis],
) -> None:
    pipeline, _ = stopped_worker_pipeline
    commerce = PoisonedCommerce()
    pipeline.worker_side.commerce.override(commerce)
    pipeline.worker = start_worker(pipeline.worker_side, threads=4)
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=10, sequence=1))
    order_id = await pipeline.run(mug_order())
    engine = pipeline.api.engine()

    async def buried() -> bool:
        return await count(engine, select(func.count()).select_from(dead_letters)) == 1

    await pipeline.until(buried)
    letters = await pipeline.api.dead_letters().page(10, None)
    assert [(d.consumer, d.event_type, d.reason, d.attempts) for d in letters] == [
        ("fulfilment", "OrderBooked", "permanent", 1)
    ]
    assert commerce.updates == {}

    commerce.fixed = True
    assert (await pipeline.api.dead_letters().replay(letters[0].id)).value == "replayed"

    async def pushed() -> bool:
        await pipeline.api.relay().republish_due()
        return any(u.status == "booked" for u in commerce.updates.values())

    await pipeline.until(pushed)
    assert (await pipeline.api.dead_letters().replay(letters[0].id)).value == "already_replayed"
    assert await status_of(pipeline, order_id) == "booked"


async def test_orders_wait_through_an_erp_outage_and_are_booked_in_order_once(
    pipeline: Pipeline,
) -> None:
    erp = pipeline.worker_side.erp()
    erp.down = True
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=100, sequence=1))
    placed = [await pipeline.run(mug_order()) for _ in range(5)]

    async def tried() -> bool:  # every reservation was delivered to fulfilment, and waits
        processed = await count(
            pipeline.api.engine(),
            select(func.count())
            .select_from(deliveries)
            .where(deliveries.c.consumer == "fulfilment", deliveries.c.processed_at.is_not(None)),
        )
        return processed >= 5

    await pipeline.until(tried)
    assert {await status_of(pipeline, o) for o in placed} == {"reserved"}
    assert erp.orders == {}

    erp.down = False
    late = await pipeline.run(mug_order())  # placed after recovery: must not overtake the backlog
    catch_up = pipeline.worker_side.consumers()["fulfilment"]

    async def all_booked() -> bool:
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(catch_up.submit_waiting(), _worker_loop())  # type: ignore[attr-defined]
        )
        return {await status_of(pipeline, o) for o in [*placed, late]} == {"booked"}

    await pipeline.until(all_booked)
    assert list(erp.orders) == [*placed, late]  # booked in the order they were placed, once each


def _worker_loop() -> asyncio.AbstractEventLoop:
    from dramatiq.asyncio import get_event_loop_thread

    thread = get_event_loop_thread()
    assert thread is not None
    return thread.loop


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
async def rabbit_pipeline(postgres_engine: AsyncEngine) -> AsyncIterator[Pipeline]:
    built = await build_pipeline(
        postgres_engine.url.render_as_string(hide_password=False), broker_url=RABBITMQ_URL
    )
    for queue in built.api.broker().get_declared_queues():
        built.api.broker().flush(queue)  # leftovers of an earlier run
    built.worker = start_worker(built.worker_side, threads=4)
    try:
        yield built
    finally:
        built.worker.stop(timeout=5000)
        built.api.broker().close()
        await built.api.engine().dispose()


async def test_rabbitmq_is_a_drop_in_broker(rabbit_pipeline: Pipeline) -> None:
    await rabbit_pipeline.run(
        c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=10, sequence=1)
    )
    order_id = await rabbit_pipeline.run(mug_order())

    async def booked() -> bool:
        return await status_of(rabbit_pipeline, order_id) == "booked"

    await rabbit_pipeline.until(booked)
    assert list(rabbit_pipeline.worker_side.erp().orders) == [order_id]


class RefusingErp(InMemoryErp):
    """Refuses the documents of the orders in `refused` for good (a 422, not a business no)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[UUID] = set()

    async def submit_order(self, order: ErpOrder) -> ErpDecision:
        if order.order_id in self.refused:
            raise RemoteRejected("ERP answered 422: customer account is locked")
        return await super().submit_order(order)


async def test_an_order_the_erp_refuses_for_good_goes_on_hold_and_holds_up_nobody(
    stopped_worker_pipeline: tuple[Pipeline, redis.Redis],
) -> None:
    pipeline, _ = stopped_worker_pipeline
    erp = RefusingErp()
    pipeline.worker_side.erp.override(erp)
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=10, sequence=1))
    refused = await pipeline.run(mug_order())
    erp.refused.add(refused)
    pipeline.worker = start_worker(pipeline.worker_side, threads=4)
    later = [await pipeline.run(mug_order()) for _ in range(3)]

    catch_up = pipeline.worker_side.consumers()["fulfilment"]

    async def settled() -> bool:  # with the catch-up job, as the relay process runs it
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(catch_up.submit_waiting(), _worker_loop())  # type: ignore[attr-defined]
        )
        return {await status_of(pipeline, o) for o in later} == {"booked"} and (
            await status_of(pipeline, refused) == "on_hold"
        )

    await pipeline.until(settled)
    assert list(erp.orders) == later  # nobody waited behind the refused order
    held = await pipeline.api.lookup().order(refused)
    assert held is not None
    assert held.hold_reason == "erp_rejected: ERP answered 422: customer account is locked"
    engine = pipeline.api.engine()
    assert await count(engine, select(func.count()).select_from(dead_letters)) == 0
