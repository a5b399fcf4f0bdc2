"""An exchange through the hub: at receipt the replacement is placed once, the difference is
settled through the payment port, and both orders' timelines link each other."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from adapters.memory.remote import InMemoryPayments
from application.process_managers.returns import Returns
from domain import commands as c
from domain.errors import ExchangePaymentRequired
from domain.order_lifecycle import OrderStatus
from domain.order_lines import LineSpec
from domain.payment import PaymentStatus
from domain.returns import Disposition, ReturnLineSpec
from ports.payment import PaymentDeclined
from read_models.timeline import entry
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub
from tests.unit.read_models import test_order_view as order_view
from tests.unit.read_models import test_return_view as return_view


def taxed(sku: str, quantity: int, price: str, tax: str) -> LineSpec:
    return LineSpecFactory(  # type: ignore[no-any-return]
        sku=sku, quantity=quantity, unit_price=Decimal(price), tax_amount=Decimal(tax)
    )


async def two_mugs_delivered(hub: Hub) -> UUID:
    """2 × MUG at 10.00 + 2.00 tax: 24.00 captured, delivered."""
    await hub.stock("MUG", "dc-east", 2)
    await hub.stock("JUG", "dc-east", 5)
    await hub.stock("CUP", "dc-east", 5)
    order_id: UUID = await hub.run(PlaceOrderFactory(lines=(taxed("MUG", 2, "10.00", "2.00"),)))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.ship(order_id, "MUG", 2)
    await hub.run(c.CapturePayment(order_id=order_id))
    await hub.run(
        c.RecordDelivery(order_id=order_id, shipment_id="S1", delivered_at=hub.clock.now())
    )
    return order_id


async def exchange(
    hub: Hub, order_id: UUID, replacement: LineSpec, payment: str | None = None
) -> UUID:
    return_id: UUID = await hub.run(
        c.RequestReturn(
            order_id=order_id,
            lines=(ReturnLineSpec(sku="MUG", quantity=2, reason="wrong size"),),
            exchange_lines=(replacement,),
            exchange_payment=c.PaymentSpec(reference="pay-diff", amount=Decimal(payment))
            if payment
            else None,
        )
    )
    return return_id


async def receive(hub: Hub, return_id: UUID, quantity: int = 2) -> None:
    await hub.run(
        c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku="MUG", quantity=quantity),))
    )


async def deliver_to(pm: Returns, hub: Hub, order_id: UUID, times: int = 1) -> None:
    for envelope in hub.events(order_id):
        if envelope.event_type in pm.subscribes:
            for _ in range(times):
                await pm.handle(envelope)


def assert_views_agree(hub: Hub, *order_ids: UUID) -> None:
    """The order and return views folded from the events are what the write side renders."""
    for order_id in order_ids:
        assert order_view.folded(hub, order_id) == order_view.rendered(hub, order_id)
        assert return_view.folded(hub, order_id) == return_view.rendered(hub, order_id)


def kinds(hub: Hub, order_id: UUID) -> list[str]:
    found = (entry(m) for m in hub.messages(order_id))
    return [e.kind for e in found if e is not None]


async def test_a_dearer_replacement_is_placed_once_and_the_difference_captured_once(
    hub: Hub,
) -> None:
    payments = InMemoryPayments()
    pm = Returns(hub.process_context(payment=payments))
    order_id = await two_mugs_delivered(hub)
    return_id = await exchange(hub, order_id, taxed("JUG", 1, "25.00", "5.00"), payment="6.00")
    await receive(hub, return_id)
    orders_before = len(hub.store.orders)

    await deliver_to(pm, hub, order_id, times=2)  # every event delivered twice

    assert len(hub.store.orders) == orders_before + 1
    original = hub.order(order_id)
    exchange_state = original.get_return(return_id).exchange
    assert exchange_state is not None
    assert exchange_state.replacement_order_id is not None
    replacement = hub.order(exchange_state.replacement_order_id)
    assert replacement.replacement_for_return_id == return_id
    assert (replacement.customer, replacement.shipping_address, replacement.currency) == (
        original.customer,
        original.shipping_address,
        original.currency,
    )
    assert replacement.status is OrderStatus.RESERVED
    assert replacement.payment.status is PaymentStatus.CAPTURED
    assert payments.captures == {f"exchange:{return_id}": ("pay-diff", Decimal("6.00"))}
    assert "exchange.replacement_placed" in kinds(hub, order_id)
    assert "exchange.replacement_for" in kinds(hub, replacement.id)
    assert_views_agree(hub, order_id, replacement.id)
    rendered = return_view.rendered(hub, order_id)[str(return_id)]["exchange"]
    assert rendered["replacement_order_id"] == str(replacement.id)
    assert (rendered["outcome"], rendered["credit"], rendered["payment_due"]) == (
        "replaced",
        "24.00",
        "6.00",
    )
    assert order_view.rendered(hub, replacement.id)["replacement_for_return_id"] == str(return_id)


async def test_a_cheaper_replacement_refunds_the_difference_through_the_payment_port(
    hub: Hub,
) -> None:
    payments = InMemoryPayments()
    pm = Returns(hub.process_context(payment=payments))
    order_id = await two_mugs_delivered(hub)
    return_id = await exchange(hub, order_id, taxed("CUP", 1, "15.00", "3.00"))
    await receive(hub, return_id)
    await hub.run(
        c.InspectReturn(
            return_id=return_id,
            lines=(c.InspectedSku(sku="MUG", disposition=Disposition.RESTOCK),),
        )
    )
    await hub.run(
        c.PostCreditMemo(return_id=return_id, credit_memo_ref="CM-1", amount=Decimal("24.00"))
    )

    await deliver_to(pm, hub, order_id)

    reference = hub.order(order_id).payment.reference
    assert payments.refunds == {f"refund:{return_id}": (reference, Decimal("6.00"))}
    assert payments.captures == {}
    assert hub.order(order_id).payment.refunded.amount == Decimal("6.00")
    assert_views_agree(hub, order_id)
    assert return_view.folded(hub, order_id)[str(return_id)]["refund_amount"] == "24.00"


async def test_an_exchange_received_in_part_places_nothing_and_releases_its_payment(
    hub: Hub,
) -> None:
    payments = InMemoryPayments()
    pm = Returns(hub.process_context(payment=payments))
    order_id = await two_mugs_delivered(hub)
    return_id = await exchange(hub, order_id, taxed("JUG", 1, "25.00", "5.00"), payment="6.00")
    await receive(hub, return_id, quantity=1)
    orders_before = len(hub.store.orders)

    await deliver_to(pm, hub, order_id)

    assert len(hub.store.orders) == orders_before
    assert payments.voids == {"pay-diff": f"exchange-void:{return_id}"}
    assert "exchange.fell_back" in kinds(hub, order_id)
    assert_views_agree(hub, order_id)


async def test_a_cancelled_exchange_releases_its_payment(hub: Hub) -> None:
    payments = InMemoryPayments()
    pm = Returns(hub.process_context(payment=payments))
    order_id = await two_mugs_delivered(hub)
    return_id = await exchange(hub, order_id, taxed("JUG", 1, "25.00", "5.00"), payment="6.00")
    await hub.run(c.CancelReturn(return_id=return_id))

    await deliver_to(pm, hub, order_id)

    assert payments.voids == {"pay-diff": f"exchange-void:{return_id}"}
    assert_views_agree(hub, order_id)


async def test_a_declined_difference_payment_places_no_replacement(hub: Hub) -> None:
    payments = InMemoryPayments(declined={"pay-diff"})
    pm = Returns(hub.process_context(payment=payments))
    order_id = await two_mugs_delivered(hub)
    return_id = await exchange(hub, order_id, taxed("JUG", 1, "25.00", "5.00"), payment="6.00")
    await receive(hub, return_id)
    orders_before = len(hub.store.orders)
    (due,) = [e for e in hub.events(order_id) if e.event_type == "ReplacementDue"]

    with pytest.raises(PaymentDeclined):
        await pm.handle(due)

    assert len(hub.store.orders) == orders_before


async def test_a_dearer_exchange_without_a_payment_is_refused_and_nothing_stored(
    hub: Hub,
) -> None:
    order_id = await two_mugs_delivered(hub)
    events_before = len(hub.store.outbox)

    with pytest.raises(ExchangePaymentRequired) as refused:
        await exchange(hub, order_id, taxed("JUG", 1, "25.00", "5.00"))

    assert refused.value.context()["difference"] == "6.00 EUR"
    assert len(hub.store.outbox) == events_before
    assert not hub.order(order_id).returns
