"""A relay batch's messages to one consumer go to the broker as one message (up to `BATCH`),
taken by the consumer's batch actor, which sends what must be tried again back on its own."""

from __future__ import annotations

from typing import Any

import pytest
from dramatiq import Message
from dramatiq.brokers.stub import StubBroker

from adapters.dramatiq.actors import declare_actors, queue_of
from adapters.dramatiq.broker import make_broker
from adapters.dramatiq.publisher import BATCH, DramatiqPublisher
from outbox.delivery import Delivery
from tests.unit.outbox.conftest import POLICY, relayed_order
from tests.unit.outbox.pipeline import build_pipeline


def unusable() -> Delivery:
    raise AssertionError("publishing builds no delivery")


@pytest.fixture
def broker() -> StubBroker:
    broker = make_broker("stub://")
    assert isinstance(broker, StubBroker)
    return broker


def sent(broker: StubBroker, consumer: str) -> list[tuple[str, Any]]:
    """(actor, its argument) of each message on the consumer's queue, oldest first."""
    queue = broker.queues[queue_of(consumer)]
    messages = [Message.decode(queue.get_nowait()).asdict() for _ in range(queue.qsize())]
    return [(m["actor_name"], m["args"][0]) for m in messages]


def test_each_consumer_gets_its_messages_as_one_batch_and_a_lone_message_as_itself(
    broker: StubBroker,
) -> None:
    publisher = DramatiqPublisher(broker, declare_actors(broker, ["erp", "crm"], unusable))
    events = [{"event_id": f"e-{i}"} for i in range(3)]

    publisher.publish([("erp", events[0]), ("crm", events[0]), ("erp", events[1]),
                       ("erp", events[2])])  # fmt: skip

    assert sent(broker, "erp") == [("deliver_batch_to_erp", events)]
    assert sent(broker, "crm") == [("deliver_to_crm", events[0])]


def test_a_large_batch_is_cut_into_messages_of_at_most_batch_deliveries(
    broker: StubBroker,
) -> None:
    publisher = DramatiqPublisher(broker, declare_actors(broker, ["erp"], unusable))
    events = [{"event_id": f"e-{i}"} for i in range(2 * BATCH + 1)]

    publisher.publish([("erp", e) for e in events])

    assert sent(broker, "erp") == [
        ("deliver_batch_to_erp", events[:BATCH]),
        ("deliver_batch_to_erp", events[BATCH : 2 * BATCH]),
        ("deliver_to_erp", events[-1]),
    ]


async def test_the_batch_actor_sends_each_message_to_try_again_back_alone_with_its_delay(
    broker: StubBroker,
) -> None:
    pipeline = build_pipeline(POLICY)
    placed, reserved = pipeline.messages(await relayed_order(pipeline))
    pipeline.in_order.fail_with(TimeoutError("ERP slow"))
    actors = declare_actors(broker, ["in_order"], lambda: pipeline.delivery)

    await actors["in_order"].many.fn.__wrapped__([placed, reserved])  # type: ignore[attr-defined]

    delayed = broker.queues[f"{queue_of('in_order')}.DQ"]
    again = [Message.decode(delayed.get_nowait()).asdict() for _ in range(delayed.qsize())]
    assert [(m["actor_name"], m["args"][0]["event_id"]) for m in again] == [
        ("deliver_to_in_order", placed["event_id"]),  # failed: its retry
        ("deliver_to_in_order", reserved["event_id"]),  # waits for it
    ]
    assert all(m["options"]["eta"] > 0 for m in again)
