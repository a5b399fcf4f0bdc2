"""The payment provider through fulfilment: an order cancelled before capture has its authorization
released, once; a card declined at capture holds the order, with the provider's words."""

from __future__ import annotations

import pytest

from adapters.memory.remote import InMemoryPayments
from application.process_managers.fulfilment import Fulfilment
from domain import commands as c
from domain.order_lifecycle import OrderStatus
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub


@pytest.fixture
def payments() -> InMemoryPayments:
    return InMemoryPayments()


@pytest.fixture
def fulfilment(hub: Hub, payments: InMemoryPayments) -> Fulfilment:
    return Fulfilment(hub.process_context(payment=payments))


async def deliver_all(hub: Hub, fulfilment: Fulfilment, order_id: object) -> None:
    for envelope in hub.events(order_id):  # type: ignore[arg-type]
        if envelope.event_type in Fulfilment.subscribes:
            await fulfilment.handle(envelope)


async def test_an_order_cancelled_before_capture_has_its_authorization_voided_once(
    hub: Hub, fulfilment: Fulfilment, payments: InMemoryPayments
) -> None:
    await hub.stock("MUG", "dc-east", 5)
    order_id = await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="MUG", quantity=1),)))
    await hub.run(c.CancelOrder(order_id=order_id, reason="customer changed their mind"))

    await deliver_all(hub, fulfilment, order_id)
    await deliver_all(hub, fulfilment, order_id)  # every event delivered twice

    order = hub.order(order_id)
    assert order.payment.status.value == "voided"
    assert payments.voids == {order.payment.reference: f"void:{order_id}"}
    assert payments.captures == {}


async def test_a_card_declined_at_capture_holds_the_order_with_the_providers_words(
    hub: Hub, fulfilment: Fulfilment, payments: InMemoryPayments
) -> None:
    await hub.stock("MUG", "dc-east", 5)
    order_id = await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="MUG", quantity=2),)))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    payments.declined.add(hub.order(order_id).payment.reference)
    await hub.ship(order_id, "MUG", 1)

    await deliver_all(hub, fulfilment, order_id)  # no error: a decline is not retried

    order = hub.order(order_id)
    assert order.status.value == "on_hold"
    assert order.payment.status.value == "failed"
    assert payments.captures == {}
    failed = [e for e in hub.events(order_id) if e.event_type == "PaymentFailed"]
    assert [e.payload.reason for e in failed] == [  # type: ignore[attr-defined]
        f"payment {order.payment.reference} declined"
    ]


async def test_a_card_declined_after_the_parcel_was_delivered_still_holds_the_order(
    hub: Hub, fulfilment: Fulfilment, payments: InMemoryPayments
) -> None:
    # The capture waited (a Stripe outage, a worker behind) while the warehouse reported the
    # delivery: the decline finds the order delivered. It must not become a dead letter that
    # leaves the order looking paid for.
    await hub.stock("MUG", "dc-east", 5)
    order_id = await hub.run(PlaceOrderFactory(lines=(LineSpecFactory(sku="MUG", quantity=1),)))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    payments.declined.add(hub.order(order_id).payment.reference)
    await hub.ship(order_id, "MUG", 1)
    await hub.run(
        c.RecordDelivery(order_id=order_id, shipment_id="S1", delivered_at=hub.clock.now())
    )

    await deliver_all(hub, fulfilment, order_id)

    order = hub.order(order_id)
    assert (order.status.value, order.payment.status.value) == ("on_hold", "failed")
    assert order.resume_to is OrderStatus.DELIVERED
    assert payments.captures == {}
    assert [e.event_type for e in hub.events(order_id)][-1] == "PaymentFailed"
