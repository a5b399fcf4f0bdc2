"""Each of a process's own metrics moves when the thing it counts happens: messages handed to a
consumer by outcome (with the time spent on them), the relay's batches, events and republished
deliveries; and the relay and the worker serve only these, never the hub's state."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from adapters.memory.delivery_log import InMemoryDeliveryLog
from entrypoints.metrics import (
    REGISTRY,
    observe_delivery,
    observe_relay_batch,
    observe_republished,
    process_metrics,
)
from outbox.delivery import Delivery
from ports.delivery_log import Attempt
from ports.remote import RemoteRejected
from ports.unit_of_work import DatabaseUnavailable
from tests.unit.outbox.conftest import POLICY, relayed_order
from tests.unit.outbox.pipeline import Pipeline, build_pipeline


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def handed(consumer: str, outcome: str) -> float:
    return sample("orderhub_consumer_messages_total", consumer=consumer, outcome=outcome)


def timed(consumer: str, outcome: str) -> float:
    return sample("orderhub_consumer_handling_seconds_count", consumer=consumer, outcome=outcome)


class Ticks:
    """A timer that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def pipeline() -> Pipeline:
    return build_pipeline(
        POLICY,
        observe=observe_delivery,
        on_batch=observe_relay_batch,
        on_republished=observe_republished,
    )


async def test_a_message_handled_counts_as_done_with_its_time(pipeline: Pipeline) -> None:
    order_id = await relayed_order(pipeline)
    done, seconds = handed("as_they_come", "done"), timed("as_they_come", "done")

    await pipeline.deliver("as_they_come", pipeline.messages(order_id)[0])

    assert handed("as_they_come", "done") == done + 1
    assert timed("as_they_come", "done") == seconds + 1


async def test_a_failure_counts_as_retry_then_a_refusal_as_dead(pipeline: Pipeline) -> None:
    order_id = await relayed_order(pipeline)
    placed, reserved = pipeline.messages(order_id)
    retry, dead = handed("as_they_come", "retry"), handed("as_they_come", "dead")

    pipeline.as_they_come.fail_with(DatabaseUnavailable("away"))
    await pipeline.deliver("as_they_come", placed)
    pipeline.as_they_come.fail_with(RemoteRejected("no such thing"))
    await pipeline.deliver("as_they_come", reserved)

    assert (handed("as_they_come", "retry"), handed("as_they_come", "dead")) == (
        retry + 1, dead + 1
    )  # fmt: skip


class LogAway(InMemoryDeliveryLog):
    """The delivery log with its database away: no attempt can be counted."""

    async def start(self, event_id: UUID, consumer: str, now: datetime, until: datetime) -> Attempt:
        raise DatabaseUnavailable("the database is away")


async def test_a_delivery_whose_bookkeeping_fails_counts_as_error(pipeline: Pipeline) -> None:
    order_id = await relayed_order(pipeline)
    delivery = Delivery(
        {"as_they_come": pipeline.as_they_come},
        LogAway(pipeline.store),
        pipeline.codec,
        pipeline.hub.clock,
        POLICY,
        observe=observe_delivery,
    )
    error = handed("as_they_come", "error")

    with pytest.raises(DatabaseUnavailable):
        await delivery.deliver("as_they_come", pipeline.messages(order_id)[0])

    assert handed("as_they_come", "error") == error + 1


async def test_a_batchs_messages_share_its_time_and_count_each() -> None:
    observed: list[tuple[str, str, float]] = []
    ticks = Ticks()
    pipeline = build_pipeline(POLICY, observe=lambda *seen: observed.append(seen), timer=ticks)
    order_id = await relayed_order(pipeline)
    start = ticks.now

    await pipeline.delivery.deliver_many("as_they_come", pipeline.messages(order_id))

    assert [(c, o) for c, o, _ in observed] == [("as_they_come", "done")] * 2
    assert sum(s for _, _, s in observed) == ticks.now - start - 1  # the last read is after


async def test_a_relayed_batch_counts_its_events_and_a_sweep_what_it_republished(
    pipeline: Pipeline,
) -> None:
    batches, events = sample("orderhub_relay_batches_total"), sample("orderhub_relay_events_total")
    republished = sample("orderhub_relay_republished_total")
    sized = sample("orderhub_relay_batch_events_count")

    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.place_order()
    relayed = await pipeline.relay_until_quiet()
    pipeline.advance(POLICY.redelivery_timeout + timedelta(seconds=1))
    again = await pipeline.relay.republish_due()

    assert relayed > 0
    assert again > 0
    assert sample("orderhub_relay_batches_total") == batches + 1
    assert sample("orderhub_relay_batch_events_count") == sized + 1
    assert sample("orderhub_relay_events_total") == events + relayed
    assert sample("orderhub_relay_republished_total") == republished + again


def test_the_process_metrics_leave_the_hubs_state_out() -> None:
    served = process_metrics().decode()

    assert "# TYPE orderhub_consumer_messages_total counter" in served
    assert "# TYPE orderhub_relay_events_total counter" in served
    assert "orderhub_outbox_lag_seconds" not in served
    assert "orderhub_stuck_workflows" not in served
    assert "process_cpu_seconds_total" in served
