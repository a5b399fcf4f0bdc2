"""The `OperationsReader` and `OrderLookup` contracts: what operators watch, and reads of the write
side's own state, on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

import copy
from datetime import timedelta
from uuid import uuid4

from domain import commands as c
from domain.returns import Disposition
from ports.operations import DeliveryCounts, OutboxBacklog, ReceivedReturn, Since, WaitingOrder
from ports.order_lookup import LocationStock
from tests.integration.backends import Backend
from tests.integration.contracts.histories import (
    delivered,
    event_id,
    place,
    project,
    receive_return,
    relay,
    request_return,
)

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
TIMEOUT = timedelta(seconds=30)


async def test_the_backlog_counts_unpublished_events_and_those_published_since(
    backend: Backend,
) -> None:
    start = backend.clock.now()
    await backend.stock("MUG", "dc-east", 10)  # one event at start
    backend.clock.advance(MINUTE)
    await place(backend)  # two at +1 min
    backend.clock.advance(MINUTE)
    await place(backend)  # two at +2 min
    ops = backend.operations
    assert await ops.outbox_backlog(start) == OutboxBacklog(5, start, 0)

    async with backend.outbox_store.claim(1) as batch:
        await batch.mark_published(start + 10 * MINUTE)
    async with backend.outbox_store.claim(2) as batch:
        await batch.mark_published(start + 20 * MINUTE)

    assert await ops.outbox_backlog(start + 20 * MINUTE) == OutboxBacklog(2, start + 2 * MINUTE, 2)
    assert await ops.outbox_backlog(start + 10 * MINUTE) == OutboxBacklog(2, start + 2 * MINUTE, 3)
    assert await ops.outbox_backlog(start + 21 * MINUTE) == OutboxBacklog(2, start + 2 * MINUTE, 0)
    async with backend.outbox_store.claim(10) as batch:
        await batch.mark_published(start + 30 * MINUTE)
    assert await ops.outbox_backlog(start) == OutboxBacklog(0, None, 5)


async def test_orders_waiting_at_a_status_come_oldest_first_by_the_moment_asked(
    backend: Backend,
) -> None:
    start = backend.clock.now()
    await backend.stock("MUG", "dc-east", 10)
    first = await place(backend, channel_order_ref="WEB-1")
    backend.clock.advance(HOUR)
    held = await place(backend, channel_order_ref="WEB-2")
    backend.clock.advance(HOUR)
    third = await place(backend, channel_order_ref="WEB-3")
    backend.clock.advance(HOUR)
    await backend.run(c.HoldOrder(order_id=held, reason="fraud check"))
    await project(backend, first, held, third)
    ops = backend.operations

    assert await ops.orders_waiting(["reserved"], Since.PLACED, start + 3 * HOUR, 10) == [
        WaitingOrder(first, "WEB-1", "reserved", start),
        WaitingOrder(third, "WEB-3", "reserved", start + 2 * HOUR),
    ]
    assert await ops.orders_waiting(["reserved"], Since.PLACED, start + 2 * HOUR, 10) == [
        WaitingOrder(first, "WEB-1", "reserved", start),
    ]
    assert await ops.orders_waiting(["reserved"], Since.PLACED, start + 3 * HOUR, 1) == [
        WaitingOrder(first, "WEB-1", "reserved", start),
    ]
    assert await ops.orders_waiting(["on_hold"], Since.PLACED, start + 4 * HOUR, 10) == [
        WaitingOrder(held, "WEB-2", "on_hold", start + HOUR),
    ]
    assert await ops.orders_waiting(
        ["reserved", "on_hold"], Since.LAST_EVENT, start + 4 * HOUR, 10
    ) == [
        WaitingOrder(first, "WEB-1", "reserved", start),
        WaitingOrder(third, "WEB-3", "reserved", start + 2 * HOUR),
        WaitingOrder(held, "WEB-2", "on_hold", start + 3 * HOUR),
    ]
    assert await ops.orders_waiting(["on_hold"], Since.LAST_EVENT, start + 3 * HOUR, 10) == []
    # Counted without a limit, as the stuck-workflow gauge counts them.
    assert [
        await ops.count_orders_waiting(["reserved"], Since.PLACED, start + 3 * HOUR),
        await ops.count_orders_waiting(["reserved"], Since.PLACED, start + 2 * HOUR),
        await ops.count_orders_waiting(["reserved", "on_hold"], Since.LAST_EVENT, start + 4 * HOUR),
        await ops.count_orders_waiting(["on_hold"], Since.LAST_EVENT, start + 3 * HOUR),
    ] == [2, 1, 3, 0]


async def test_returns_received_before_a_moment_come_oldest_first_with_their_status_now(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await delivered(backend)
    later_order = await delivered(backend)
    backend.clock.advance(timedelta(days=1))
    inspected = await request_return(backend, order_id)
    still_received = await request_return(backend, later_order)
    await receive_return(backend, inspected)
    received_at = backend.clock.now()
    backend.clock.advance(HOUR)
    await receive_return(backend, still_received)
    await backend.run(
        c.InspectReturn(
            return_id=inspected,
            lines=(c.InspectedSku(sku="MUG", disposition=Disposition.RESTOCK),),
        )
    )
    await project(backend, order_id, later_order)
    refs = {o: (await backend.order(o)).channel_order_ref for o in (order_id, later_order)}
    ops = backend.operations

    assert await ops.returns_received_before(received_at + 2 * HOUR, 10) == [
        ReceivedReturn(order_id, refs[order_id], str(inspected), "inspected", received_at),
        ReceivedReturn(
            later_order, refs[later_order], str(still_received), "received", received_at + HOUR
        ),
    ]
    assert await ops.returns_received_before(received_at + 2 * HOUR, 1) == [
        ReceivedReturn(order_id, refs[order_id], str(inspected), "inspected", received_at),
    ]
    assert await ops.returns_received_before(received_at, 10) == []
    # Counted by their status now, without a limit.
    later = received_at + 2 * HOUR
    assert [
        await ops.count_returns_received_before(later, ["received", "inspected"]),
        await ops.count_returns_received_before(later, ["received"]),
        await ops.count_returns_received_before(later, ["refunded"]),
        await ops.count_returns_received_before(received_at + HOUR, ["received", "inspected"]),
        await ops.count_returns_received_before(received_at, ["received", "inspected"]),
    ] == [2, 1, 0, 1, 0]


async def test_orders_with_a_timeline_entry_come_oldest_first_while_in_the_statuses_asked(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    shipping, first_asked, never_asked = [
        await place(backend, 2, channel="shopify", channel_order_ref=ref)
        for ref in ("SH-1", "SH-2", "SH-3")
    ]
    for order_id in (shipping, first_asked, never_asked):
        await backend.run(c.BookOrder(order_id=order_id, erp_order_ref=f"E-{order_id.hex[:6]}"))
        await backend.run(
            c.RecordShipment(
                order_id=order_id, shipment_id="S1", location="dc-east", carrier="UPS",
                tracking_number="1Z", lines=(c.SkuCount(sku="MUG", quantity=1),),
                dispatched_at=backend.clock.now(),
            )
        )  # fmt: skip
    asked_at = backend.clock.now()
    for ref in ("SH-2", "SH-1"):
        await backend.run(
            c.FollowChannelCancellation(channel="shopify", channel_order_ref=ref, reason="late")
        )
        backend.clock.advance(HOUR)
    await backend.run(
        c.FollowChannelCancellation(channel="shopify", channel_order_ref="SH-1", reason="again")
    )
    await project(backend, shipping, first_asked, never_asked)
    kind = "order.cancel_requested_after_shipment"
    ops = backend.operations

    assert await ops.orders_with_entry(kind, ["partially_shipped"], 10) == [
        WaitingOrder(first_asked, "SH-2", "partially_shipped", asked_at),
        WaitingOrder(shipping, "SH-1", "partially_shipped", asked_at + HOUR),
    ]
    assert await ops.orders_with_entry(kind, ["partially_shipped"], 1) == [
        WaitingOrder(first_asked, "SH-2", "partially_shipped", asked_at),
    ]
    assert await ops.orders_with_entry(kind, ["shipped", "delivered"], 10) == []
    # Each order once, however many times it was asked.
    assert await ops.count_orders_with_entry(kind, ["partially_shipped"]) == 2
    assert await ops.count_orders_with_entry(kind, ["shipped", "delivered"]) == 0


async def test_delivery_counts_follow_deliveries_through_failure_burial_and_revival(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    await place(backend)
    failing, buried, finished = await relay(backend, ["erp"], backend.clock.now() + TIMEOUT)
    ops, log = backend.operations, backend.delivery_log
    now = backend.clock.now()
    assert await ops.delivery_counts() == DeliveryCounts(dead_letters=0, pending=3, failing=0)

    await log.postpone(event_id(failing), "erp", now + HOUR, "RemoteUnavailable: ERP down")
    await log.bury(buried, "erp", 1, "permanent", "RemoteRejected: no", now)
    await log.finish(event_id(finished), "erp", now)
    assert await ops.delivery_counts() == DeliveryCounts(dead_letters=1, pending=1, failing=1)

    await log.finish(event_id(failing), "erp", now)
    assert await ops.delivery_counts() == DeliveryCounts(dead_letters=1, pending=0, failing=0)
    [letter] = await backend.dead_letters.page(10, None)
    await backend.dead_letters.revive(letter, now, now + MINUTE)
    # Pending again, its last attempt (the one that buried it) failed; the letter is kept.
    assert await ops.delivery_counts() == DeliveryCounts(dead_letters=1, pending=1, failing=1)
    await log.finish(event_id(buried), "erp", now)
    assert await ops.delivery_counts() == DeliveryCounts(dead_letters=1, pending=0, failing=0)


async def test_the_lookup_reads_an_order_as_last_committed(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 2)
    await backend.stock("MUG", "dc-west", 5)
    order_id = await place(backend, 3, channel="shop")
    await backend.run(c.LinkCase(order_id=order_id, case_id="500C10000000000"))

    found = await backend.lookup.order(order_id)

    assert found is not None
    written = await backend.order(order_id)
    assert (found.id, found.channel, found.status, found.version, found.case_ids) == (
        order_id, "shop", "reserved", 3, ["500C10000000000"],
    )  # fmt: skip
    assert [(r.location, r.quantity, r.status) for r in found.reservations] == [
        (r.location, r.quantity, r.status) for r in written.reservations
    ]
    assert found.total == written.total
    assert await backend.lookup.order(uuid4()) is None


async def test_changing_a_looked_up_order_saves_nothing(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend)
    found = await backend.lookup.order(order_id)
    assert found is not None
    untouched = copy.deepcopy(found)

    found.link_case("500C90000000000", backend.clock.now())

    again = await backend.lookup.order(order_id)
    assert again is not None
    assert (again.case_ids, again.version) == (untouched.case_ids, untouched.version)
    assert (await backend.order(order_id)).case_ids == []


async def test_the_lookup_knows_the_channel_of_an_order_and_the_owner_of_a_return(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await delivered(backend)
    backend.clock.advance(timedelta(days=1))
    return_id = await request_return(backend, order_id)

    assert await backend.lookup.channel_of_order(order_id) == "web"
    assert await backend.lookup.channel_of_order(uuid4()) is None
    assert await backend.lookup.owner_of_return(return_id) == (order_id, "web")
    assert await backend.lookup.owner_of_return(uuid4()) is None


async def test_the_lookup_reads_stock_per_location_by_name(backend: Backend) -> None:
    await backend.stock("MUG", "dc-west", 5)
    await backend.stock("MUG", "dc-central", 0)
    await backend.stock("MUG", "dc-east", 2)
    await backend.stock("PLATE", "dc-east", 7)
    await place(backend, 3)  # dc-east first, then dc-west (`Backend.settings`)

    assert await backend.lookup.stock("MUG") == [
        LocationStock("dc-central", 0, 0),
        LocationStock("dc-east", 2, 2),
        LocationStock("dc-west", 5, 1),
    ]
    assert await backend.lookup.stock("BOWL") == []
