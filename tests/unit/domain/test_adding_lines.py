"""Order edits that add lines before booking (issue 20 item 3, the domain only): reserved like
placement, under a new authorization covering the new total; refused whole otherwise."""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from uuid import UUID

import pytest

from domain.errors import InsufficientStock, InvalidTransition, ValidationFailed
from domain.events import InventoryReserved, LineItem, LinesAdded, OrderBackordered
from domain.money import Money
from domain.order import Order
from domain.order_lines import LineSpec
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


@pytest.mark.parametrize("how", ["booked", "on hold", "cancelled", "re-reserved after booking"])
def test_lines_are_added_only_before_booking(how: str) -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = reserved_mug_order(stock)
    if how == "booked":
        book(order)
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
