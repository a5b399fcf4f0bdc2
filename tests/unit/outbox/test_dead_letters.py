"""Replaying dead letters (`outbox.dead_letters.DeadLetters`) once the cause is fixed: an outbox
delivery lives again and the relay publishes it; an inbound event is deferred again; a letter is
replayed once."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from outbox.dead_letters import Replay
from outbox.delivery import Outcome
from ports.delivery_log import DeadLetter
from ports.inbound import InboundEvent
from ports.remote import RemoteRejected
from tests.unit.outbox.pipeline import Pipeline


async def bury_placed(pipeline: Pipeline, order_id: UUID) -> DeadLetter:
    """The in-order consumer refuses the order's first event for good."""
    placed = pipeline.messages(order_id)[0]
    pipeline.in_order.fail_with(RemoteRejected("422: customer account is locked"))
    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DEAD
    [letter] = pipeline.letters()
    return letter


async def test_replaying_a_buried_delivery_publishes_it_again_and_the_consumer_runs(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = pipeline.messages(order_id)[0]
    letter = await bury_placed(pipeline, order_id)
    for consumer, message in pipeline.publisher.take():  # the rest goes through
        if (consumer, message) != ("in_order", placed):
            assert (await pipeline.deliver(consumer, message)).outcome is Outcome.DONE
    pipeline.advance(timedelta(minutes=5))  # an operator fixed the account meanwhile

    assert await pipeline.dead_letters.replay(letter.id) is Replay.REPLAYED

    record = pipeline.record(placed, "in_order")
    assert (record.attempts, record.dead_at, record.processed_at) == (0, None, None)
    assert (record.due_at, record.publications) == (pipeline.now, 2)
    assert pipeline.store.dead_letters[letter.id].replayed_at == pipeline.now

    pipeline.advance(timedelta(milliseconds=1))  # the relay's next sweep
    assert await pipeline.relay.republish_due() == 1
    assert pipeline.publisher.take() == [("in_order", placed)]
    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DONE
    assert pipeline.in_order.versions() == [2, 1]
    assert not pipeline.record(placed, "in_order").unfinished


async def test_a_letter_is_replayed_once(pipeline: Pipeline, order_id: UUID) -> None:
    letter = await bury_placed(pipeline, order_id)
    assert await pipeline.dead_letters.replay(letter.id) is Replay.REPLAYED
    replayed = pipeline.store.dead_letters[letter.id].replayed_at
    pipeline.advance(timedelta(seconds=1))

    assert await pipeline.dead_letters.replay(letter.id) is Replay.ALREADY_REPLAYED

    assert pipeline.store.dead_letters[letter.id].replayed_at == replayed
    assert pipeline.record(pipeline.messages(order_id)[0], "in_order").publications == 2


async def test_replaying_an_unknown_letter_finds_nothing(pipeline: Pipeline) -> None:
    assert await pipeline.dead_letters.replay(uuid4()) is Replay.NOT_FOUND


async def test_replaying_an_inbound_letter_defers_its_event_again(pipeline: Pipeline) -> None:
    body = {"event_id": "wh-81", "type": "ShipmentDispatched", "data": {"shipment_id": "S1"}}
    letter = DeadLetter(
        id=uuid4(), message_id="wh-81", consumer="inbound:warehouse",
        event_type="ShipmentDispatched", aggregate_id="?", attempts=30, reason="retries_exhausted",
        error="NotYet: no such order", payload=body, died_at=pipeline.now, replayed_at=None,
    )  # fmt: skip
    pipeline.store.dead_letters[letter.id] = letter
    pipeline.advance(timedelta(hours=1))

    assert await pipeline.dead_letters.replay(letter.id) is Replay.REPLAYED

    assert pipeline.deferred.deferred == {
        "wh-81": (
            InboundEvent(
                source="warehouse", event_id="wh-81", type="ShipmentDispatched", body=body,
                actor="ops:replay", correlation_id=f"replay:{letter.id}",
            ),
            "replayed by ops",
            pipeline.now,
        )
    }  # fmt: skip
    assert pipeline.store.dead_letters[letter.id].replayed_at == pipeline.now
    assert await pipeline.dead_letters.replay(letter.id) is Replay.ALREADY_REPLAYED
    assert pipeline.store.deliveries == {}


async def test_dead_letters_are_listed_newest_first_a_page_at_a_time(
    pipeline: Pipeline, order_id: UUID
) -> None:
    for message in pipeline.messages(order_id):
        pipeline.as_they_come.fail_with(RemoteRejected("422"))
        assert (await pipeline.deliver("as_they_come", message)).outcome is Outcome.DEAD
        pipeline.advance(timedelta(seconds=1))
    placed, reserved = pipeline.messages(order_id)

    [first] = await pipeline.dead_letters.page(1, None)
    [second] = await pipeline.dead_letters.page(1, (first.died_at, first.id))

    assert (first.message_id, second.message_id) == (reserved["event_id"], placed["event_id"])
    assert await pipeline.dead_letters.page(1, (second.died_at, second.id)) == []
