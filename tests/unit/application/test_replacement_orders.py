"""An order placed as a replacement names a return of an order of its own channel."""

from __future__ import annotations

import uuid
from uuid import UUID

import pytest

from domain import commands as c
from domain.errors import UnknownReplacementReturn
from domain.returns import ReturnLineSpec
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub


async def a_return_on_a_delivered_order(hub: Hub, channel: str) -> UUID:
    await hub.stock("MUG", "dc-east", 10)
    order_id = await hub.run(
        PlaceOrderFactory(channel=channel, lines=(LineSpecFactory(sku="MUG", quantity=1),))
    )
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref=f"ERP-{order_id}"))
    await hub.run(
        c.RecordShipment(
            order_id=order_id,
            shipment_id=f"S-{order_id}",
            location="dc-east",
            carrier="DHL",
            tracking_number="003",
            lines=(c.SkuCount(sku="MUG", quantity=1),),
            dispatched_at=hub.clock.now(),
        )
    )
    await hub.run(
        c.RecordDelivery(
            order_id=order_id, shipment_id=f"S-{order_id}", delivered_at=hub.clock.now()
        )
    )
    returned = ReturnLineSpec(sku="MUG", quantity=1, reason="chipped")
    return_id: UUID = await hub.run(c.RequestReturn(order_id=order_id, lines=(returned,)))
    return return_id


def replacement(channel: str, return_id: UUID) -> c.PlaceOrder:
    return PlaceOrderFactory(  # type: ignore[no-any-return]
        channel=channel,
        lines=(LineSpecFactory(sku="MUG", quantity=1),),
        replacement_for_return_id=return_id,
    )


async def test_a_replacement_for_a_return_of_the_same_channel_is_placed(hub: Hub) -> None:
    return_id = await a_return_on_a_delivered_order(hub, "web")
    order_id = await hub.run(replacement("web", return_id))
    assert hub.order(order_id).replacement_for_return_id == return_id


async def test_a_replacement_for_a_return_nobody_opened_is_refused(hub: Hub) -> None:
    await hub.stock("MUG", "dc-east", 10)
    orders_before = len(hub.store.orders)
    with pytest.raises(UnknownReplacementReturn) as refused:
        await hub.run(replacement("web", uuid.uuid4()))
    assert refused.value.code == "replacement_return_not_found"
    assert len(hub.store.orders) == orders_before


async def test_a_replacement_for_another_channel_s_return_is_refused_alike(hub: Hub) -> None:
    pos_return = await a_return_on_a_delivered_order(hub, "pos")
    orders_before, events_before = len(hub.store.orders), len(hub.store.outbox)
    with pytest.raises(UnknownReplacementReturn):
        await hub.run(replacement("web", pos_return))
    assert (len(hub.store.orders), len(hub.store.outbox)) == (orders_before, events_before)
