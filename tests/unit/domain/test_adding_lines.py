"""Order edits that add lines before booking, or to a booked order before it ships (issue 20
item 3): reserved like placement, under a new authorization covering the new total; refused whole
otherwise; an ERP refusing a booked order's edit undoes it."""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from uuid import UUID

import pytest

from domain.errors import InsufficientStock, InvalidTransition, ValidationFailed
from domain.events import (
    AddedLinesRefused,
    InventoryReserved,
    LineItem,
    LinesAdded,
    OrderBackordered,
)
from domain.money import Money
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.order_lines import LineSpec
from domain.reservation import ReservationStatus
from tests.factories import LineSpecFactory
from tests.unit.domain.builders import (
    HOLD_TTL,
    NOW,
    PRIORITY,
    Stock,
    book,
    event_types,
    issue_fields,
    levels,
    line,
    on_hand_and_reserved,
    place,
    settled,
    ship,
    state_of,
    stock_state,
    the_event,
)

_numbers = count(1000)


def new_id() -> UUID:
    return UUID(int=next(_numbers))


def add(
    order: Order, stock: Stock, *lines: LineSpec, reference: str = "pay-2", amount: str = "100.00"
) -> None:
    order.add_lines(
        lines=lines,
        payment_reference=reference,
        payment_amount=Decimal(amount),
        now=NOW,
        stock=stock,
        priority=PRIORITY,
        new_id=new_id,
    )


def taxed(sku: str, quantity: int, price: str, tax: str) -> LineSpec:
    return LineSpecFactory(
        sku=sku, quantity=quantity, unit_price=Decimal(price), tax_amount=Decimal(tax)
    )


def reserved_mug_order(stock: Stock) -> Order:
    """One mug at 19.99, reserved, authorized under pay-1 for 19.99."""
    return settled(place(line("MUG", 1), stock=stock, payment_reference="pay-1"))


def test_an_added_line_is_reserved_under_a_new_authorization_for_the_new_total() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = reserved_mug_order(stock)

    add(order, stock, taxed("BOWL", 2, "8.00", "1.60"), amount="39.19")

    assert order.status == "reserved"
    assert order.total == Money.of("39.19", "EUR")  # 19.99 + 2 × 9.60
    assert order.reserved("BOWL") == 2
    assert on_hand_and_reserved(stock, "BOWL", "dc-east") == (5, 2)
    assert (order.payment.reference, order.payment.authorized) == (
        "pay-2",
        Money.of("39.19", "EUR"),
    )
    assert event_types(order) == ["LinesAdded", "InventoryReserved"]
    added = the_event(order, LinesAdded)
    assert added.lines == (
        LineItem(sku="BOWL", quantity=2, unit_price=Decimal("8.00"), tax_amount=Decimal("1.60")),
    )
    assert (added.previous_payment_reference, added.total) == ("pay-1", Decimal("39.19"))
    assert the_event(order, InventoryReserved).order_status == "reserved"


def test_a_reserved_order_refuses_lines_it_cannot_reserve_and_changes_nothing() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 1))
    order = reserved_mug_order(stock)
    before, levels_before = state_of(order), stock_state(stock)

    with pytest.raises(InsufficientStock):
        add(order, stock, line("BOWL", 2, "8.00"))

    assert state_of(order) == before
    assert stock_state(stock) == levels_before


def test_a_backordered_order_takes_lines_that_wait_for_stock_too() -> None:
    stock = levels(("MUG", "dc-east", 0), ("BOWL", "dc-east", 1))
    order = settled(place(line("MUG", 1), stock=stock, allow_backorder=True))
    assert order.status == "backordered"

    add(order, stock, line("BOWL", 3, "8.00"))

    assert order.status == "backordered"
    assert order.reserved("BOWL") == 1
    assert event_types(order) == ["LinesAdded", "InventoryReserved", "OrderBackordered"]
    missing = {(m.sku, m.missing) for m in the_event(order, OrderBackordered).missing}
    assert missing == {("MUG", 1), ("BOWL", 2)}


def test_a_payment_that_does_not_cover_the_new_total_is_refused() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = reserved_mug_order(stock)
    before = state_of(order)

    with pytest.raises(ValidationFailed) as refused:
        add(order, stock, taxed("BOWL", 1, "8.00", "1.60"), amount="29.58")  # 29.59 due

    assert issue_fields(refused.value) == ["payment.amount"]
    assert state_of(order) == before


def test_a_line_of_an_sku_the_order_has_or_a_bad_line_is_refused_by_its_field() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = reserved_mug_order(stock)

    with pytest.raises(ValidationFailed) as same_sku:
        add(order, stock, line("MUG", 1))
    with pytest.raises(ValidationFailed) as bad_line:
        add(order, stock, LineSpecFactory(sku="BOWL", quantity=0), reference=" ")

    assert issue_fields(same_sku.value) == ["add_lines[0].sku"]
    assert issue_fields(bad_line.value) == ["add_lines[0].quantity"]


def test_nothing_to_add_is_refused() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = reserved_mug_order(stock)

    with pytest.raises(ValidationFailed) as refused:
        add(order, stock)

    assert issue_fields(refused.value) == ["add_lines"]


@pytest.mark.parametrize("how", ["shipped", "on hold", "cancelled", "re-reserved after booking"])
def test_lines_are_added_only_before_booking_or_to_a_booked_order_before_shipping(
    how: str,
) -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = reserved_mug_order(stock)
    if how == "shipped":
        ship(book(order), stock, ("MUG", 1))
    elif how == "on hold":
        order.hold("customer called", NOW, HOLD_TTL)
    elif how == "cancelled":
        order.cancel("changed mind", NOW, stock)
    else:  # booked once, then it lost its stock and was reserved again (`Order.book`)
        order.erp_order_ref = "ERP-1"
    before = state_of(settled(order))

    with pytest.raises(InvalidTransition) as refused:
        add(order, stock, line("BOWL", 1, "8.00"))

    assert refused.value.command == "add_lines"
    assert state_of(order) == before


def test_a_booked_order_takes_firm_new_lines_and_names_the_authorization_it_replaced() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = settled(book(reserved_mug_order(stock)))

    add(order, stock, taxed("BOWL", 2, "8.00", "1.60"), amount="39.19")

    assert order.status is OrderStatus.BOOKED
    assert all(r.status is ReservationStatus.CONFIRMED for r in order.reservations)
    added = the_event(order, LinesAdded)
    assert (added.booked, added.previous_payment_reference) == (True, "pay-1")
    assert added.previous_payment_amount == Decimal("19.99")
    assert on_hand_and_reserved(stock, "BOWL", "dc-east") == (5, 2)


def test_the_erp_refusing_a_booked_orders_edit_leaves_it_as_it_was_on_hold() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = settled(book(reserved_mug_order(stock)))
    before, stock_before = state_of(order), stock_state(stock)
    add(order, stock, taxed("BOWL", 2, "8.00", "1.60"), amount="39.19")

    refuse(order, stock)

    after = state_of(order)
    # The released holds of the refused lines stay in the order's history, released.
    held = {"status", "hold_reason", "held_at", "resume_to", "updated_at", "version", "events"}
    held |= {"reservations"}
    assert {k: v for k, v in after.items() if k not in held} == {
        k: v for k, v in before.items() if k not in held
    }
    active = [r for r in order.reservations if r.is_active]
    assert active == [r for r in before["reservations"] if r.is_active]
    assert (order.status, order.resume_to) == (OrderStatus.ON_HOLD, OrderStatus.BOOKED)
    assert order.hold_reason == "erp_rejected: unknown items BOWL"
    assert {k: v[:2] for k, v in stock_state(stock).items()} == {
        k: v[:2] for k, v in stock_before.items()
    }
    refused = the_event(order, AddedLinesRefused)
    assert (refused.payment_reference, refused.refused_payment_reference) == ("pay-1", "pay-2")
    assert refused.total == Decimal("19.99")


def test_only_the_edit_the_order_stands_on_is_undone() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = settled(book(reserved_mug_order(stock)))
    add(order, stock, taxed("BOWL", 2, "8.00", "1.60"), amount="39.19")
    refuse(order, stock)
    before = state_of(settled(order))

    with pytest.raises(InvalidTransition):
        refuse(order, stock)  # the same refusal again: already undone
    assert state_of(order) == before


def refuse(order: Order, stock: Stock) -> None:
    order.refuse_added_lines(
        skus=("BOWL",),
        refused_payment_reference="pay-2",
        previous_payment_reference="pay-1",
        previous_payment_amount=Decimal("19.99"),
        reason="unknown items BOWL",
        now=NOW,
        stock=stock,
        hold_ttl=HOLD_TTL,
    )
