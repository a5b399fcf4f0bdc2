"""The relay stores its minute tallies (`Relay.record_minutes`): what it published, counted from
the batches it holds, written every few seconds rather than per event or per batch."""

from __future__ import annotations

from datetime import timedelta

from domain import commands as c
from ports.relay_minutes import RelayMinute
from tests.unit.outbox.pipeline import Pipeline

SECOND = timedelta(seconds=1)


def stored(pipeline: Pipeline) -> list[RelayMinute]:
    return [pipeline.store.relay_minutes[m] for m in sorted(pipeline.store.relay_minutes)]


async def test_what_the_relay_published_is_stored_by_minute_of_commit(pipeline: Pipeline) -> None:
    committed, clock = pipeline.hub.clock.now(), pipeline.hub.clock
    await pipeline.hub.stock("MUG", "dc-east", 10)
    clock.advance(SECOND)
    order_id = await pipeline.place_order()
    clock.advance(SECOND)
    await pipeline.hub.run(c.HoldOrder(order_id=order_id, reason="address check"))
    clock.advance(3 * SECOND)

    assert await pipeline.relay_until_quiet() == 4
    await pipeline.relay.record_minutes()

    assert stored(pipeline) == [
        RelayMinute(
            minute=committed.replace(second=0, microsecond=0),
            published=4,  # the snapshot, OrderPlaced, InventoryReserved, OrderHeld
            commands=3,  # three commits, under one correlation id
            max_lag_ms=5000,
        )
    ]


async def test_tallies_are_stored_at_most_every_few_seconds(pipeline: Pipeline) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.relay_until_quiet()
    await pipeline.relay.record_minutes()
    await pipeline.place_order()
    await pipeline.relay_until_quiet()

    await pipeline.relay.record_minutes()  # too soon: kept for later
    assert [m.published for m in stored(pipeline)] == [1]

    pipeline.hub.clock.advance(5 * SECOND)
    await pipeline.relay.record_minutes()
    assert [m.published for m in stored(pipeline)] == [3]


async def test_stored_minutes_older_than_a_day_are_forgotten(pipeline: Pipeline) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.relay_until_quiet()
    await pipeline.relay.record_minutes()
    pipeline.hub.clock.advance(timedelta(days=1, minutes=1))
    await pipeline.place_order()
    await pipeline.relay_until_quiet()

    await pipeline.relay.record_minutes()

    assert [m.published for m in stored(pipeline)] == [2]


async def test_republished_deliveries_are_not_counted_again(pipeline: Pipeline) -> None:
    await pipeline.hub.stock("MUG", "dc-east", 10)
    await pipeline.place_order()
    await pipeline.relay_until_quiet()
    pipeline.hub.clock.advance(pipeline.policy.redelivery_timeout + SECOND)

    assert await pipeline.relay.republish_due() > 0
    await pipeline.relay.record_minutes(force=True)

    assert [m.published for m in stored(pipeline)] == [3]
