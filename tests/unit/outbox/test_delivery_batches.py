"""Delivering a batch of messages to one consumer (`Delivery.deliver_many`, what the worker does
with a relay batch's messages to a consumer): each message keeps the outcome it would have had on
its own, an aggregate's events run in stream order, and the bookkeeping is done for the batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from adapters.memory.delivery_log import InMemoryDeliveryLog
from outbox.delivery import Delivery, Outcome
from ports.delivery_log import Attempt, Predecessor
from ports.remote import RemoteRejected
from ports.unit_of_work import DatabaseUnavailable
from tests.unit.outbox.conftest import relayed_order
from tests.unit.outbox.pipeline import Pipeline

Message = dict[str, Any]


async def two_orders(pipeline: Pipeline) -> tuple[list[Message], list[Message]]:
    """Two orders, each placed and reserved, relayed: their messages in stream order."""
    first = await relayed_order(pipeline)
    second = await pipeline.place_order()
    await pipeline.relay_until_quiet()
    return pipeline.messages(first), pipeline.messages(second)


async def test_a_batch_runs_every_message_and_finishes_each_delivery(pipeline: Pipeline) -> None:
    first, second = await two_orders(pipeline)
    batch = [*first, *second]

    results = await pipeline.delivery.deliver_many("in_order", batch)

    assert [r.outcome for r in results] == [Outcome.DONE] * 4
    assert [str(e.event_id) for e in pipeline.in_order.handled] == [m["event_id"] for m in batch]
    for message in batch:
        record = pipeline.record(message, "in_order")
        assert (record.attempts, record.processed_at, record.running_until) == (
            1, pipeline.now, None
        )  # fmt: skip


async def test_an_aggregate_s_events_run_in_stream_order_whatever_the_batch_s_order(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), _ = await two_orders(pipeline)

    results = await pipeline.delivery.deliver_many("in_order", [reserved, placed])

    assert [r.outcome for r in results] == [Outcome.DONE, Outcome.DONE]
    assert pipeline.in_order.versions() == [1, 2]


async def test_an_event_that_fails_makes_its_aggregate_s_later_events_wait_not_the_others(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), (other_placed, other_reserved) = await two_orders(pipeline)
    pipeline.in_order.fail_with(TimeoutError("ERP slow"))  # the first one run: `placed`

    results = await pipeline.delivery.deliver_many(
        "in_order", [placed, reserved, other_placed, other_reserved]
    )

    retry, waited, *others = results
    assert retry.outcome is Outcome.RETRY
    assert waited.outcome is Outcome.WAIT
    assert waited.delay_ms >= retry.delay_ms  # after the failed one's next try
    assert [r.outcome for r in others] == [Outcome.DONE, Outcome.DONE]
    assert [e.aggregate_id for e in pipeline.in_order.handled] == [
        other_placed["aggregate_id"], other_reserved["aggregate_id"]
    ]  # fmt: skip
    assert pipeline.record(reserved, "in_order").attempts == 0  # the wait was given back
    assert pipeline.record(placed, "in_order").last_error == "TimeoutError: ERP slow"


async def test_a_consumer_that_needs_no_order_runs_the_later_event_after_a_failure(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), _ = await two_orders(pipeline)
    pipeline.as_they_come.fail_with(TimeoutError("CRM slow"))

    results = await pipeline.delivery.deliver_many("as_they_come", [placed, reserved])

    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.DONE]


async def test_an_event_whose_earlier_event_is_unfinished_outside_the_batch_waits(
    pipeline: Pipeline,
) -> None:
    (_, reserved), (other_placed, _) = await two_orders(pipeline)

    results = await pipeline.delivery.deliver_many("in_order", [reserved, other_placed])

    assert [r.outcome for r in results] == [Outcome.WAIT, Outcome.DONE]
    assert pipeline.record(reserved, "in_order").attempts == 0


async def test_a_dead_event_does_not_hold_back_its_aggregate_s_later_events(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), _ = await two_orders(pipeline)
    pipeline.in_order.fail_with(RemoteRejected("422: order is archived"))

    results = await pipeline.delivery.deliver_many("in_order", [placed, reserved])

    assert [r.outcome for r in results] == [Outcome.DEAD, Outcome.DONE]
    [letter] = pipeline.letters()
    assert letter.message_id == placed["event_id"]


async def test_a_processed_event_in_a_batch_is_a_duplicate_and_not_run_again(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), _ = await two_orders(pipeline)
    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DONE

    results = await pipeline.delivery.deliver_many("in_order", [placed, reserved])

    assert [r.outcome for r in results] == [Outcome.DUPLICATE, Outcome.DONE]
    assert pipeline.in_order.versions() == [1, 2]


async def test_a_delivery_another_copy_holds_is_left_to_it_and_holds_back_its_successor(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), _ = await two_orders(pipeline)
    now = pipeline.now
    await InMemoryDeliveryLog(pipeline.store).start(
        UUID(placed["event_id"]), "in_order", now, now + pipeline.policy.lease
    )  # another worker runs `placed`

    results = await pipeline.delivery.deliver_many("in_order", [placed, reserved])

    assert [r.outcome for r in results] == [Outcome.BUSY, Outcome.WAIT]
    assert pipeline.in_order.received == []
    assert pipeline.record(placed, "in_order").attempts == 1  # the other copy's only


async def test_attempts_that_never_finished_park_the_message_in_a_batch_too(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), _ = await two_orders(pipeline)
    pipeline.record(placed, "as_they_come").attempts = pipeline.policy.max_attempts

    results = await pipeline.delivery.deliver_many("as_they_come", [placed, reserved])

    assert [r.outcome for r in results] == [Outcome.DEAD, Outcome.DONE]
    [letter] = pipeline.letters()
    assert (letter.reason, letter.attempts) == ("too_many_attempts", pipeline.policy.max_attempts)


async def test_an_undecodable_message_in_a_batch_is_a_dead_letter_and_the_rest_go_through(
    pipeline: Pipeline,
) -> None:
    (placed, reserved), _ = await two_orders(pipeline)
    broken = {**placed, "payload": "not an object"}

    results = await pipeline.delivery.deliver_many("as_they_come", [broken, reserved])

    assert [r.outcome for r in results] == [Outcome.DEAD, Outcome.DONE]
    [letter] = pipeline.letters()
    assert letter.reason == "undecodable"


class DatabaseGoneMidBatch(InMemoryDeliveryLog):
    """Starts the batch's attempts, then cannot answer whether earlier events are unfinished."""

    async def unfinished_predecessors(
        self, event_ids: Sequence[UUID], consumer: str
    ) -> dict[UUID, Predecessor]:
        raise DatabaseUnavailable("database answered too slowly")


async def test_a_batch_whose_bookkeeping_fails_lets_go_of_every_delivery_it_started(
    pipeline: Pipeline,
) -> None:
    first, second = await two_orders(pipeline)
    failing = Delivery(
        {"in_order": pipeline.in_order},
        DatabaseGoneMidBatch(pipeline.store),
        pipeline.codec,
        pipeline.hub.clock,
        pipeline.policy,
    )

    with pytest.raises(DatabaseUnavailable):
        await failing.deliver_many("in_order", [*first, *second])

    for message in [*first, *second]:
        record = pipeline.record(message, "in_order")
        assert (record.attempts, record.running_until) == (1, None)
    results = await pipeline.delivery.deliver_many("in_order", [*first, *second])
    assert [r.outcome for r in results] == [Outcome.DONE] * 4  # none BUSY


class CountingLog(InMemoryDeliveryLog):
    """Counts the bookkeeping calls a delivery makes."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline.store)
        self.calls: list[str] = []

    async def start_many(
        self, event_ids: Sequence[UUID], consumer: str, now: datetime, until: datetime
    ) -> dict[UUID, Attempt]:
        self.calls.append("start_many")
        return await super().start_many(event_ids, consumer, now, until)

    async def unfinished_predecessors(
        self, event_ids: Sequence[UUID], consumer: str
    ) -> dict[UUID, Predecessor]:
        self.calls.append("unfinished_predecessors")
        return await super().unfinished_predecessors(event_ids, consumer)

    async def finish(
        self, event_id: UUID, consumer: str, now: datetime, covers: Sequence[UUID] = ()
    ) -> None:
        self.calls.append("finish")
        await super().finish(event_id, consumer, now, covers)


async def test_a_batch_that_goes_through_is_three_bookkeeping_calls_whatever_its_size(
    pipeline: Pipeline,
) -> None:
    first, second = await two_orders(pipeline)
    log = CountingLog(pipeline)
    delivery = Delivery(
        {"in_order": pipeline.in_order}, log, pipeline.codec, pipeline.hub.clock, pipeline.policy
    )

    results = await delivery.deliver_many("in_order", [*first, *second])

    assert [r.outcome for r in results] == [Outcome.DONE] * 4
    assert log.calls == ["start_many", "unfinished_predecessors", "finish"]
