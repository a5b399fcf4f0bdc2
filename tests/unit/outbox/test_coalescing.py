"""A consumer that catches up (the projection) is sent one message per order of a relay batch,
the newest event's, naming the earlier events it stands for (`covers`); handling it finishes
their deliveries too. The other consumers get every event as it was stored."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain import commands as c
from outbox.delivery import Outcome
from outbox.relay import COVERS
from read_models.projector import PROJECTION
from tests.unit.outbox.pipeline import Pipeline


def projection_deliveries(pipeline: Pipeline, *, done: bool) -> int:
    return sum(
        1
        for (_, consumer), record in pipeline.store.deliveries.items()
        if consumer == PROJECTION and record.unfinished is not done
    )


async def test_the_projection_gets_one_message_per_order_of_a_batch_naming_the_others(
    pipeline: Pipeline,
) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    orders = [await pipeline.place_order() for _ in range(2)]

    assert await pipeline.relay.relay_once() == 5

    to_projection = {m["aggregate_id"]: m for m in pipeline.publisher.to(PROJECTION)}
    assert len(pipeline.publisher.to(PROJECTION)) == 2
    for order_id in orders:
        placed, reserved = pipeline.messages(order_id)
        assert to_projection[str(order_id)] == {**reserved, COVERS: [placed["event_id"]]}
    # The others' copies are not touched: every event, as stored.
    for consumer in ("in_order", "as_they_come"):
        order_messages = [
            m for m in pipeline.publisher.to(consumer) if m["aggregate_type"] == "order"
        ]
        assert order_messages == [m for o in orders for m in pipeline.messages(o)]
    assert projection_deliveries(pipeline, done=False) == 4  # every delivery is still recorded


async def test_handling_the_newest_message_finishes_the_deliveries_it_covers(
    pipeline: Pipeline,
) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    orders = [await pipeline.place_order() for _ in range(2)]
    await pipeline.relay_until_quiet()

    for message in pipeline.publisher.to(PROJECTION):
        assert (await pipeline.deliver(PROJECTION, message)).outcome is Outcome.DONE

    assert projection_deliveries(pipeline, done=False) == 0
    assert projection_deliveries(pipeline, done=True) == 4
    assert {pipeline.store.views[o].version for o in orders} == {2}


async def test_an_aggregate_alone_in_its_batch_gets_its_message_unchanged(
    pipeline: Pipeline, order_id: UUID
) -> None:
    await pipeline.run(c.HoldOrder(order_id=order_id, reason="address check"))
    pipeline.publisher.take()

    assert await pipeline.relay.relay_once() == 1

    [sent] = pipeline.publisher.to(PROJECTION)
    assert sent == pipeline.messages(order_id)[-1]
    assert COVERS not in sent


@pytest.mark.parametrize("newest_done_meanwhile", [False, True])
async def test_events_projected_before_the_relay_recorded_them_are_finished_by_the_newest(
    pipeline: Pipeline, newest_done_meanwhile: bool
) -> None:
    """A catch-up can apply an event before the relay records its delivery (so it cannot mark
    it done); the newest event's message stands for it, and handling that message, or finding
    it done already, finishes it."""
    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.relay_until_quiet()
    order_id = await pipeline.place_order()
    placed, reserved = pipeline.messages(order_id)
    # An early copy (published by hand) projects the whole order, nothing recorded yet.
    assert (await pipeline.deliver(PROJECTION, placed)).outcome is Outcome.DONE
    assert pipeline.store.views[order_id].version == 2

    await pipeline.relay_until_quiet()
    [covering] = pipeline.publisher.to(PROJECTION)[-1:]
    assert covering == {**reserved, COVERS: [placed["event_id"]]}
    assert projection_deliveries(pipeline, done=False) == 2  # applied, but not marked
    expected = Outcome.DONE
    if newest_done_meanwhile:  # a copy of the newest event, without `covers`, came first
        assert (await pipeline.deliver(PROJECTION, reserved)).outcome is Outcome.DONE
        assert pipeline.record(placed, PROJECTION).unfinished
        expected = Outcome.DUPLICATE

    assert (await pipeline.deliver(PROJECTION, covering)).outcome is expected
    assert projection_deliveries(pipeline, done=False) == 0
