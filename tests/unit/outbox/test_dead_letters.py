"""Replaying dead letters (`outbox.dead_letters.DeadLetters`) once the cause is fixed: an outbox
delivery lives again and the relay publishes it; an inbound event is deferred again; a letter is
replayed once, alone or among every letter that matches a filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

from adapters.memory.delivery_log import InMemoryDeadLetters
from outbox.dead_letters import DeadLetters, Replay
from outbox.delivery import Outcome
from ports.delivery_log import DeadLetter, DeadLetterFilter
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


async def bury_all(pipeline: Pipeline, orders: int = 3) -> list[DeadLetter]:
    """`orders` more orders, each event refused for good by both consumers that call out: the
    in-order one with a locked account, the other with a timeout; oldest first."""
    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.relay_until_quiet()
    pipeline.publisher.take()  # the stock snapshot: nobody fails it
    for _ in range(orders):
        await pipeline.place_order()
    await pipeline.relay_until_quiet()
    for consumer, message in pipeline.publisher.take():
        if consumer == "in_order":
            pipeline.in_order.fail_with(RemoteRejected("422: customer account is LOCKED"))
        elif consumer == "as_they_come":
            pipeline.as_they_come.fail_with(RemoteRejected("504: gateway timeout"))
        else:
            continue
        if (await pipeline.deliver(consumer, message)).outcome is Outcome.DEAD:
            pipeline.advance(timedelta(seconds=1))
    return pipeline.letters()


def inbound_letter(pipeline: Pipeline, event_id: str) -> DeadLetter:
    letter = DeadLetter(
        id=uuid4(), message_id=event_id, consumer="inbound:warehouse",
        event_type="ShipmentDispatched", aggregate_id="?", attempts=30, reason="retries_exhausted",
        error="NotYet: no such order", payload={"event_id": event_id}, died_at=pipeline.now,
        replayed_at=None,
    )  # fmt: skip
    pipeline.store.dead_letters[letter.id] = letter
    return letter


async def test_replaying_by_consumer_revives_only_its_deliveries_once(
    pipeline: Pipeline,
) -> None:
    letters = await bury_all(pipeline)
    in_order = [d for d in letters if d.consumer == "in_order"]
    assert (len(in_order), len(letters)) == (6, 12)  # placed and reserved, three orders

    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter(consumer="in_order")) == 6

    for letter in letters:
        record = pipeline.store.deliveries[(UUID(letter.message_id), letter.consumer)]
        replayed = pipeline.store.dead_letters[letter.id].replayed_at
        if letter.consumer == "in_order":
            assert (replayed, record.dead_at, record.attempts) == (pipeline.now, None, 0)
        else:
            assert (replayed, record.dead_at) == (None, letter.died_at)
    again = DeadLetterFilter(consumer="in_order")
    assert await pipeline.dead_letters.replay_matching(again) == 0
    pipeline.advance(timedelta(milliseconds=1))
    assert await pipeline.relay.republish_due() == 6
    assert {c for c, _ in pipeline.publisher.take()} == {"in_order"}


async def test_replaying_by_error_text_and_time_replays_what_matches(pipeline: Pipeline) -> None:
    letters = await bury_all(pipeline)
    timeouts = [d for d in letters if "timeout" in d.error]
    middle = DeadLetterFilter(
        error_contains="GATEWAY", since=timeouts[1].died_at, until=timeouts[-1].died_at
    )

    assert len(timeouts) == 6

    assert await pipeline.dead_letters.replay_matching(middle) == 4  # the first and last not
    assert [d.id for d in letters if pipeline.store.dead_letters[d.id].replayed_at] == [
        d.id for d in timeouts[1:-1]
    ]
    just_one = DeadLetterFilter(ids=(letters[0].id, timeouts[1].id))
    assert await pipeline.dead_letters.replay_matching(just_one) == 1  # the other was replayed
    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter()) == 12 - 4 - 1

    assert all(d.replayed_at is not None for d in pipeline.store.dead_letters.values())
    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter()) == 0


async def test_a_bulk_replay_reads_a_batch_at_a_time_and_replays_every_match(
    pipeline: Pipeline,
) -> None:
    letters = await bury_all(pipeline, orders=4)
    store = InMemoryDeadLetters(pipeline.store)
    in_twos = DeadLetters(store, pipeline.deferred, pipeline.hub.clock, batch=2)
    assert len(letters) == 16

    assert await in_twos.replay_matching(DeadLetterFilter(consumer="as_they_come")) == 8
    assert await in_twos.replay_matching(DeadLetterFilter()) == 8

    assert await store.matching(DeadLetterFilter(), 100, None) == []


async def test_a_letter_replayed_by_another_caller_is_not_counted_again(
    pipeline: Pipeline,
) -> None:
    letters = await bury_all(pipeline, orders=1)
    assert await pipeline.dead_letters.replay(letters[1].id) is Replay.REPLAYED
    first_publications = pipeline.store.deliveries[
        (UUID(letters[1].message_id), letters[1].consumer)
    ].publications

    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter()) == len(letters) - 1

    record = pipeline.store.deliveries[(UUID(letters[1].message_id), letters[1].consumer)]
    assert record.publications == first_publications  # revived once, not twice


async def test_a_stale_letter_read_before_another_caller_replayed_it_is_not_replayed_twice(
    pipeline: Pipeline,
) -> None:
    """Two callers read the same letter unreplayed; the second to replay it finds it taken."""
    [letter, *_] = await bury_all(pipeline, orders=1)
    store = InMemoryDeadLetters(pipeline.store)
    assert await store.revive(letter, pipeline.now, pipeline.now)
    record = pipeline.store.deliveries[(UUID(letter.message_id), letter.consumer)]

    assert not await store.revive(letter, pipeline.now, pipeline.now)
    assert record.publications == 2


async def test_inbound_letters_are_deferred_again_by_a_bulk_replay(pipeline: Pipeline) -> None:
    inbound_letter(pipeline, "wh-1")
    inbound_letter(pipeline, "wh-2")

    replayed = await pipeline.dead_letters.replay_matching(
        DeadLetterFilter(consumer="inbound:warehouse")
    )

    assert replayed == 2
    assert set(pipeline.deferred.deferred) == {"wh-1", "wh-2"}
    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter()) == 0


async def test_letters_that_die_after_the_replay_began_are_left_for_the_next_one(
    pipeline: Pipeline,
) -> None:
    """A replayed delivery may die again at once: a new letter, never replayed in a loop."""
    earlier = inbound_letter(pipeline, "wh-1")
    later = inbound_letter(pipeline, "wh-2")
    pipeline.store.dead_letters[later.id] = replace(
        later, died_at=pipeline.now + timedelta(milliseconds=1)
    )

    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter()) == 1

    assert set(pipeline.deferred.deferred) == {earlier.message_id}
    pipeline.advance(timedelta(seconds=1))
    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter()) == 1


async def test_a_letter_without_a_readable_event_id_is_kept_and_never_counted_replayed(
    pipeline: Pipeline, order_id: UUID
) -> None:
    garbled = {"event_id": "not-a-uuid", "event_type": "OrderPlaced"}
    assert (await pipeline.deliver("in_order", garbled)).outcome is Outcome.DEAD
    [letter] = pipeline.letters()

    assert await pipeline.dead_letters.replay(letter.id) is Replay.UNREPLAYABLE
    assert await pipeline.dead_letters.replay_matching(DeadLetterFilter()) == 0
    assert pipeline.store.dead_letters[letter.id].replayed_at is None
