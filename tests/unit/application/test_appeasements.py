"""An appeasement through the hub: the provider pays it out once, the channel hears of it, and the
order's view and timeline show it with its reason."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from adapters.memory.remote import InMemoryCommerce, InMemoryPayments
from application.process_managers.fulfilment import Fulfilment
from domain import commands as c
from ports.unit_of_work import CommandMeta
from read_models.order_view import fold
from read_models.timeline import entry
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub

AGENT = CommandMeta(actor="agent:desk-1", correlation_id="test")
REFUND = UUID("00000000-0000-4000-8000-00000000aa01")


async def captured_order(hub: Hub) -> UUID:
    await hub.stock("MUG", "dc-east", 5)
    taxed = LineSpecFactory(
        sku="MUG", quantity=2, unit_price=Decimal("10.00"), tax_amount=Decimal("2.00")
    )
    order_id: UUID = await hub.run(PlaceOrderFactory(lines=(taxed,)))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.ship(order_id, "MUG", 2)
    await hub.run(c.CapturePayment(order_id=order_id))
    return order_id


def appease(order_id: UUID, amount: str = "5.00") -> c.IssueAppeasement:
    return c.IssueAppeasement(
        order_id=order_id, refund_id=REFUND, amount=Decimal(amount), reason="parcel was late"
    )


async def test_an_appeasement_is_paid_out_once_under_its_refund_id(hub: Hub) -> None:
    payments, commerce = InMemoryPayments(), InMemoryCommerce()
    fulfilment = Fulfilment(hub.process_context(payment=payments, commerce=commerce))
    order_id = await captured_order(hub)

    assert await hub.run(appease(order_id), AGENT) == (order_id, True)
    assert await hub.run(appease(order_id), AGENT) == (order_id, False)  # a retry
    issued = [e for e in hub.events(order_id) if e.event_type == "AppeasementIssued"]
    for envelope in issued * 2:  # and the event delivered twice
        await fulfilment.handle(envelope)

    order = hub.order(order_id)
    assert len(issued) == 1
    assert order.payment.refunded.amount == Decimal("5.00")
    assert payments.refunds == {f"refund:{REFUND}": (order.payment.reference, Decimal("5.00"))}
    (update,) = commerce.updates.values()
    assert update.status == "partially_refunded"
    assert update.note == "refund 5.00 EUR without a return: parcel was late"


async def test_the_view_and_the_timeline_show_the_appeasement_with_its_reason(hub: Hub) -> None:
    order_id = await captured_order(hub)
    await hub.run(appease(order_id, "24.00"), AGENT)

    document = None
    for message in hub.messages(order_id):
        document = fold(document, message)
    assert document is not None
    assert document["payment"] | {"reference": None} == {
        "status": "refunded", "reference": None, "authorized": "24.00", "captured": "24.00",
        "refunded": "24.00",
    }  # fmt: skip
    last = entry(hub.messages(order_id)[-1])
    assert last is not None
    assert (last.kind, last.source) == ("refund.issued", "agent")
    assert last.title == "Refund of 24.00 EUR issued without a return: parcel was late"
    assert last.detail["reason"] == "parcel was late"
