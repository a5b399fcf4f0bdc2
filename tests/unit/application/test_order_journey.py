"""An order's whole journey through the handlers, on in-memory fakes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain import commands as c
from domain.errors import DuplicateOrder, InsufficientStock
from domain.returns import Disposition, ReturnLineSpec
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub


async def test_an_order_goes_from_placement_to_refund(hub: Hub) -> None:
    await hub.stock("MUG", "dc-east", 2)
    await hub.stock("MUG", "dc-west", 5)
    place = PlaceOrderFactory(
        lines=(LineSpecFactory(sku="MUG", quantity=3, unit_price=Decimal("12.50")),)
    )
    order_id = await hub.run(place)
    assert hub.order(order_id).status == "reserved"
    assert (hub.level("MUG", "dc-east").reserved, hub.level("MUG", "dc-west").reserved) == (2, 1)

    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="ERP-1"))
    await hub.run(
        c.RecordShipment(
            order_id=order_id,
            shipment_id="S1",
            location="dc-east",
            carrier="DHL",
            tracking_number="003",
            lines=(c.SkuCount(sku="MUG", quantity=3),),
            dispatched_at=hub.clock.now(),
        )
    )
    await hub.run(c.CapturePayment(order_id=order_id))
    await hub.run(
        c.RecordDelivery(order_id=order_id, shipment_id="S1", delivered_at=hub.clock.now())
    )
    assert hub.order(order_id).status == "delivered"
    # two reserved units shipped from dc-east, and one shipped there instead of dc-west
    assert (hub.level("MUG", "dc-east").on_hand, hub.level("MUG", "dc-east").reserved) == (0, 0)
    assert (hub.level("MUG", "dc-west").on_hand, hub.level("MUG", "dc-west").reserved) == (5, 0)

    hub.clock.advance(timedelta(days=3))
    return_id = await hub.run(
        c.RequestReturn(
            order_id=order_id, lines=(ReturnLineSpec(sku="MUG", quantity=1, reason="chipped"),)
        )
    )
    await hub.run(c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku="MUG", quantity=1),)))
    await hub.run(
        c.InspectReturn(
            return_id=return_id, lines=(c.InspectedSku(sku="MUG", disposition=Disposition.RESTOCK),)
        )
    )
    await hub.run(
        c.PostCreditMemo(return_id=return_id, credit_memo_ref="CM-1", amount=Decimal("12.50"))
    )
    await hub.run(c.CloseReturn(return_id=return_id))

    order = hub.order(order_id)
    assert order.payment.status == "partially_refunded"
    assert order.payment.refunded.amount == Decimal("12.50")
    assert hub.level("MUG", "dc-east").on_hand == 1
    assert hub.event_types(order_id) == [
        "OrderPlaced", "InventoryReserved", "OrderBooked", "ShipmentDispatched", "PaymentCaptured",
        "ShipmentDelivered", "ReturnRequested", "ReturnAuthorized", "ReturnReceived",
        "ReturnInspected", "RefundIssued", "ReturnClosed",
    ]  # fmt: skip
    assert [e.aggregate_version for e in hub.events(order_id)] == list(range(1, 13))


async def test_the_same_channel_reference_cannot_be_placed_twice(hub: Hub) -> None:
    await hub.stock("SKU-1", "dc-east", 10)
    place = PlaceOrderFactory(lines=(LineSpecFactory(sku="SKU-1"),))
    first = await hub.run(place)
    with pytest.raises(DuplicateOrder) as refused:
        await hub.run(place)
    assert refused.value.existing_id == first
    assert len(hub.store.orders) == 1


async def test_an_order_that_cannot_be_reserved_leaves_nothing_behind(hub: Hub) -> None:
    await hub.stock("SKU-1", "dc-east", 1)
    events_before = len(hub.store.outbox)
    with pytest.raises(InsufficientStock):
        await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="SKU-1", quantity=2),)))
    assert hub.store.orders == {}
    assert hub.level("SKU-1", "dc-east").reserved == 0
    assert len(hub.store.outbox) == events_before


async def test_a_backorder_is_reserved_when_stock_arrives(hub: Hub) -> None:
    place = PlaceOrderFactory(
        lines=(LineSpecFactory(sku="SKU-1", quantity=2),), allow_backorder=True
    )
    order_id = await hub.run(place)
    assert hub.order(order_id).status == "backordered"
    await hub.stock("SKU-1", "dc-west", 5)
    ran = await hub.drain()
    assert c.FillBackorders(sku="SKU-1") in ran
    assert hub.order(order_id).status == "reserved"
    assert hub.level("SKU-1", "dc-west").reserved == 2
