"""The ERP catch-up books every order that waited, batch after batch, not one batch per run: in a
flash sale orders wait for it whenever the workers fall behind, not only while the ERP is away."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from adapters.memory.remote import InMemoryErp
from application.process_managers.fulfilment import Fulfilment
from domain.order_lifecycle import OrderStatus
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub


async def placed(hub: Hub, count: int) -> list[UUID]:
    await hub.stock("MUG", "dc-east", count)
    line = LineSpecFactory(sku="MUG", quantity=1, unit_price=Decimal("5"))
    orders = [await hub.run(PlaceOrderFactory(lines=(line,))) for _ in range(count)]
    hub.clock.advance(timedelta(seconds=1))  # reserved a while ago: past the grace
    return orders


async def test_one_run_books_every_waiting_order_in_batches(hub: Hub) -> None:
    erp = InMemoryErp()
    fulfilment = Fulfilment(hub.process_context(erp=erp))
    orders = await placed(hub, 25)

    answered = await fulfilment.book_waiting(batch=10)

    assert answered == 25
    assert len(erp.orders) == 25
    await hub.drain()  # the ERP's answers recorded
    assert all(hub.order(o).status is OrderStatus.BOOKED for o in orders)


async def test_a_run_stops_at_its_bound_and_the_next_goes_on(hub: Hub) -> None:
    erp = InMemoryErp()
    fulfilment = Fulfilment(hub.process_context(erp=erp))
    orders = await placed(hub, 25)

    assert await fulfilment.book_waiting(batch=10, most=15) == 15
    assert await fulfilment.book_waiting(batch=10, most=15) == 10
    assert sorted(erp.orders) == sorted(orders)
