"""The relay (`outbox.relay.Relay`) on the in-memory outbox: every committed event published once
to each consumer that subscribes to it, with a delivery recorded; nothing lost when the broker
refuses; what is not processed by its due time published again."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from uuid import UUID

import pytest

from outbox.delivery import Outcome
from outbox.relay import RelaySettings
from ports.remote import RemoteRejected
from ports.unit_of_work import DatabaseUnavailable
from read_models.projector import PROJECTION
from tests.unit.outbox.conftest import POLICY
from tests.unit.outbox.pipeline import Pipeline, build_pipeline


def sent_ids(pipeline: Pipeline, consumer: str) -> list[str]:
    return [m["event_id"] for m in pipeline.publisher.to(consumer)]


def ids_of(pipeline: Pipeline, *event_types: str) -> list[str]:
    return [str(e.event_id) for e in pipeline.store.outbox if e.event_type in event_types]


async def test_the_relay_publishes_each_event_once_to_every_subscribed_consumer(
    pipeline: Pipeline,
) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    order_id = await pipeline.place_order()
    stock, placed, reserved = (str(e.event_id) for e in pipeline.store.outbox)

    assert await pipeline.relay.relay_once() == 3

    assert pipeline.publisher.to("in_order") == pipeline.messages(order_id)
    assert sent_ids(pipeline, "as_they_come") == [stock, placed, reserved]
    assert sent_ids(pipeline, PROJECTION) == [reserved]  # the newest of the order: see coalescing
    expected = {
        (UUID(event), consumer)
        for event, consumer in [
            (placed, "in_order"), (reserved, "in_order"),
            (stock, "as_they_come"), (placed, "as_they_come"), (reserved, "as_they_come"),
            (placed, PROJECTION), (reserved, PROJECTION),
        ]
    }  # fmt: skip
    assert set(pipeline.store.deliveries) == expected
    due = pipeline.now + pipeline.policy.redelivery_timeout
    assert {(r.due_at, r.attempts, r.unfinished) for r in pipeline.store.deliveries.values()} == {
        (due, 0, True)
    }
    assert set(pipeline.store.published) == {e.event_id for e in pipeline.store.outbox}

    sent = list(pipeline.publisher.sent)
    assert await pipeline.relay.relay_once() == 0
    assert pipeline.publisher.sent == sent


async def test_events_committed_after_a_batch_go_with_the_next(pipeline: Pipeline) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.relay_until_quiet()
    await pipeline.place_order()

    assert await pipeline.relay.relay_once() == 2
    assert Counter(sent_ids(pipeline, "as_they_come")) == Counter(
        ids_of(pipeline, "StockSnapshotApplied", "OrderPlaced", "InventoryReserved")
    )


async def test_events_the_broker_refused_stay_unpublished_until_a_later_batch(
    pipeline: Pipeline,
) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.place_order()
    pipeline.publisher.down = ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        await pipeline.relay.relay_once()

    assert pipeline.store.published == {}
    assert pipeline.store.deliveries == {}
    assert pipeline.publisher.sent == []

    pipeline.publisher.down = None
    assert await pipeline.relay.relay_once() == 3
    assert sent_ids(pipeline, "as_they_come") == [str(e.event_id) for e in pipeline.store.outbox]
    assert len(pipeline.store.deliveries) == 7


async def test_a_delivery_not_processed_by_its_due_time_is_published_again(
    pipeline: Pipeline, order_id: UUID
) -> None:
    pipeline.publisher.take()  # the broker lost them all
    timeout = pipeline.policy.redelivery_timeout
    pipeline.advance(timeout)
    assert await pipeline.relay.republish_due() == 0  # due, not overdue yet

    pipeline.advance(timedelta(milliseconds=1))
    assert await pipeline.relay.republish_due() == 7

    again = pipeline.publisher.take()
    assert {(UUID(m["event_id"]), consumer) for consumer, m in again} == set(
        pipeline.store.deliveries
    )
    assert len(again) == 7  # each once
    for consumer, message in again:
        envelope = pipeline.store.envelope(UUID(message["event_id"]))
        assert envelope is not None
        assert message == pipeline.codec.encode(envelope)
        record = pipeline.record(message, consumer)
        # Published again, it waits twice the timeout before the next time.
        assert (record.due_at, record.publications) == (pipeline.now + 2 * timeout, 2)

    pipeline.advance(2 * timeout)
    assert await pipeline.relay.republish_due() == 0  # not again before its new due time
    pipeline.advance(timedelta(milliseconds=1))
    assert await pipeline.relay.republish_due() == 7
    assert pipeline.relay.republished == 14


async def test_each_republication_waits_longer_up_to_the_cap(
    pipeline: Pipeline, order_id: UUID
) -> None:
    pipeline.publisher.take()  # the broker keeps losing them
    settings = RelaySettings(redelivery_timeout=pipeline.policy.redelivery_timeout)
    waits = []
    for _ in range(10):
        pipeline.advance(timedelta(days=1))
        assert await pipeline.relay.republish_due() == 7
        pipeline.publisher.take()
        record = next(iter(pipeline.store.deliveries.values()))
        waits.append(record.due_at - pipeline.now)
    timeout, cap = settings.redelivery_timeout, settings.republish_cap
    assert waits == [min(timeout * 2**k, cap) for k in range(1, 11)]
    assert waits[-1] == cap


async def test_a_finished_delivery_is_never_published_again(
    pipeline: Pipeline, order_id: UUID
) -> None:
    pipeline.as_they_come.fail_with(RemoteRejected("422: unknown SKU"))  # its first one dies
    outcomes = Counter(
        [(await pipeline.deliver(consumer, m)).outcome for consumer, m in pipeline.publisher.take()]
    )
    assert outcomes == Counter({Outcome.DONE: 5, Outcome.DEAD: 1})
    assert not [r for r in pipeline.store.deliveries.values() if r.unfinished]

    pipeline.advance(timedelta(hours=1))
    assert await pipeline.relay.republish_due() == 0
    assert pipeline.publisher.sent == []


async def test_a_retry_is_not_published_again_before_its_backoff_and_timeout_are_over(
    pipeline: Pipeline, order_id: UUID
) -> None:
    pipeline.as_they_come.fail_with(DatabaseUnavailable("database away"))  # its first one
    outgoing = pipeline.publisher.take()
    results = [await pipeline.deliver(consumer, m) for consumer, m in outgoing]
    [(failed, retry)] = [
        (sent, result) for sent, result in zip(outgoing, results, strict=True)
        if result.outcome is Outcome.RETRY
    ]  # fmt: skip
    assert [r for r in pipeline.store.deliveries.values() if r.unfinished] == [
        pipeline.record(failed[1], failed[0])
    ]

    pipeline.advance(timedelta(milliseconds=retry.delay_ms) + pipeline.policy.redelivery_timeout)
    assert await pipeline.relay.republish_due() == 0
    pipeline.advance(timedelta(milliseconds=1))
    assert await pipeline.relay.republish_due() == 1
    assert pipeline.publisher.take() == [failed]


async def test_the_relay_loop_with_two_lanes_publishes_every_event_once() -> None:
    pipeline = build_pipeline(
        POLICY, RelaySettings(batch_size=3, lanes=2, idle_poll=0.005, gather=0.0)
    )
    await pipeline.hub.stock("MUG", "dc-east", 100)
    for _ in range(10):
        await pipeline.place_order()
    stop = asyncio.Event()
    running = asyncio.create_task(pipeline.relay.run(stop))
    try:
        deadline = time.monotonic() + 5
        while len(pipeline.store.published) < len(pipeline.store.outbox):
            assert time.monotonic() < deadline, "the relay did not publish everything in 5 s"
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=5)

    expected = Counter(
        (consumer, str(e.event_id))
        for e in pipeline.store.outbox
        for consumer in pipeline.registry.consumers_of(e.event_type)
    )
    assert {(UUID(e), consumer) for consumer, e in expected} == set(pipeline.store.deliveries)
    published = Counter((consumer, m["event_id"]) for consumer, m in pipeline.publisher.sent)
    others = {k: n for k, n in published.items() if k[0] != PROJECTION}
    assert others == {k: n for k, n in expected.items() if k[0] != PROJECTION}
    # The projection: no event twice, and at least the newest event of every order.
    to_projection = sent_ids(pipeline, PROJECTION)
    assert len(to_projection) == len(set(to_projection))
    newest = {
        e.aggregate_id: str(e.event_id)
        for e in pipeline.store.outbox
        if e.aggregate_type == "order"
    }
    assert set(newest.values()) <= set(to_projection)
    assert pipeline.relay.relayed == len(pipeline.store.outbox)


async def test_deliveries_the_broker_refused_to_publish_again_stay_due(
    pipeline: Pipeline, order_id: UUID
) -> None:
    pipeline.publisher.take()
    pipeline.advance(pipeline.policy.redelivery_timeout + timedelta(seconds=1))
    due = {key: record.due_at for key, record in pipeline.store.deliveries.items()}
    pipeline.publisher.down = ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        await pipeline.relay.republish_due()

    assert {key: record.due_at for key, record in pipeline.store.deliveries.items()} == due
    pipeline.publisher.down = None
    assert await pipeline.relay.republish_due() == len(due)
    assert {r.publications for r in pipeline.store.deliveries.values()} == {2}


async def test_a_wake_cuts_the_relay_loop_idle_sleep_short() -> None:
    pipeline = build_pipeline(POLICY, RelaySettings(idle_poll=30.0, gather=0.0))
    stop, wake = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(pipeline.relay.run(stop, wake))
    try:
        await asyncio.sleep(0.05)  # the outbox is empty: the lanes are asleep for 30 s
        await pipeline.hub.stock("MUG", "dc-east", 10)
        await pipeline.place_order()
        wake.set()  # as a NOTIFY listener would on commit
        deadline = time.monotonic() + 5
        while len(pipeline.store.published) < len(pipeline.store.outbox):
            assert time.monotonic() < deadline, "the relay slept through the wake"
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        wake.set()  # an idle lane sleeps on `wake`, not on `stop`
        await asyncio.wait_for(running, timeout=5)
    assert len(pipeline.publisher.to("as_they_come")) == 3
