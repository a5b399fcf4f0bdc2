"""Cancelling what a partially shipped order will never ship, through fulfilment: the ERP hears
the order as it now stands and a capture of the old total is refunded the difference, once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from adapters.memory.remote import InMemoryErp, InMemoryPayments
from application.process_managers.fulfilment import Fulfilment
from domain import commands as c
from domain.order_lifecycle import OrderStatus
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub


async def test_the_erp_hears_what_shipped_and_the_unshipped_part_is_refunded_once(
    hub: Hub,
) -> None:
    erp, payments = InMemoryErp(), InMemoryPayments()
    fulfilment = Fulfilment(hub.process_context(erp=erp, payment=payments))

    async def deliver_all(order_id: object) -> None:
        for envelope in hub.events(order_id):  # type: ignore[arg-type]
            if envelope.event_type in Fulfilment.subscribes:
                await fulfilment.handle(envelope)

    await hub.stock("MUG", "dc-east", 5)
    line = LineSpecFactory(sku="MUG", quantity=3, unit_price=Decimal("10.00"))
    order_id = await hub.run(PlaceOrderFactory(lines=(line,), shipping_amount=Decimal("0")))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.ship(order_id, "MUG", 1)
    await deliver_all(order_id)  # the capture of the whole order, at the first shipment
    await hub.run(c.CancelRemaining(order_id=order_id, reason="the rest is discontinued"))

    await deliver_all(order_id)
    await deliver_all(order_id)  # every event delivered again: nothing twice

    order = hub.order(order_id)
    assert order.status is OrderStatus.SHIPPED
    reference = order.payment.reference
    assert payments.captures == {f"capture:{order_id}": (reference, Decimal("30.00"))}
    assert payments.refunds == {f"refund:{order_id}:remainder": (reference, Decimal("20.00"))}
    assert [(ln.sku, ln.quantity) for ln in erp.orders[order_id].lines] == [("MUG", 1)]
    assert erp.amendments[-1] == (order_id, "SO-1")


class CancelledWhileCapturing(InMemoryPayments):
    """Runs `meanwhile` once, while the first capture is at the provider."""

    def __init__(self, meanwhile: Callable[[], Awaitable[object]]) -> None:
        super().__init__()
        self._meanwhile: Callable[[], Awaitable[object]] | None = meanwhile

    async def capture(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        return await super().capture(payment_reference, amount, currency, idempotency_key)


async def test_a_remainder_cancelled_while_the_capture_is_at_the_provider_is_refunded_once(
    hub: Hub,
) -> None:
    await hub.stock("MUG", "dc-east", 5)
    line = LineSpecFactory(sku="MUG", quantity=3, unit_price=Decimal("10.00"))
    order_id = await hub.run(PlaceOrderFactory(lines=(line,), shipping_amount=Decimal("0")))
    payments = CancelledWhileCapturing(
        lambda: hub.run(c.CancelRemaining(order_id=order_id, reason="the rest is discontinued"))
    )
    fulfilment = Fulfilment(hub.process_context(payment=payments))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.ship(order_id, "MUG", 1)

    for _ in range(3):  # until quiet, and every event again: nothing twice
        for envelope in hub.events(order_id):
            if envelope.event_type in Fulfilment.subscribes:
                await fulfilment.handle(envelope)

    order = hub.order(order_id)
    reference = order.payment.reference
    assert payments.captures == {f"capture:{order_id}": (reference, Decimal("30.00"))}
    assert payments.refunds == {f"refund:{order_id}:remainder": (reference, Decimal("20.00"))}
    assert (order.payment.captured.amount, order.payment.refunded.amount) == (
        Decimal("30.00"),
        Decimal("20.00"),
    )
