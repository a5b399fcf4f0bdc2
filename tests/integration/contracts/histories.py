"""What the contracts start from, made by running real commands through the backend's bus
(stock, placed and delivered orders, returns, the histories the view contracts share), and the
relay's and the projector's steps over the ports under test."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.returns import ReturnLineSpec
from ports.delivery_log import Attempt
from ports.outbox import EventEnvelope, Message
from read_models.projector import OrderProjection
from tests.factories import CustomerFactory, LineSpecFactory, PlaceOrderFactory
from tests.integration.backends import Backend


async def place(backend: Backend, quantity: int = 1, **overrides: Any) -> UUID:
    """A mug order, reserved from the stock the test gave (`Backend.stock`)."""
    order_id: UUID = await backend.run(
        PlaceOrderFactory(
            lines=(LineSpecFactory(sku="MUG", quantity=quantity, unit_price=Decimal("12.50")),),
            **overrides,
        )
    )
    return order_id


async def delivered(backend: Backend, quantity: int = 3) -> UUID:
    """A mug order booked, shipped from dc-east, paid and delivered."""
    order_id = await place(backend, quantity)
    await backend.run(c.BookOrder(order_id=order_id, erp_order_ref=f"ERP-{order_id.hex[:8]}"))
    await backend.run(
        c.RecordShipment(
            order_id=order_id, shipment_id="S1", location="dc-east", carrier="UPS",
            tracking_number="1Z", lines=(c.SkuCount(sku="MUG", quantity=quantity),),
            dispatched_at=backend.clock.now(),
        )
    )  # fmt: skip
    await backend.run(c.CapturePayment(order_id=order_id))
    await backend.run(
        c.RecordDelivery(order_id=order_id, shipment_id="S1", delivered_at=backend.clock.now())
    )
    return order_id


async def request_return(backend: Backend, order_id: UUID, quantity: int = 1) -> UUID:
    return_id: UUID = await backend.run(
        c.RequestReturn(
            order_id=order_id,
            lines=(ReturnLineSpec(sku="MUG", quantity=quantity, reason="chipped"),),
        )
    )
    return return_id


async def receive_return(backend: Backend, return_id: UUID, quantity: int = 1) -> None:
    await backend.run(
        c.ReceiveReturn(return_id=return_id, lines=(c.SkuCount(sku="MUG", quantity=quantity),))
    )


async def events_of(backend: Backend, order_id: UUID) -> list[EventEnvelope]:
    """The order's envelopes, as its units of work wrote them, in stream order."""
    return [e for e in await backend.envelopes() if e.aggregate_id == str(order_id)]


async def relay(
    backend: Backend, consumers: Sequence[str], due_at: datetime, limit: int = 1000
) -> list[Message]:
    """What the relay does with a batch: claim the unpublished events, expect each one's
    delivery to every consumer by `due_at`, mark them published. Returns the messages."""
    async with backend.outbox_store.claim(limit) as batch:
        await batch.expect_deliveries(
            [(event_id(m), consumer) for m in batch.messages for consumer in consumers], due_at
        )
        await batch.mark_published(backend.clock.now())
        return list(batch.messages)


async def overdue(backend: Backend, now: datetime, limit: int = 1000) -> list[tuple[str, UUID]]:
    """(consumer, event id) of the deliveries overdue at `now`, oldest due first; claimed and
    let go, not republished."""
    async with backend.outbox_store.claim_overdue(now, limit) as batch:
        return [(d.consumer, event_id(d.message)) for d in batch.deliveries]


async def project(backend: Backend, *order_ids: UUID) -> None:
    """Catch each order's view up to its latest event, as the projection consumer does."""
    projection = OrderProjection(backend.view_store, backend.clock)
    for order_id in order_ids:
        await projection.catch_up(order_id, (await backend.order(order_id)).version)


def event_id(message: Message) -> UUID:
    return UUID(message["event_id"])


async def six_events(backend: Backend) -> UUID:
    """An order placed, held, resumed, linked to a case and booked: six events, each with its
    line in the timeline."""
    await backend.stock("MUG", "dc-east", 10)
    order_id = await place(backend, 2)
    await backend.run(c.HoldOrder(order_id=order_id, reason="address check"))
    await backend.run(c.ResumeOrder(order_id=order_id))
    await backend.run(c.LinkCase(order_id=order_id, case_id="500C10000000000"))
    await backend.run(c.BookOrder(order_id=order_id, erp_order_ref="ERP-1"))
    return order_id


async def five_orders(backend: Backend) -> list[UUID]:
    """Five orders, oldest first, the last two placed at one moment; one on another channel and
    booked, one held and linked to a case, two of one customer (as she spelt it each time)."""
    await backend.stock("MUG", "dc-east", 50)
    ada = CustomerFactory(email="Ada.Lovelace@Example.com")
    first = await place(backend, customer=ada, channel_order_ref="WEB-1")
    backend.clock.advance(timedelta(minutes=1))
    shop = await place(backend, channel="shop", channel_order_ref="WEB-1")
    await backend.run(c.BookOrder(order_id=shop, erp_order_ref="ERP-2"))
    backend.clock.advance(timedelta(minutes=1))
    held = await place(backend, channel_order_ref="WEB-3")
    await backend.run(c.HoldOrder(order_id=held, reason="fraud check"))
    await backend.run(c.LinkCase(order_id=held, case_id="500C30000000000"))
    backend.clock.advance(timedelta(minutes=1))
    twins = [
        await place(backend, customer=CustomerFactory(email="ada.lovelace@example.com")),
        await place(backend),
    ]
    orders = [first, shop, held, *twins]
    await project(backend, *orders)
    return orders


def newest_first(orders: list[UUID]) -> list[UUID]:
    """`five_orders` newest first: of the two placed at one moment, the greater id first."""
    return [*sorted(orders[3:], reverse=True), *orders[2::-1]]


async def attempt(backend: Backend, event: UUID, consumer: str) -> Attempt:
    """Start an attempt whose hold ends at once, as if its worker died as it began: the next
    start counts again. (Holds have tests of their own below.)"""
    now = backend.clock.now()
    return await backend.delivery_log.start(event, consumer, now, now)
