"""Folding an order's events gives exactly what the write side renders for the order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from domain import commands as c
from domain.integration_trouble import Trouble, TroubleKind
from domain.returns import Disposition, ReturnLineSpec
from entrypoints.http.resources import order_resource
from read_models.order_view import fold
from read_models.timeline import entry
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub

CRM_FAILING = Trouble(
    kind=TroubleKind.FAILING, remote="crm", consumer="fulfilment", event_type="OrderBooked",
    attempts=2, error="RemoteUnavailable: CRM answered 503",
)  # fmt: skip


def folded(hub: Hub, order_id: UUID) -> dict[str, Any]:
    document: dict[str, Any] | None = None
    for message in hub.messages(order_id):
        document = fold(document, message)
    assert document is not None
    return document


def rendered(hub: Hub, order_id: UUID) -> dict[str, Any]:
    resource: dict[str, Any] = msgspec.to_builtins(order_resource(hub.order(order_id)))
    return resource


def ship(
    order_id: UUID, shipment_id: str, location: str, sku: str, quantity: int, hub: Hub
) -> c.RecordShipment:
    return c.RecordShipment(
        order_id=order_id, shipment_id=shipment_id, location=location, carrier="DHL",
        tracking_number=f"T-{shipment_id}", lines=(c.SkuCount(sku=sku, quantity=quantity),),
        dispatched_at=hub.clock.now(),
    )  # fmt: skip


async def test_a_full_journey_folds_to_what_the_aggregate_renders(hub: Hub) -> None:
    await hub.stock("MUG", "dc-east", 2)
    await hub.stock("MUG", "dc-west", 5)
    await hub.stock("BOWL", "dc-east", 5)
    place = PlaceOrderFactory(
        lines=(
            LineSpecFactory(sku="MUG", quantity=4, unit_price=Decimal("12.50")),
            LineSpecFactory(sku="BOWL", quantity=2, unit_price=Decimal("8.00")),
        ),
        shipping_amount=Decimal("4.90"),
        payment_amount=Decimal("70.90"),
    )
    oid = await hub.run(place)
    await hub.run(c.AmendOrder(order_id=oid, lines=(c.SkuCount(sku="MUG", quantity=3),)))
    await hub.run(c.HoldOrder(order_id=oid, reason="address check"))
    await hub.run(c.ResumeOrder(order_id=oid))
    await hub.run(c.BookOrder(order_id=oid, erp_order_ref="SO-7"))
    await hub.run(c.LinkCase(order_id=oid, case_id="500A00000000000"))
    hub.clock.advance(timedelta(minutes=5))
    await hub.run(c.RecordIntegrationTrouble(order_id=oid, trouble=CRM_FAILING))
    await hub.run(ship(oid, "S1", "dc-west", "MUG", 3, hub))  # partly from where it was not held
    await hub.run(c.CapturePayment(order_id=oid))
    await hub.run(ship(oid, "S2", "dc-east", "BOWL", 2, hub))
    await hub.run(c.RecordDelivery(order_id=oid, shipment_id="S1", delivered_at=hub.clock.now()))
    await hub.run(c.RecordDelivery(order_id=oid, shipment_id="S2", delivered_at=hub.clock.now()))
    hub.clock.advance(timedelta(days=2))
    first = await hub.run(
        c.RequestReturn(
            order_id=oid,
            lines=(ReturnLineSpec(sku="MUG", quantity=2, reason="chipped"),),
            case_id="500B00000000000",
        )
    )
    second = await hub.run(
        c.RequestReturn(
            order_id=oid, lines=(ReturnLineSpec(sku="BOWL", quantity=1, reason="too big"),)
        )
    )
    await hub.run(c.CancelReturn(return_id=second))
    await hub.run(c.ReceiveReturn(return_id=first, lines=(c.SkuCount(sku="MUG", quantity=1),)))
    await hub.run(
        c.InspectReturn(
            return_id=first, lines=(c.InspectedSku(sku="MUG", disposition=Disposition.RESTOCK),)
        )
    )
    await hub.run(
        c.PostCreditMemo(return_id=first, credit_memo_ref="CM-0", amount=Decimal("1.00"))
    )  # does not match: held
    await hub.run(c.ReleaseReturnHold(return_id=first))
    await hub.run(
        c.PostCreditMemo(return_id=first, credit_memo_ref="CM-1", amount=Decimal("12.50"))
    )
    await hub.run(c.CloseReturn(return_id=first))
    await hub.run(
        c.RecordCaseUpdate(
            case_id="500B00000000000", order_id=oid, status="Closed", note="refund confirmed"
        )
    )

    assert folded(hub, oid) == rendered(hub, oid)


async def test_backorders_cancellations_and_expiry_fold_to_what_the_aggregate_renders(
    hub: Hub,
) -> None:
    await hub.stock("LAMP", "dc-east", 1)
    backordered = await hub.run(
        PlaceOrderFactory(lines=(LineSpecFactory(sku="LAMP", quantity=3),), allow_backorder=True)
    )
    await hub.stock("LAMP", "dc-west", 5)
    await hub.drain()
    held = await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="LAMP", quantity=1),)))
    await hub.run(c.HoldOrder(order_id=held, reason="fraud check"))
    hub.clock.advance(timedelta(hours=1))
    await hub.run(c.ExpireReservations())
    cancelled = await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="LAMP", quantity=1),)))
    await hub.run(c.FailPayment(order_id=cancelled, reason="card declined"))
    await hub.run(c.CancelOrder(order_id=cancelled, reason="no payment"))
    await hub.drain()

    for order_id in (backordered, held, cancelled):
        assert folded(hub, order_id) == rendered(hub, order_id)


async def test_every_event_of_a_journey_has_a_readable_timeline_entry(hub: Hub) -> None:
    await hub.stock("MUG", "dc-east", 5)
    oid = await hub.run(
        PlaceOrderFactory(
            channel_order_ref="WEB-42",
            lines=(LineSpecFactory(sku="MUG", quantity=2, unit_price=Decimal("12.50")),),
        )
    )
    await hub.run(c.BookOrder(order_id=oid, erp_order_ref="SO-9"))
    entries = [entry(m) for m in hub.messages(oid)]
    assert [(x.source, x.kind, x.title) for x in entries if x] == [
        ("channel", "order.placed", "Order WEB-42 placed on web: 2 × MUG, 25.00 EUR"),
        ("hub", "inventory.reserved", "Stock reserved: 2 × MUG at dc-east"),
        ("erp", "order.booked", "Booked in the ERP as SO-9"),
    ]


async def test_a_shop_cancelling_late_and_refunding_folds_to_what_the_aggregate_renders(
    hub: Hub,
) -> None:
    await hub.stock("MUG", "dc-east", 5)
    oid = await hub.run(
        PlaceOrderFactory(
            channel="shopify",
            channel_order_ref="5612345678901",
            lines=(LineSpecFactory(sku="MUG", quantity=2, unit_price=Decimal("12.50")),),
            payment_amount=Decimal("25.00"),
        )
    )
    await hub.run(c.BookOrder(order_id=oid, erp_order_ref="SO-3"))
    await hub.run(ship(oid, "S1", "dc-east", "MUG", 1, hub))
    await hub.run(c.CapturePayment(order_id=oid))
    shop = {"channel": "shopify", "channel_order_ref": "5612345678901"}
    await hub.run(c.FollowChannelCancellation(**shop, reason="customer"))
    await hub.run(
        c.RecordChannelRefund(**shop, refund_ref="R-1", amount=Decimal("12.50"), currency="EUR")
    )
    assert folded(hub, oid) == rendered(hub, oid)
    assert folded(hub, oid)["payment"]["status"] == "partially_refunded"
    await hub.run(
        c.RecordChannelRefund(**shop, refund_ref="R-2", amount=Decimal("12.50"), currency="EUR")
    )
    assert folded(hub, oid) == rendered(hub, oid)
    entries = [entry(m) for m in hub.messages(oid)]
    assert [(x.source, x.kind, x.title) for x in entries if x][-3:] == [
        (
            "channel",
            "order.cancel_requested_after_shipment",
            "The channel cancelled the order after it shipped; it was not cancelled here, "
            "an agent must settle it: customer",
        ),
        (
            "channel",
            "refund.recorded",
            "Refund of 12.50 EUR made on the channel recorded (refund R-1)",
        ),
        (
            "channel",
            "refund.recorded",
            "Refund of 12.50 EUR made on the channel recorded (refund R-2)",
        ),
    ]


async def test_a_taxed_order_returned_in_part_folds_to_what_the_aggregate_renders(
    hub: Hub,
) -> None:
    await hub.stock("MUG", "dc-east", 5)
    taxed = LineSpecFactory(
        sku="MUG", quantity=3, unit_price=Decimal("10.00"), tax_amount=Decimal("2.00")
    )
    oid = await hub.run(PlaceOrderFactory(lines=(taxed,)))
    await hub.run(c.BookOrder(order_id=oid, erp_order_ref="SO-9"))
    await hub.run(ship(oid, "S1", "dc-east", "MUG", 3, hub))
    await hub.run(c.CapturePayment(order_id=oid))
    ret = await hub.run(
        c.RequestReturn(
            order_id=oid, lines=(ReturnLineSpec(sku="MUG", quantity=1, reason="chipped"),)
        )
    )
    await hub.run(c.ReceiveReturn(return_id=ret, lines=(c.SkuCount(sku="MUG", quantity=1),)))

    document = folded(hub, oid)

    assert document == rendered(hub, oid)
    assert document["total"] == "36.00"
    assert document["lines"][0]["tax_amount"] == "2.00"
