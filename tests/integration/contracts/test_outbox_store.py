"""The `OutboxStore` contract: what the relay claims of the outbox, and the deliveries it
expects, on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from adapters.message_codec import MsgspecCodec
from tests.integration.backends import META, Backend
from tests.integration.contracts.histories import event_id, overdue, place, relay

SECOND = timedelta(seconds=1)
TIMEOUT = timedelta(seconds=30)


class RelayCrashed(Exception):
    """Raised inside a claim's block, as a relay dies halfway through a batch."""


async def die_after_publishing(backend: Backend, due: datetime) -> None:
    """Claim every event, expect its delivery to the ERP, mark it published, and die before the
    batch ends."""
    async with backend.outbox_store.claim(10) as batch:
        await batch.expect_deliveries([(event_id(m), "erp") for m in batch.messages], due)
        await batch.mark_published(backend.clock.now())
        raise RelayCrashed


async def die_after_republishing(backend: Backend, now: datetime) -> None:
    """Claim the overdue deliveries, mark them republished, and die before the batch ends."""
    async with backend.outbox_store.claim_overdue(now, 100) as batch:
        await batch.mark_republished([now + timedelta(hours=1)] * len(batch.deliveries))
        raise RelayCrashed


def disjoint_claims(backend: Backend) -> None:
    if not backend.outbox_store.concurrent_claims:
        pytest.skip("SQLite queues writers: a second claim would wait for the first to end")


async def five_events(backend: Backend) -> None:
    """A stock snapshot, then two placed orders: five events in three commits."""
    await backend.stock("MUG", "dc-east", 10)
    await place(backend)
    backend.clock.advance(timedelta(minutes=1))
    await place(backend)


async def test_a_claim_takes_the_oldest_unpublished_events_up_to_its_limit(
    backend: Backend,
) -> None:
    await five_events(backend)
    written = await backend.envelopes()

    async with backend.outbox_store.claim(3) as batch:
        claimed = [event_id(m) for m in batch.messages]

    assert claimed == [e.event_id for e in written[:3]]


async def test_a_claimed_message_decodes_to_the_envelope_the_unit_of_work_wrote(
    backend: Backend,
) -> None:
    await five_events(backend)
    written = await backend.envelopes()

    async with backend.outbox_store.claim(10) as batch:
        decoded = [MsgspecCodec().decode(m) for m in batch.messages]

    assert decoded == written
    assert [(e.event_type, e.aggregate_type, e.aggregate_version) for e in decoded] == [
        ("StockSnapshotApplied", "stock", 1),
        ("OrderPlaced", "order", 1),
        ("InventoryReserved", "order", 2),
        ("OrderPlaced", "order", 1),
        ("InventoryReserved", "order", 2),
    ]
    assert {(e.correlation_id, e.actor) for e in decoded} == {(META.correlation_id, META.actor)}


async def test_published_events_are_not_claimed_again(backend: Backend) -> None:
    await five_events(backend)
    written = [e.event_id for e in await backend.envelopes()]
    now = backend.clock.now()

    async with backend.outbox_store.claim(2) as batch:
        await batch.mark_published(now)
    async with backend.outbox_store.claim(10) as batch:
        rest = [event_id(m) for m in batch.messages]
        await batch.mark_published(now)
    async with backend.outbox_store.claim(10) as batch:
        assert batch.messages == []

    assert rest == written[2:]


async def test_a_claim_whose_block_raises_publishes_and_records_nothing(backend: Backend) -> None:
    await five_events(backend)
    written = [e.event_id for e in await backend.envelopes()]
    due = backend.clock.now() + TIMEOUT

    with pytest.raises(RelayCrashed):
        await die_after_publishing(backend, due)

    async with backend.outbox_store.claim(10) as batch:
        assert [event_id(m) for m in batch.messages] == written
    assert await overdue(backend, due + timedelta(days=1)) == []
    counts = await backend.operations.delivery_counts()
    assert counts.pending == 0
    backlog = await backend.operations.outbox_backlog(published_since=backend.clock.now())
    assert (backlog.unpublished, backlog.published_since) == (len(written), 0)


async def test_claims_open_at_once_get_disjoint_events(backend: Backend) -> None:
    disjoint_claims(backend)
    await five_events(backend)
    written = [e.event_id for e in await backend.envelopes()]

    async with backend.outbox_store.claim(2) as first, backend.outbox_store.claim(10) as second:
        firsts = [event_id(m) for m in first.messages]
        seconds = [event_id(m) for m in second.messages]

    assert firsts == written[:2]
    assert seconds == written[2:]


async def test_two_relays_claiming_at_once_get_disjoint_events(backend: Backend) -> None:
    disjoint_claims(backend)
    await five_events(backend)
    written = [e.event_id for e in await backend.envelopes()]
    other = backend.another_outbox_store()

    async with backend.outbox_store.claim(2) as first, other.claim(10) as second:
        firsts = [event_id(m) for m in first.messages]
        seconds = [event_id(m) for m in second.messages]

    assert firsts == written[:2]
    assert seconds == written[2:]


async def test_two_relays_claiming_overdue_deliveries_at_once_get_disjoint_ones(
    backend: Backend,
) -> None:
    disjoint_claims(backend)
    await five_events(backend)
    due = backend.clock.now() + TIMEOUT
    await relay(backend, ["erp"], due)
    other = backend.another_outbox_store()

    async with (
        backend.outbox_store.claim_overdue(due + SECOND, 2) as first,
        other.claim_overdue(due + SECOND, 100) as second,
    ):
        firsts = {event_id(d.message) for d in first.deliveries}
        seconds = {event_id(d.message) for d in second.deliveries}

    assert (len(firsts), len(seconds)) == (2, 3)
    assert not firsts & seconds


async def test_overdue_claims_open_at_once_get_disjoint_deliveries(backend: Backend) -> None:
    disjoint_claims(backend)
    await five_events(backend)
    due = backend.clock.now() + TIMEOUT
    await relay(backend, ["erp", "crm"], due)

    async with (
        backend.outbox_store.claim_overdue(due + SECOND, 4) as first,
        backend.outbox_store.claim_overdue(due + SECOND, 100) as second,
    ):
        firsts = {(d.consumer, event_id(d.message)) for d in first.deliveries}
        seconds = {(d.consumer, event_id(d.message)) for d in second.deliveries}

    assert (len(firsts), len(seconds)) == (4, 6)
    assert not firsts & seconds


async def test_expecting_a_delivery_twice_keeps_one_delivery_due_at_the_first_time(
    backend: Backend,
) -> None:
    await five_events(backend)
    due = backend.clock.now() + TIMEOUT

    async with backend.outbox_store.claim(10) as batch:
        keys = [(event_id(m), "erp") for m in batch.messages]
        await batch.expect_deliveries(keys, due)
        await batch.expect_deliveries(keys, due + timedelta(minutes=5))
        await batch.mark_published(backend.clock.now())

    assert (await backend.operations.delivery_counts()).pending == len(keys)
    assert await overdue(backend, due) == []
    assert sorted(await overdue(backend, due + SECOND)) == sorted(
        (consumer, e) for e, consumer in keys
    )


async def test_an_expected_delivery_is_overdue_only_after_its_due_time(backend: Backend) -> None:
    await five_events(backend)
    due = backend.clock.now() + TIMEOUT
    messages = await relay(backend, ["erp"], due)

    assert await overdue(backend, due - SECOND) == []
    assert await overdue(backend, due) == []  # due *before* now: not at it
    async with backend.outbox_store.claim_overdue(due + SECOND, 100) as batch:
        found = list(batch.deliveries)

    assert sorted((d.consumer, event_id(d.message)) for d in found) == sorted(
        ("erp", event_id(m)) for m in messages
    )
    assert {d.publications for d in found} == {1}
    written = {e.event_id: e for e in await backend.envelopes()}
    decoded = [MsgspecCodec().decode(d.message) for d in found]
    assert decoded == [written[event_id(d.message)] for d in found]


async def test_overdue_deliveries_come_oldest_due_first_up_to_the_limit(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    start = backend.clock.now()
    [snapshot] = await relay(backend, ["erp"], start + timedelta(minutes=2))
    await place(backend)
    # Published after the snapshot, due before it:
    placed = await relay(backend, ["erp"], start + timedelta(minutes=1))

    found = await overdue(backend, start + timedelta(minutes=3), limit=2)

    assert sorted(found) == sorted(("erp", event_id(m)) for m in placed)
    everything = await overdue(backend, start + timedelta(minutes=3))
    assert everything[2:] == [("erp", event_id(snapshot))]


async def test_a_republished_delivery_is_not_overdue_until_its_new_due_time(
    backend: Backend,
) -> None:
    await five_events(backend)
    due = backend.clock.now() + TIMEOUT
    messages = await relay(backend, ["erp"], due)
    new_due = due + timedelta(minutes=10)

    async with backend.outbox_store.claim_overdue(due + SECOND, 100) as batch:
        assert len(batch.deliveries) == len(messages)
        # Each delivery its own due time: the last one later than the others.
        dues = [new_due] * (len(messages) - 1) + [new_due + timedelta(minutes=5)]
        await batch.mark_republished(dues)
        last = (batch.deliveries[-1].consumer, event_id(batch.deliveries[-1].message))

    assert await overdue(backend, due + 2 * SECOND) == []
    assert await overdue(backend, new_due) == []
    assert len(await overdue(backend, new_due + SECOND)) == len(messages) - 1
    assert last not in await overdue(backend, new_due + SECOND)
    again = await overdue(backend, new_due + timedelta(minutes=5, seconds=1))
    assert last in again
    async with backend.outbox_store.claim_overdue(new_due + timedelta(minutes=6), 100) as batch:
        assert {d.publications for d in batch.deliveries} == {2}


async def test_an_overdue_claim_whose_block_raises_republishes_nothing(backend: Backend) -> None:
    await five_events(backend)
    due = backend.clock.now() + TIMEOUT
    messages = await relay(backend, ["erp"], due)

    with pytest.raises(RelayCrashed):
        await die_after_republishing(backend, due + SECOND)

    assert len(await overdue(backend, due + SECOND)) == len(messages)


async def test_a_finished_or_buried_delivery_is_never_overdue(backend: Backend) -> None:
    await five_events(backend)
    due = backend.clock.now() + TIMEOUT
    finished, buried, *pending = await relay(backend, ["erp"], due)

    await backend.delivery_log.finish(event_id(finished), "erp", backend.clock.now())
    await backend.delivery_log.bury(
        buried, "erp", 5, "retries_exhausted", "RemoteUnavailable: ERP down", backend.clock.now()
    )

    assert sorted(await overdue(backend, due + timedelta(days=30))) == sorted(
        ("erp", event_id(m)) for m in pending
    )
