"""An in-order consumer gets an aggregate's events in stream order whatever order the broker
hands them over in; a consumer that needs no order takes them as they come. The test hands the
relayed messages over itself, the later one first."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from outbox.delivery import Outcome
from ports.remote import RemoteRejected
from ports.unit_of_work import DatabaseUnavailable
from tests.unit.outbox.conftest import POLICY
from tests.unit.outbox.pipeline import Pipeline, build_pipeline


async def test_a_later_event_waits_for_the_earlier_one_without_running_or_spending_an_attempt(
    pipeline: Pipeline, order_id: UUID
) -> None:
    _, reserved = pipeline.messages(order_id)

    waited = await pipeline.deliver("in_order", reserved)

    assert waited.outcome is Outcome.WAIT
    low, high = pipeline.policy.wait_ms
    assert low <= waited.delay_ms <= high  # the earlier one is merely in flight: soon
    assert pipeline.in_order.received == []
    record = pipeline.record(reserved, "in_order")
    assert record.attempts == 0
    assert record.due_at == (
        pipeline.now + timedelta(milliseconds=waited.delay_ms) + pipeline.policy.redelivery_timeout
    )


async def test_a_later_event_runs_once_the_earlier_one_is_processed(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed, reserved = pipeline.messages(order_id)
    assert (await pipeline.deliver("in_order", reserved)).outcome is Outcome.WAIT

    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DONE
    assert (await pipeline.deliver("in_order", reserved)).outcome is Outcome.DONE

    assert pipeline.in_order.versions() == [1, 2]
    assert pipeline.record(reserved, "in_order").attempts == 1  # the wait was given back


async def test_waiting_never_parks_a_message(pipeline: Pipeline, order_id: UUID) -> None:
    placed, reserved = pipeline.messages(order_id)
    for _ in range(pipeline.policy.max_attempts * 2):
        assert (await pipeline.deliver("in_order", reserved)).outcome is Outcome.WAIT

    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DONE
    assert (await pipeline.deliver("in_order", reserved)).outcome is Outcome.DONE
    assert pipeline.letters() == []


async def test_a_consumer_that_needs_no_order_takes_events_as_they_come(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed, reserved = pipeline.messages(order_id)

    assert (await pipeline.deliver("as_they_come", reserved)).outcome is Outcome.DONE
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DONE

    assert pipeline.as_they_come.versions() == [2, 1]


async def test_a_dead_earlier_event_does_not_block_the_later_one(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed, reserved = pipeline.messages(order_id)
    pipeline.in_order.fail_with(RemoteRejected("422: order is archived"))
    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DEAD

    assert (await pipeline.deliver("in_order", reserved)).outcome is Outcome.DONE
    assert pipeline.in_order.versions() == [2]


async def test_a_failing_earlier_event_is_waited_for_until_its_next_retry() -> None:
    pipeline = build_pipeline(replace(POLICY, min_backoff_ms=10_000, max_backoff_ms=60_000))
    await pipeline.hub.stock("MUG", "dc-east", 10)
    order_id = await pipeline.place_order()
    await pipeline.relay_until_quiet()
    placed, reserved = pipeline.messages(order_id)
    low, high = pipeline.policy.wait_ms
    pipeline.in_order.fail_with(DatabaseUnavailable("database away"))
    retried = await pipeline.deliver("in_order", placed)
    assert (retried.outcome, retried.delay_ms) == (Outcome.RETRY, 10_000)  # first backoff: min

    waited = await pipeline.deliver("in_order", reserved)
    assert waited.outcome is Outcome.WAIT
    assert 10_000 + low <= waited.delay_ms <= 10_000 + high  # no polling while the ERP is down

    pipeline.advance(timedelta(seconds=4))
    waited = await pipeline.deliver("in_order", reserved)
    assert 6_000 + low <= waited.delay_ms <= 6_000 + high

    pipeline.advance(timedelta(seconds=7))  # the retry is overdue: soon again
    waited = await pipeline.deliver("in_order", reserved)
    assert low <= waited.delay_ms <= high
    assert pipeline.record(reserved, "in_order").attempts == 0
    assert pipeline.in_order.handled == []

    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DONE
    assert (await pipeline.deliver("in_order", reserved)).outcome is Outcome.DONE
    assert pipeline.in_order.versions() == [1, 2]
