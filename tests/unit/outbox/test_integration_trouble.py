"""Integration trouble on the order's timeline (PRODUCT.md §8.3), as deliveries tell it: failing
once per episode after the first retry fails (or a second ride-out of an outage in a row), dead
lettered when buried, recovered when a delivery told failing goes through; never for the
projection, never about trouble itself, and never at the cost of the delivery's own outcome."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from adapters.memory.delivery_log import InMemoryDeliveryLog
from application.bus import MessageBus
from application.context import HandlerContext
from application.integration_trouble import TroubleReporter
from domain.errors import InvalidTransition
from outbox.delivery import Delivery, Outcome
from outbox.policy import DeliveryPolicy
from ports.delivery_log import Attempt
from ports.outbox import Message
from ports.remote import RemoteRejected, RemoteUnavailable
from ports.unit_of_work import CommandMeta, DatabaseUnavailable, UnitOfWork, UnitOfWorkFactory
from read_models.projector import PROJECTION, rebuild
from tests.unit.outbox.pipeline import Pipeline, build_pipeline

#: Room for several retries before the last one; trouble told within 0.2 s at most.
POLICY = DeliveryPolicy(
    max_attempts=5,
    min_backoff_ms=200,
    max_backoff_ms=5_000,
    redelivery_timeout=timedelta(seconds=30),
    trouble_timeout=timedelta(milliseconds=200),
)
WATCHED = frozenset({"in_order", "as_they_come"})
TROUBLE = ("IntegrationFailing", "IntegrationDeadLettered", "IntegrationRecovered")


async def relayed(pipeline: Pipeline) -> tuple[UUID, Message]:
    """An order placed and reserved, relayed; its first event's message."""
    await pipeline.hub.stock("MUG", "dc-east", 10)
    order_id = await pipeline.place_order()
    await pipeline.relay_until_quiet()
    return order_id, pipeline.messages(order_id)[0]


@pytest.fixture
def pipeline() -> Pipeline:
    return build_pipeline(POLICY, trouble_of=WATCHED)


def trouble(pipeline: Pipeline, order_id: UUID) -> list[tuple[str, dict[str, Any]]]:
    """The trouble on the order's stream: (event type, payload without the order id)."""
    return [
        (m["event_type"], {k: v for k, v in m["payload"].items() if k != "order_id"})
        for m in pipeline.messages(order_id)
        if m["event_type"] in TROUBLE
    ]


async def deliver(pipeline: Pipeline, consumer: str, message: Message) -> Outcome:
    """Deliver once, then let the clock run to when the broker would bring it again."""
    result = await pipeline.deliver(consumer, message)
    pipeline.advance(timedelta(milliseconds=result.delay_ms))
    return result.outcome


# -- failing, then recovered ---------------------------------------------------------------------


async def test_a_first_failure_tells_nothing(pipeline: Pipeline) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(DatabaseUnavailable("database away"))

    assert await deliver(pipeline, "as_they_come", placed) is Outcome.RETRY

    assert trouble(pipeline, order_id) == []


async def test_failing_is_told_once_when_the_first_retry_fails_too(pipeline: Pipeline) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(TimeoutError("the hub's database answered too slowly"), 4)

    outcomes = [await deliver(pipeline, "as_they_come", placed) for _ in range(4)]

    assert outcomes == [Outcome.RETRY] * 4
    assert trouble(pipeline, order_id) == [
        ("IntegrationFailing", {
            "remote": "hub", "consumer": "as_they_come", "event_type": "OrderPlaced",
            "attempts": 2, "error": "TimeoutError: the hub's database answered too slowly",
        }),
    ]  # fmt: skip


async def test_a_delivery_told_failing_tells_its_recovery_once_it_goes_through(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(DatabaseUnavailable("database away"), 2)

    outcomes = [await deliver(pipeline, "as_they_come", placed) for _ in range(3)]
    duplicate = await deliver(pipeline, "as_they_come", placed)  # the broker's late copy

    assert (*outcomes, duplicate) == (Outcome.RETRY, Outcome.RETRY, Outcome.DONE, Outcome.DUPLICATE)
    assert [(t, p["remote"], p["attempts"]) for t, p in trouble(pipeline, order_id)] == [
        ("IntegrationFailing", "hub", 2),
        ("IntegrationRecovered", "hub", 3),
    ]
    assert pipeline.record(placed, "as_they_come").failing_announced is None


async def test_a_delivery_that_goes_through_on_its_first_retry_tells_nothing(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(DatabaseUnavailable("database away"))

    assert await deliver(pipeline, "as_they_come", placed) is Outcome.RETRY
    assert await deliver(pipeline, "as_they_come", placed) is Outcome.DONE

    assert trouble(pipeline, order_id) == []


# -- outages -------------------------------------------------------------------------------------


async def test_riding_out_an_outage_a_second_time_in_a_row_tells_failing_with_the_remote(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.in_order.fail_until_fixed(RemoteUnavailable("circuit erp open", remote="erp"))

    first = await deliver(pipeline, "in_order", placed)
    told_after_first = trouble(pipeline, order_id)
    again = [await deliver(pipeline, "in_order", placed) for _ in range(5)]

    assert (first, again) == (Outcome.OUTAGE, [Outcome.OUTAGE] * 5)
    assert told_after_first == []
    assert trouble(pipeline, order_id) == [
        ("IntegrationFailing", {
            "remote": "erp", "consumer": "in_order", "event_type": "OrderPlaced", "attempts": 1,
            "error": "RemoteUnavailable: circuit erp open",
        }),
    ]  # fmt: skip

    pipeline.in_order.fixed()  # the ERP is back
    assert await deliver(pipeline, "in_order", placed) is Outcome.DONE
    assert trouble(pipeline, order_id)[-1] == (
        "IntegrationRecovered",
        {"remote": "erp", "consumer": "in_order", "event_type": "OrderPlaced", "attempts": 1},
    )


async def test_an_unnamed_remote_of_an_event_that_calls_one_remote_is_that_remote(
    pipeline: Pipeline,
) -> None:
    order_id, _ = await relayed(pipeline)
    reserved = pipeline.messages(order_id)[1]  # InventoryReserved: the ERP books it
    pipeline.as_they_come.fail_until_fixed(RemoteUnavailable("503"))

    for _ in range(2):
        await deliver(pipeline, "as_they_come", reserved)

    [(event_type, payload)] = trouble(pipeline, order_id)
    assert (event_type, payload["remote"]) == ("IntegrationFailing", "erp")


# -- dead letters ------------------------------------------------------------------------------


async def test_a_refusal_tells_dead_lettered_with_the_remote_that_refused(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(RemoteRejected("422: the order is archived", remote="payment"))

    assert await deliver(pipeline, "as_they_come", placed) is Outcome.DEAD

    assert trouble(pipeline, order_id) == [
        ("IntegrationDeadLettered", {
            "remote": "payment", "consumer": "as_they_come", "event_type": "OrderPlaced",
            "attempts": 1, "reason": "permanent",
            "error": "RemoteRejected: 422: the order is archived",
        }),
    ]  # fmt: skip


async def test_retries_exhausted_tell_failing_then_dead_lettered(pipeline: Pipeline) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_until_fixed(DatabaseUnavailable("database away"))

    outcomes = [await deliver(pipeline, "as_they_come", placed) for _ in range(POLICY.max_attempts)]

    assert outcomes[-1] is Outcome.DEAD
    assert [(t, p["attempts"], p.get("reason")) for t, p in trouble(pipeline, order_id)] == [
        ("IntegrationFailing", 2, None),
        ("IntegrationDeadLettered", POLICY.max_attempts, "retries_exhausted"),
    ]


async def test_an_outage_past_the_horizon_tells_dead_lettered_with_the_remote(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.in_order.fail_until_fixed(RemoteUnavailable("Stripe answered 503", remote="payment"))
    await deliver(pipeline, "in_order", placed)
    pipeline.advance(POLICY.outage_horizon + timedelta(seconds=1))

    assert await deliver(pipeline, "in_order", placed) is Outcome.DEAD

    dead = trouble(pipeline, order_id)[-1]
    assert (dead[0], dead[1]["remote"], dead[1]["reason"]) == (
        "IntegrationDeadLettered", "payment", "outage_outlasted_horizon",
    )  # fmt: skip


async def test_a_replayed_dead_letter_that_goes_through_is_told_recovered(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_until_fixed(DatabaseUnavailable("database away"))
    for _ in range(POLICY.max_attempts):
        await deliver(pipeline, "as_they_come", placed)
    [letter] = pipeline.letters()
    await pipeline.dead_letters.replay(letter.id)

    for _ in range(2):  # still failing after the replay
        await deliver(pipeline, "as_they_come", placed)
    pipeline.as_they_come.fixed()
    assert await deliver(pipeline, "as_they_come", placed) is Outcome.DONE

    assert [t for t, _ in trouble(pipeline, order_id)] == [
        "IntegrationFailing", "IntegrationDeadLettered", "IntegrationRecovered",
    ]  # fmt: skip


async def test_a_refusal_dead_lettered_at_once_is_told_recovered_after_its_replay(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_until_fixed(RemoteRejected("422 invalid document", remote="erp"))
    assert await deliver(pipeline, "as_they_come", placed) is Outcome.DEAD
    pipeline.as_they_come.fixed()  # the cause is fixed, then the letter replayed
    [letter] = pipeline.letters()
    await pipeline.dead_letters.replay(letter.id)

    assert await deliver(pipeline, "as_they_come", placed) is Outcome.DONE

    told = trouble(pipeline, order_id)
    assert [t for t, _ in told] == ["IntegrationDeadLettered", "IntegrationRecovered"]
    assert told[-1][1]["remote"] == "erp"


# -- who tells, and about what --------------------------------------------------------------------


async def test_a_consumer_not_watched_tells_nothing() -> None:
    quiet = build_pipeline(POLICY, trouble_of=frozenset({"in_order"}))
    order_id, placed = await relayed(quiet)
    quiet.as_they_come.fail_until_fixed(RemoteRejected("no", remote="erp"))
    quiet.as_they_come.fail_with(DatabaseUnavailable("database away"), 3)

    outcomes = [await deliver(quiet, "as_they_come", placed) for _ in range(4)]

    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.RETRY, Outcome.DEAD]
    assert trouble(quiet, order_id) == []


async def test_the_projection_tells_nothing_of_its_own_trouble(pipeline: Pipeline) -> None:
    """The projection fails while an event it must apply first is not visible (`NotYet`)."""
    order_id, placed = await relayed(pipeline)
    ahead = placed | {"aggregate_version": 9}

    outcomes = [await deliver(pipeline, PROJECTION, ahead) for _ in range(3)]

    assert outcomes == [Outcome.RETRY] * 3
    assert trouble(pipeline, order_id) == []


async def test_trouble_with_delivering_trouble_tells_nothing(pipeline: Pipeline) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(DatabaseUnavailable("database away"), 2)
    for _ in range(2):
        await deliver(pipeline, "as_they_come", placed)
    await pipeline.relay_until_quiet()
    [failing] = [m for m in pipeline.messages(order_id) if m["event_type"] in TROUBLE]
    pipeline.as_they_come.fail_until_fixed(RemoteRejected("no", remote="erp"))

    assert await deliver(pipeline, "as_they_come", failing) is Outcome.DEAD

    assert len(trouble(pipeline, order_id)) == 1


# -- the delivery comes first ---------------------------------------------------------------------


class Switchable:
    """The unit of work of the trouble's bus: the hub's, until `down` (the database away) or
    `stuck` (a statement that never returns)."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.down = False
        self.stuck = False

    def __call__(self, meta: CommandMeta) -> UnitOfWork:
        if self.down:
            raise DatabaseUnavailable("database away")
        if self.stuck:
            return _Stuck(self.inner(meta))
        return self.inner(meta)


class _Stuck:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def __aenter__(self) -> UnitOfWork:
        await asyncio.Event().wait()  # never set
        raise AssertionError("unreachable")

    async def __aexit__(self, *exc: object) -> None:
        return None


def with_trouble_bus(uow: Switchable, pipeline: Pipeline) -> Delivery:
    bus = MessageBus(uow, HandlerContext(clock=pipeline.hub.clock, ids=pipeline.hub.ids,
                                         settings=pipeline.hub.settings))  # fmt: skip
    return Delivery(
        {"as_they_come": pipeline.as_they_come},
        InMemoryDeliveryLog(pipeline.store),
        pipeline.codec,
        pipeline.hub.clock,
        POLICY,
        trouble=TroubleReporter(bus, WATCHED),
    )


async def test_failing_to_record_trouble_changes_no_outcome_and_is_told_at_the_next_failure(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    order_id, placed = await relayed(pipeline)
    uow = Switchable(pipeline.hub.uow_factory)
    delivery = with_trouble_bus(uow, pipeline)
    pipeline.as_they_come.fail_with(DatabaseUnavailable("database away"), 3)
    await delivery.deliver("as_they_come", placed)
    uow.down = True

    with caplog.at_level(logging.WARNING, "orderhub.delivery"):
        second = await delivery.deliver("as_they_come", placed)

    assert second.outcome is Outcome.RETRY
    assert second.delay_ms > 0
    assert trouble(pipeline, order_id) == []
    assert "could not record integration.failing (hub) of OrderPlaced" in caplog.text
    assert pipeline.record(placed, "as_they_come").failing_announced is None  # withdrawn
    uow.down = False
    assert (await delivery.deliver("as_they_come", placed)).outcome is Outcome.RETRY
    assert [t for t, _ in trouble(pipeline, order_id)] == ["IntegrationFailing"]


async def test_a_recording_that_hangs_is_given_up_within_the_trouble_timeout(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    order_id, placed = await relayed(pipeline)
    uow = Switchable(pipeline.hub.uow_factory)
    delivery = with_trouble_bus(uow, pipeline)
    pipeline.as_they_come.fail_with(RemoteRejected("no", remote="erp"))
    uow.stuck = True

    with caplog.at_level(logging.WARNING, "orderhub.delivery"):
        result = await asyncio.wait_for(delivery.deliver("as_they_come", placed), timeout=5)

    assert result.outcome is Outcome.DEAD
    assert trouble(pipeline, order_id) == []
    assert "could not record integration.dead_lettered (erp)" in caplog.text


class StaleReads(InMemoryDeliveryLog):
    """Starts every attempt as a copy that read its delivery before an announcement was noted."""

    async def start(self, event_id: UUID, consumer: str, now: datetime, until: datetime) -> Attempt:
        return replace(await super().start(event_id, consumer, now, until), failing_announced=None)


async def test_a_copy_that_read_no_announcement_announces_nothing_more(pipeline: Pipeline) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(DatabaseUnavailable("database away"), 3)
    for _ in range(2):
        await deliver(pipeline, "as_they_come", placed)  # announced at the second
    stale = Delivery(
        {"as_they_come": pipeline.as_they_come}, StaleReads(pipeline.store), pipeline.codec,
        pipeline.hub.clock, POLICY, trouble=TroubleReporter(pipeline.hub.bus, WATCHED),
    )  # fmt: skip

    assert (await stale.deliver("as_they_come", placed)).outcome is Outcome.RETRY

    assert [t for t, _ in trouble(pipeline, order_id)] == ["IntegrationFailing"]


async def test_a_permanent_domain_refusal_is_the_hub_s_trouble(pipeline: Pipeline) -> None:
    order_id, placed = await relayed(pipeline)
    pipeline.as_they_come.fail_with(InvalidTransition("order", "cancelled", "book"))

    await deliver(pipeline, "as_they_come", placed)

    [(event_type, payload)] = trouble(pipeline, order_id)
    assert (event_type, payload["remote"]) == ("IntegrationDeadLettered", "hub")


# -- on the timeline -----------------------------------------------------------------------------


async def test_the_timeline_shows_the_trouble_from_the_remote_and_a_rebuild_shows_the_same(
    pipeline: Pipeline,
) -> None:
    order_id, placed = await relayed(pipeline)
    reserved = pipeline.messages(order_id)[1]
    assert await deliver(pipeline, "in_order", placed) is Outcome.DONE
    pipeline.in_order.fail_until_fixed(RemoteUnavailable("circuit erp open", remote="erp"))
    outcomes = [await deliver(pipeline, "in_order", reserved) for _ in range(2)]
    pipeline.in_order.fixed()
    outcomes.append(await deliver(pipeline, "in_order", reserved))
    await pipeline.relay_until_quiet()

    timeline = await pipeline.read_models.timeline(order_id, 50, None)

    assert outcomes == [Outcome.OUTAGE, Outcome.OUTAGE, Outcome.DONE]
    assert timeline is not None
    shown = [(e["source"], e["kind"], e["title"]) for e in timeline.page.items]
    assert shown[-2:] == [
        ("erp", "integration.failing",
         "We cannot reach the ERP to book this order right now; it will be tried again automatically"),
        ("erp", "integration.recovered",
         "The ERP is answering again: the order's booking went through"),
    ]  # fmt: skip
    assert timeline.page.items[-2]["detail"] == {
        "remote": "erp", "consumer": "in_order", "event_type": "InventoryReserved",
        "attempts": 1, "error": "RemoteUnavailable: circuit erp open",
    }  # fmt: skip
    live = list(pipeline.store.timelines[order_id])
    await rebuild(pipeline.views)
    assert pipeline.store.timelines[order_id] == live
