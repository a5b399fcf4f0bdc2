"""Adding lines through the hub: the command reaches `Order.add_lines`, the replaced
authorization is voided once at the provider, the ERP books the order with its new lines (or
hears of them as an amendment when it was booked), an ERP refusing that amendment leaves the
order as it was, on hold, and the view and the timeline show it all."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from adapters.memory.remote import InMemoryErp, InMemoryPayments
from application.process_managers.fulfilment import Fulfilment
from domain import commands as c
from domain.errors import InsufficientStock, InvalidTransition
from domain.order_lifecycle import OrderStatus
from read_models.timeline import entry
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub
from tests.unit.read_models.test_order_view import folded, rendered

BOWL = LineSpecFactory(
    sku="BOWL", quantity=2, unit_price=Decimal("8.00"), tax_amount=Decimal("1.60")
)


async def mug_order(hub: Hub) -> UUID:
    """1 × MUG at 19.99 (no tax), reserved, authorized under pay-1 for 19.99."""
    await hub.stock("MUG", "dc-east", 5)
    await hub.stock("BOWL", "dc-east", 5)
    mug = LineSpecFactory(sku="MUG", quantity=1, unit_price=Decimal("19.99"))
    order_id: UUID = await hub.run(
        PlaceOrderFactory(lines=(mug,), payment_reference="pay-1", payment_amount=Decimal("19.99"))
    )
    return order_id


def add_bowls(order_id: UUID, amount: str = "39.19") -> c.AddLines:
    return c.AddLines(
        order_id=order_id,
        lines=(BOWL,),
        payment_reference="pay-2",
        payment_amount=Decimal(amount),
    )


async def deliver(hub: Hub, fulfilment: Fulfilment, order_id: UUID, *types: str) -> None:
    for envelope in hub.events(order_id):
        if envelope.event_type in types:
            await fulfilment.handle(envelope)


async def test_added_lines_are_reserved_under_the_new_authorization(hub: Hub) -> None:
    order_id = await mug_order(hub)
    await hub.run(add_bowls(order_id))

    order = hub.order(order_id)
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("MUG", 1), ("BOWL", 2)]
    assert order.total.amount == Decimal("39.19")
    assert (order.payment.reference, order.payment.authorized.amount) == (
        "pay-2",
        Decimal("39.19"),
    )
    assert order.status is OrderStatus.RESERVED
    assert hub.level("BOWL", "dc-east").reserved == 2
    assert hub.event_types(order_id)[-2:] == ["LinesAdded", "InventoryReserved"]


async def test_the_replaced_authorization_is_voided_once_and_the_new_one_kept(hub: Hub) -> None:
    payments, erp = InMemoryPayments(), InMemoryErp()
    fulfilment = Fulfilment(hub.process_context(payment=payments, erp=erp))
    order_id = await mug_order(hub)
    await hub.run(add_bowls(order_id))

    for _ in range(2):  # the event delivered twice
        await deliver(hub, fulfilment, order_id, "LinesAdded")

    assert payments.voids == {"pay-1": f"void:{order_id}:pay-1"}
    assert erp.amendments == []  # not booked yet: nothing to amend


async def test_the_same_reference_sent_again_is_not_voided(hub: Hub) -> None:
    payments = InMemoryPayments()
    fulfilment = Fulfilment(hub.process_context(payment=payments))
    order_id = await mug_order(hub)
    again = c.AddLines(
        order_id=order_id, lines=(BOWL,), payment_reference="pay-1", payment_amount=Decimal("40")
    )
    await hub.run(again)

    await deliver(hub, fulfilment, order_id, "LinesAdded")

    assert payments.voids == {}


async def test_the_erp_books_the_order_with_its_added_lines(hub: Hub) -> None:
    erp = InMemoryErp()
    fulfilment = Fulfilment(hub.process_context(payment=InMemoryPayments(), erp=erp))
    order_id = await mug_order(hub)
    await hub.run(add_bowls(order_id))

    await deliver(hub, fulfilment, order_id, "LinesAdded", "InventoryReserved")

    booked = erp.orders[order_id]
    assert [(ln.sku, ln.quantity, ln.tax_amount) for ln in booked.lines] == [
        ("MUG", 1, Decimal("0.00")),
        ("BOWL", 2, Decimal("1.60")),
    ]
    assert booked.total == Decimal("39.19")
    assert hub.order(order_id).status is OrderStatus.BOOKED


async def test_a_booking_that_raced_the_edit_gets_the_added_lines_as_an_amendment(
    hub: Hub,
) -> None:
    """The ERP booked the one-mug document while the edit committed: `LinesAdded` is handled
    after that booking (in order per order), so the ERP hears the new lines as an amendment."""
    erp = InMemoryErp()
    fulfilment = Fulfilment(hub.process_context(payment=InMemoryPayments(), erp=erp))
    order_id = await mug_order(hub)
    await hub.run(add_bowls(order_id))
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))  # the raced booking

    await deliver(hub, fulfilment, order_id, "LinesAdded")

    assert erp.amendments == [(order_id, "SO-1")]
    assert [ln.sku for ln in erp.orders[order_id].lines] == ["MUG", "BOWL"]


async def test_a_booked_order_takes_new_lines_the_erp_gets_them_then_the_old_payment_goes(
    hub: Hub,
) -> None:
    payments, erp = InMemoryPayments(), InMemoryErp()
    fulfilment = Fulfilment(hub.process_context(payment=payments, erp=erp))
    order_id = await mug_order(hub)
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.run(add_bowls(order_id))

    order = hub.order(order_id)
    assert (order.status, order.payment.reference) == (OrderStatus.BOOKED, "pay-2")
    assert all(not r.expires_at for r in order.reservations)  # firm, like a booked order's
    await deliver(hub, fulfilment, order_id, "LinesAdded")

    assert erp.amendments == [(order_id, "SO-1")]
    assert [ln.sku for ln in erp.orders[order_id].lines] == ["MUG", "BOWL"]
    assert payments.voids == {"pay-1": f"void:{order_id}:pay-1"}


async def test_the_erp_refusing_the_added_lines_puts_the_order_back_as_it_was_on_hold(
    hub: Hub,
) -> None:
    payments, erp = InMemoryPayments(), InMemoryErp(rejected_skus={"BOWL"})
    fulfilment = Fulfilment(hub.process_context(payment=payments, erp=erp))
    order_id = await mug_order(hub)
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    before = rendered(hub, order_id)
    await hub.run(add_bowls(order_id))

    for _ in range(2):  # the edit's event delivered twice: undone once
        await deliver(hub, fulfilment, order_id, "LinesAdded")
    for _ in range(2):  # and the undoing's twice: the edit's authorization voided once
        await deliver(hub, fulfilment, order_id, "AddedLinesRefused")

    order = hub.order(order_id)
    assert [(ln.sku, ln.quantity) for ln in order.lines] == [("MUG", 1)]
    assert (order.payment.reference, order.payment.authorized.amount) == (
        "pay-1",
        Decimal("19.99"),
    )
    assert order.total.amount == Decimal("19.99")
    assert (order.status, order.resume_to) == (OrderStatus.ON_HOLD, OrderStatus.BOOKED)
    assert order.hold_reason == "erp_rejected: unknown items BOWL"
    assert hub.level("BOWL", "dc-east").reserved == 0
    assert hub.level("MUG", "dc-east").reserved == 1
    assert hub.event_types(order_id).count("AddedLinesRefused") == 1
    assert payments.voids == {"pay-2": f"void:{order_id}:pay-2"}
    assert erp.amendments == []  # the ERP still has the order as it booked it
    view = folded(hub, order_id)
    assert view == rendered(hub, order_id)
    changed = {k for k in view if view[k] != before[k]} - {"version", "updated_at"}
    assert changed == {"status"}  # lines, total, payment and reservations as before the edit
    (refused,) = [m for m in hub.messages(order_id) if m["event_type"] == "AddedLinesRefused"]
    shown = entry(refused)
    assert shown is not None
    assert (shown.kind, shown.source) == ("order.lines_refused", "erp")
    assert shown.title == (
        "The ERP refused the added lines (2 × BOWL): unknown items BOWL; the order is back as it"
        " was, total 19.99 under pay-1, and on hold"
    )


async def test_a_shipped_order_takes_no_new_lines(hub: Hub) -> None:
    order_id = await mug_order(hub)
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.ship(order_id, "MUG", 1)

    with pytest.raises(InvalidTransition):
        await hub.run(add_bowls(order_id))
    assert [ln.sku for ln in hub.order(order_id).lines] == ["MUG"]


async def test_lines_that_cannot_be_reserved_leave_a_reserved_order_as_it_was(hub: Hub) -> None:
    order_id = await mug_order(hub)
    version = hub.order(order_id).version
    scarce = LineSpecFactory(sku="VASE", quantity=1, unit_price=Decimal("5.00"))

    with pytest.raises(InsufficientStock):
        await hub.run(
            c.AddLines(
                order_id=order_id,
                lines=(scarce,),
                payment_reference="pay-2",
                payment_amount=Decimal("24.99"),
            )
        )
    order = hub.order(order_id)
    assert (order.version, order.payment.reference) == (version, "pay-1")
    assert [ln.sku for ln in order.lines] == ["MUG"]


async def test_the_view_and_the_timeline_show_the_added_lines(hub: Hub) -> None:
    order_id = await mug_order(hub)
    await hub.run(add_bowls(order_id))

    view = folded(hub, order_id)
    assert view == rendered(hub, order_id)
    assert [(ln["sku"], ln["quantity"], ln["tax_amount"]) for ln in view["lines"]] == [
        ("MUG", 1, "0.00"),
        ("BOWL", 2, "1.60"),
    ]
    assert view["payment"]["reference"] == "pay-2"
    (added,) = [m for m in hub.messages(order_id) if m["event_type"] == "LinesAdded"]
    shown = entry(added)
    assert shown is not None
    assert (shown.kind, shown.source) == ("order.lines_added", "channel")
    assert shown.title == (
        "Lines added: 2 × BOWL; total now 39.19, authorized 39.19 under pay-2 (replacing pay-1)"
    )
