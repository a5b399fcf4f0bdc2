"""The write-side contract, run against the in-memory fakes, SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain import commands as c
from domain.errors import DuplicateOrder, InsufficientStock, VersionMismatch
from domain.returns import Disposition, ReturnLineSpec
from ports.unit_of_work import ConcurrencyConflict
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.backends import META, Backend


def interleavable(backend: Backend) -> None:
    if backend.name == "sqlite":
        pytest.skip(
            "SQLite queues writers at BEGIN IMMEDIATE: two write transactions never interleave"
        )


def mug_order(quantity: int = 3, **overrides: object) -> c.PlaceOrder:
    return PlaceOrderFactory(
        lines=(LineSpecFactory(sku="MUG", quantity=quantity, unit_price=Decimal("12.50")),),
        **overrides,
    )


async def test_a_placed_order_reads_back_as_it_was_decided(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 2)
    await backend.stock("MUG", "dc-west", 5)
    order_id = await backend.run(mug_order(3))

    order = await backend.order(order_id)
    assert (order.status, order.version) == ("reserved", 2)
    assert [(r.location, r.quantity, r.status) for r in order.reservations] == [
        ("dc-east", 2, "held"),
        ("dc-west", 1, "held"),
    ]
    assert order.total.amount == Decimal("37.50")
    assert await backend.level("MUG", "dc-east") == (2, 2)
    assert await backend.level("MUG", "dc-west") == (5, 1)
    rows = [r for r in await backend.outbox() if r.aggregate_id == str(order_id)]
    assert [(r.event_type, r.aggregate_version) for r in rows] == [
        ("OrderPlaced", 1),
        ("InventoryReserved", 2),
    ]
    assert {(r.correlation_id, r.actor) for r in rows} == {(META.correlation_id, META.actor)}


async def test_a_whole_journey_survives_persistence(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await backend.run(
        mug_order(3, shipping_amount=Decimal("4.90"), payment_amount=Decimal("42.40"))
    )
    await backend.run(c.BookOrder(order_id=order_id, erp_order_ref="ERP-9"))
    await backend.run(
        c.RecordShipment(
            order_id=order_id, shipment_id="S1", location="dc-east", carrier="UPS",
            tracking_number="1Z", lines=(c.SkuCount(sku="MUG", quantity=3),),
            dispatched_at=backend.clock.now(),
        )
    )  # fmt: skip
    await backend.run(c.CapturePayment(order_id=order_id))
    await backend.run(
        c.RecordDelivery(order_id=order_id, shipment_id="S1", delivered_at=backend.clock.now())
    )
    backend.clock.advance(timedelta(days=2))
    return_id = await backend.run(
        c.RequestReturn(
            order_id=order_id,
            lines=(ReturnLineSpec(sku="MUG", quantity=2, reason="chipped"),),
            case_id="500C10000000000",
        )
    )
    await backend.run(
        c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku="MUG", quantity=2),))
    )
    await backend.run(
        c.InspectReturn(
            return_id=return_id, lines=(c.InspectedSku(sku="MUG", disposition=Disposition.RESTOCK),)
        )
    )
    await backend.run(
        c.PostCreditMemo(return_id=return_id, credit_memo_ref="CM-1", amount=Decimal("25.00"))
    )

    order = await backend.order(order_id)
    assert order.status == "delivered"
    assert order.erp_order_ref == "ERP-9"
    assert order.payment.captured.amount == Decimal("42.40")
    assert order.payment.refunded.amount == Decimal("25.00")
    assert order.case_ids == ["500C10000000000"]
    ret = order.returns[return_id]
    assert (ret.status, ret.rma_number is not None, ret.credit_memo_ref) == (
        "refunded",
        True,
        "CM-1",
    )
    assert order.shipments["S1"].delivered_at == backend.clock.now() - timedelta(days=2)
    assert await backend.level("MUG", "dc-east") == (9, 0)
    versions = [
        r.aggregate_version for r in await backend.outbox() if r.aggregate_id == str(order_id)
    ]
    assert versions == list(range(1, order.version + 1))


async def test_a_lost_update_is_refused_at_commit(backend: Backend) -> None:
    interleavable(backend)
    await backend.stock("MUG", "dc-east", 10)
    order_id = await backend.run(mug_order(3))
    first = backend.uow_factory(META)
    second = backend.uow_factory(META)
    async with first, second:
        a = await first.orders.get(order_id)
        b = await second.orders.get(order_id)
        a.hold("fraud check", backend.clock.now(), timedelta(minutes=30))
        b.link_case("500C70000000000", backend.clock.now())
        await first.commit()
        with pytest.raises(ConcurrencyConflict):
            await second.commit()
    order = await backend.order(order_id)
    assert (order.status, order.case_ids, order.version) == ("on_hold", [], 3)


async def test_the_bus_reruns_a_command_that_lost_a_race(backend: Backend) -> None:
    interleavable(backend)
    await backend.stock("MUG", "dc-east", 10)
    order_id = await backend.run(mug_order(3))
    async with backend.uow_factory(META) as sneaky:
        order = await sneaky.orders.get(order_id)
        await backend.run(c.LinkCase(order_id=order_id, case_id="500C10000000000"))
        order.link_case("500C20000000000", backend.clock.now())
        with pytest.raises(ConcurrencyConflict):
            await sneaky.commit()
    await backend.run(c.LinkCase(order_id=order_id, case_id="500C20000000000"))
    assert (await backend.order(order_id)).case_ids == ["500C10000000000", "500C20000000000"]


async def test_a_stale_if_match_version_is_refused(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    order_id = await backend.run(mug_order(3))
    with pytest.raises(VersionMismatch):
        await backend.run(c.CancelOrder(order_id=order_id, expected_version=1))
    await backend.run(c.CancelOrder(order_id=order_id, expected_version=2))
    assert (await backend.order(order_id)).status == "cancelled"
    assert await backend.level("MUG", "dc-east") == (10, 0)


async def test_a_duplicate_channel_reference_names_the_existing_order(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10)
    place = mug_order(1)
    first = await backend.run(place)
    with pytest.raises(DuplicateOrder) as refused:
        await backend.run(place)
    assert refused.value.existing_id == first


async def test_a_refused_order_leaves_no_trace(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 2)
    before = await backend.outbox()
    with pytest.raises(InsufficientStock):
        await backend.run(mug_order(3))
    assert await backend.outbox() == before
    assert await backend.level("MUG", "dc-east") == (2, 0)


async def test_a_stale_snapshot_is_ignored_and_adjustments_are_deltas(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 10, sequence=5)
    assert (
        await backend.run(
            c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=3, sequence=4)
        )
        is False
    )
    assert (
        await backend.run(
            c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=3, sequence=5)
        )
        is False
    )
    await backend.run(c.AdjustStock(sku="MUG", location="dc-east", delta=-4, reason="damaged"))
    assert await backend.level("MUG", "dc-east") == (6, 0)
    rows = [r for r in await backend.outbox() if r.aggregate_id == "MUG@dc-east"]
    assert [(r.event_type, r.aggregate_version) for r in rows] == [
        ("StockSnapshotApplied", 1),
        ("StockAdjusted", 2),
    ]


async def test_arriving_stock_fills_the_oldest_backorder_first(backend: Backend) -> None:
    older = await backend.run(mug_order(2, allow_backorder=True))
    backend.clock.advance(timedelta(minutes=1))
    newer = await backend.run(mug_order(2, allow_backorder=True))
    await backend.stock("MUG", "dc-west", 3)
    assert await backend.run(c.FillBackorders(sku="MUG")) == 2
    assert (await backend.order(older)).status == "reserved"
    newer_order = await backend.order(newer)
    assert (newer_order.status, newer_order.reserved("MUG")) == ("backordered", 1)
    assert await backend.level("MUG", "dc-west") == (3, 3)


async def test_holds_expire_only_after_the_ttl_on_hold(backend: Backend) -> None:
    await backend.stock("MUG", "dc-east", 5)
    held = await backend.run(mug_order(2))
    waiting = await backend.run(mug_order(2))
    await backend.run(c.HoldOrder(order_id=held, reason="address check"))
    backend.clock.advance(timedelta(minutes=29))
    assert await backend.run(c.ExpireReservations()) == 0
    backend.clock.advance(timedelta(minutes=2))
    assert await backend.run(c.ExpireReservations()) == 1
    assert (await backend.order(held)).reserved("MUG") == 0
    assert (await backend.order(waiting)).reserved("MUG") == 2
    assert await backend.level("MUG", "dc-east") == (5, 2)
