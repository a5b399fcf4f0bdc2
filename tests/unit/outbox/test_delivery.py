"""Delivering one message to one consumer (`outbox.delivery.Delivery`) on the in-memory delivery
log: attempts counted first, duplicates skipped, transient failures retried with backoff,
permanent ones and what never finishes parked in the dead-letter store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest

from adapters.memory.delivery_log import InMemoryDeliveryLog
from application.consumers import NotYet
from domain.errors import InvalidTransition, ValidationFailed
from outbox.delivery import Delivery, Outcome
from ports.delivery_log import Predecessor
from ports.remote import RemoteRejected
from ports.unit_of_work import ConcurrencyConflict, DatabaseUnavailable
from tests.unit.outbox.conftest import POLICY, relayed_order
from tests.unit.outbox.pipeline import Pipeline, WorkerKilled, build_pipeline

T = TypeVar("T")


def first_message(pipeline: Pipeline, order_id: UUID) -> dict[str, Any]:
    return pipeline.messages(order_id)[0]


async def test_a_handled_message_finishes_its_delivery(pipeline: Pipeline, order_id: UUID) -> None:
    placed = first_message(pipeline, order_id)

    result = await pipeline.deliver("as_they_come", placed)

    assert result.outcome is Outcome.DONE
    assert [str(e.event_id) for e in pipeline.as_they_come.handled] == [placed["event_id"]]
    record = pipeline.record(placed, "as_they_come")
    assert (record.attempts, record.processed_at, record.dead_at) == (1, pipeline.now, None)


async def test_an_attempt_is_counted_before_the_consumer_runs(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_with(WorkerKilled())

    with pytest.raises(WorkerKilled):  # the worker dies mid-message
        await pipeline.deliver("as_they_come", placed)

    record = pipeline.record(placed, "as_they_come")
    assert record.attempts == 1
    assert record.unfinished
    assert pipeline.as_they_come.handled == []


async def test_a_transient_failure_is_retried_after_a_backoff_within_the_policy(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_until_fixed(DatabaseUnavailable("database answered too slowly"))
    policy = pipeline.policy

    for attempt in range(1, policy.max_attempts):
        result = await pipeline.deliver("as_they_come", placed)

        assert result.outcome is Outcome.RETRY
        ceiling = min(policy.max_backoff_ms, policy.min_backoff_ms * 2 ** (attempt - 1))
        assert policy.min_backoff_ms <= result.delay_ms <= ceiling
        record = pipeline.record(placed, "as_they_come")
        assert record.attempts == attempt
        assert record.unfinished
        # The relay leaves it alone until the retry had its time.
        assert record.due_at == (
            pipeline.now + timedelta(milliseconds=result.delay_ms) + policy.redelivery_timeout
        )
        assert record.last_error == "DatabaseUnavailable: database answered too slowly"
        pipeline.advance(timedelta(milliseconds=result.delay_ms))

    assert pipeline.letters() == []
    assert pipeline.as_they_come.handled == []


@pytest.mark.parametrize(
    "error",
    [
        DatabaseUnavailable("connection refused"),
        ConcurrencyConflict("order changed underneath"),
        NotYet("the shipment is not known yet"),
        TimeoutError("read timed out"),
        ConnectionResetError("reset by peer"),
        RuntimeError("a bug nobody foresaw"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_failure_that_a_later_attempt_may_cure_is_retried(
    pipeline: Pipeline, order_id: UUID, error: Exception
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_with(error)

    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.RETRY
    assert pipeline.letters() == []

    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DONE
    assert len(pipeline.as_they_come.handled) == 1


async def test_a_message_that_keeps_failing_is_a_dead_letter_after_the_last_attempt(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_until_fixed(DatabaseUnavailable("database answered too slowly"))
    outcomes = []
    for _ in range(pipeline.policy.max_attempts):
        outcomes.append((await pipeline.deliver("as_they_come", placed)).outcome)
        pipeline.advance(timedelta(seconds=5))

    assert outcomes == [Outcome.RETRY] * (pipeline.policy.max_attempts - 1) + [Outcome.DEAD]
    [letter] = pipeline.letters()
    assert (letter.message_id, letter.consumer, letter.event_type, letter.aggregate_id) == (
        placed["event_id"], "as_they_come", "OrderPlaced", str(order_id)
    )  # fmt: skip
    assert (letter.reason, letter.attempts) == ("retries_exhausted", pipeline.policy.max_attempts)
    assert letter.error == "DatabaseUnavailable: database answered too slowly"
    assert pipeline.record(placed, "as_they_come").dead_at is not None

    pipeline.as_they_come.fixed()  # too late: a later copy is a duplicate
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DUPLICATE
    assert len(pipeline.as_they_come.received) == pipeline.policy.max_attempts
    assert pipeline.as_they_come.handled == []


async def test_attempts_that_never_finished_park_the_message_without_running_the_consumer(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    tries = pipeline.policy.max_attempts
    pipeline.as_they_come.fail_with(WorkerKilled(), times=tries)  # a poison message
    for _ in range(tries):
        with pytest.raises(WorkerKilled):
            await pipeline.deliver("as_they_come", placed)
        pipeline.advance(pipeline.policy.lease)  # the dead worker's hold runs out

    result = await pipeline.deliver("as_they_come", placed)

    assert result.outcome is Outcome.DEAD
    assert len(pipeline.as_they_come.received) == tries  # not run again
    [letter] = pipeline.letters()
    assert (letter.reason, letter.attempts) == ("too_many_attempts", tries)
    assert pipeline.record(placed, "as_they_come").dead_at == pipeline.now


async def test_a_copy_that_comes_while_its_delivery_runs_neither_runs_nor_spends_an_attempt(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_with(WorkerKilled())
    with pytest.raises(WorkerKilled):  # the first copy's worker stops answering mid-message
        await pipeline.deliver("as_they_come", placed)
    pipeline.advance(pipeline.policy.lease - timedelta(milliseconds=1))

    copy = await pipeline.deliver("as_they_come", placed)

    lease_ms = pipeline.policy.lease.total_seconds() * 1000
    assert copy.outcome is Outcome.BUSY
    assert copy.retry_in_ms is not None  # it comes back once the hold would have run out
    assert lease_ms <= copy.retry_in_ms <= lease_ms + pipeline.policy.min_backoff_ms
    assert len(pipeline.as_they_come.received) == 1
    assert pipeline.record(placed, "as_they_come").attempts == 1
    pipeline.advance(timedelta(milliseconds=1))  # the hold was not renewed: its worker is gone
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DONE
    assert pipeline.record(placed, "as_they_come").attempts == 2


async def soon(value: Callable[[], T | None], timeout: float = 10.0) -> T:
    """`value()` once it is not None, waiting for it (the event loop runs meanwhile)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (found := value()) is None:
        assert asyncio.get_running_loop().time() < deadline, "waited in vain"
        await asyncio.sleep(0.005)
    return found


async def test_an_attempt_that_runs_long_keeps_its_hold_and_no_copy_takes_over() -> None:
    pipeline = build_pipeline(replace(POLICY, lease=timedelta(milliseconds=30)))
    placed = first_message(pipeline, await relayed_order(pipeline))
    gate = asyncio.Event()
    pipeline.as_they_come.block_until(gate)
    running = asyncio.create_task(pipeline.deliver("as_they_come", placed))
    record = pipeline.record(placed, "as_they_come")
    first_hold = await soon(lambda: record.running_until)
    pipeline.advance(timedelta(seconds=1))  # far past the first hold

    await soon(lambda: (record.running_until or first_hold) > first_hold or None)  # renewed
    copy = await pipeline.deliver("as_they_come", placed)
    gate.set()

    assert copy.outcome is Outcome.BUSY
    assert (await running).outcome is Outcome.DONE
    assert (record.attempts, record.running_until) == (1, None)
    assert len(pipeline.as_they_come.received) == 1


class DatabaseGoneAfterStart(InMemoryDeliveryLog):
    """Counts the attempt, then cannot answer whether an earlier event is unfinished."""

    async def unfinished_predecessor(self, event_id: UUID, consumer: str) -> Predecessor | None:
        raise DatabaseUnavailable("database answered too slowly")


async def test_an_attempt_whose_bookkeeping_fails_lets_go_of_its_delivery(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    failing = Delivery(
        {"in_order": pipeline.in_order},
        DatabaseGoneAfterStart(pipeline.store),
        pipeline.codec,
        pipeline.hub.clock,
        pipeline.policy,
    )

    with pytest.raises(DatabaseUnavailable):
        await failing.deliver("in_order", placed)

    record = pipeline.record(placed, "in_order")
    assert (record.attempts, record.running_until) == (1, None)
    assert record.last_error == "DatabaseUnavailable: database answered too slowly"
    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DONE  # not BUSY


@pytest.mark.parametrize(
    "error",
    [
        RemoteRejected("422 Unprocessable Entity: order is archived"),
        InvalidTransition("order", "cancelled", "book"),
        ValidationFailed([]),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_permanent_failure_is_a_dead_letter_at_once(
    pipeline: Pipeline, order_id: UUID, error: Exception
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_with(error)

    result = await pipeline.deliver("as_they_come", placed)

    assert result.outcome is Outcome.DEAD
    [letter] = pipeline.letters()
    assert (letter.message_id, letter.reason, letter.attempts) == (
        placed["event_id"], "permanent", 1
    )  # fmt: skip
    assert letter.error.startswith(f"{type(error).__name__}: ")
    assert pipeline.record(placed, "as_they_come").dead_at == pipeline.now
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DUPLICATE
    assert len(pipeline.as_they_come.received) == 1


#: A way to break a message.
Change = Callable[[dict[str, Any]], None]


def _without(key: str) -> Change:
    def change(message: dict[str, Any]) -> None:
        del message[key]

    return change


def _set(key: str, value: Any) -> Change:
    def change(message: dict[str, Any]) -> None:
        message[key] = value

    return change


def _payload_order_id(message: dict[str, Any]) -> None:
    message["payload"] = {**message["payload"], "order_id": "not-a-uuid"}


@pytest.mark.parametrize(
    ("change", "readable_id"),
    [
        (_without("payload"), True),
        (_without("aggregate_version"), True),
        (_set("event_type", "OrderTeleported"), True),
        (_payload_order_id, True),
        (_without("event_id"), False),
        (_without("event_type"), True),
    ],
    ids=["no payload", "no version", "unknown type", "bad payload", "no id", "no type"],
)
async def test_an_undecodable_message_is_a_dead_letter_and_does_not_raise(
    pipeline: Pipeline, order_id: UUID, change: Change, readable_id: bool
) -> None:
    placed = first_message(pipeline, order_id)
    broken = dict(placed)
    change(broken)

    result = await pipeline.deliver("as_they_come", broken)

    assert result.outcome is Outcome.DEAD
    assert pipeline.as_they_come.received == []
    [letter] = pipeline.letters()
    assert (letter.reason, letter.attempts, letter.consumer) == ("undecodable", 1, "as_they_come")
    if readable_id:
        assert letter.message_id == placed["event_id"]
        assert pipeline.record(placed, "as_they_come").dead_at == pipeline.now
    else:  # kept under the nil id, for inspection
        assert letter.message_id == str(UUID(int=0))
        assert pipeline.record(placed, "as_they_come").unfinished


async def test_a_message_delivered_twice_runs_the_consumer_once(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)

    first = await pipeline.deliver("as_they_come", placed)
    again = await pipeline.deliver("as_they_come", placed)

    assert (first.outcome, again.outcome) == (Outcome.DONE, Outcome.DUPLICATE)
    assert len(pipeline.as_they_come.received) == 1
    assert pipeline.record(placed, "as_they_come").attempts == 2  # each copy is counted


async def test_a_message_with_no_delivery_record_is_delivered_as_a_first_attempt(
    pipeline: Pipeline,
) -> None:
    """Published by hand, or before the relay recorded it: nothing to count on, still handled."""
    await pipeline.hub.stock("MUG", "dc-east", 1)
    order_id = await pipeline.place_order()
    placed = first_message(pipeline, order_id)

    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DONE
    assert len(pipeline.as_they_come.handled) == 1
    assert pipeline.store.deliveries == {}
