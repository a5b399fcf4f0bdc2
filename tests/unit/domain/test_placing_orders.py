"""Placing an order: field rules first, then all-or-nothing reservation unless backorder is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.errors import InsufficientStock, Shortage, ValidationFailed
from domain.events import (
    InventoryReserved,
    LineItem,
    MissingUnits,
    OrderBackordered,
    OrderPlaced,
)
from domain.reservation import ReservationStatus
from tests.factories import AddressFactory, CustomerFactory
from tests.unit.domain.builders import (
    NOW,
    PRIORITY,
    event_types,
    issue_fields,
    levels,
    line,
    on_hand_and_reserved,
    place,
    settled,
    stock_state,
    the_event,
)


def refused_fields(*lines: Any, **command: Any) -> list[str]:
    """The field paths a placement is refused on; the stock it was placed against stays as it was."""
    stock = levels(("MUG", "dc-east", 100), ("BOWL", "dc-east", 100))
    before = stock_state(stock)
    with pytest.raises(ValidationFailed) as refused:
        place(*(lines or (line("MUG"),)), stock=stock, **command)
    assert stock_state(stock) == before
    return issue_fields(refused.value)


# -- field rules -----------------------------------------------------------------------------


def test_an_unknown_currency_is_refused() -> None:
    assert refused_fields(currency="XYZ") == ["currency"]


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_quantity_below_one_is_refused(quantity: int) -> None:
    assert "lines[0].quantity" in refused_fields(line("MUG", quantity))


def test_a_negative_unit_price_is_refused() -> None:
    assert "lines[0].unit_price" in refused_fields(line("MUG", 1, "-0.01"))


def test_a_free_line_is_accepted() -> None:
    order = place(line("MUG", 1, "0.00"), stock=levels(("MUG", "dc-east", 1)))

    assert order.total.amount == Decimal(0)


def test_the_second_line_of_a_duplicated_sku_is_refused() -> None:
    fields = refused_fields(line("MUG"), line("BOWL"), line("MUG"))

    assert fields == ["lines[2].sku"]


def test_an_order_without_lines_is_refused() -> None:
    stock = levels(("MUG", "dc-east", 1))
    with pytest.raises(ValidationFailed) as refused:
        place(stock=stock)

    assert issue_fields(refused.value) == ["lines"]


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"email": ""}, "customer.email"),
        ({"email": "   "}, "customer.email"),
        ({"email": "not-an-address"}, "customer.email"),
        ({"name": ""}, "customer.name"),
        ({"name": "  "}, "customer.name"),
    ],
)
def test_a_blank_or_malformed_customer_is_refused(customer: dict[str, str], field: str) -> None:
    assert refused_fields(customer=CustomerFactory(**customer)) == [field]


@pytest.mark.parametrize("country", ["de", "DEU", "", "D", "ÄÖ"])
def test_a_country_that_is_not_an_iso_alpha_2_code_is_refused(country: str) -> None:
    fields = refused_fields(shipping_address=AddressFactory(country=country))

    assert fields == ["shipping_address.country"]


def test_a_blank_address_line_is_refused() -> None:
    fields = refused_fields(shipping_address=AddressFactory(line1=" ", city=""))

    assert fields == ["shipping_address.line1", "shipping_address.city"]


def test_a_payment_below_the_order_total_is_refused() -> None:
    fields = refused_fields(
        line("MUG", 2, "10.00"),
        shipping_amount=Decimal("4.95"),
        payment_amount=Decimal("24.94"),
    )

    assert fields == ["payment.amount"]


def test_a_payment_above_the_order_total_is_accepted() -> None:
    order = place(
        line("MUG", 1, "10.00"),
        stock=levels(("MUG", "dc-east", 1)),
        payment_amount=Decimal("12.00"),
    )

    assert order.payment.authorized.amount == Decimal("12.00")
    assert order.payment.status == "authorized"


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ({"lines": (line("MUG", 1, "9.999"),)}, "lines[0].unit_price"),
        ({"currency": "JPY", "lines": (line("MUG", 1, "100.5"),)}, "lines[0].unit_price"),
        ({"shipping_amount": Decimal("4.951")}, "shipping_amount"),
        ({"payment_amount": Decimal("100.001")}, "payment.amount"),
    ],
)
def test_more_decimals_than_the_currency_has_are_refused(
    command: dict[str, Any], field: str
) -> None:
    assert field in refused_fields(*command.pop("lines", ()), **command)


def test_every_broken_field_of_the_lines_is_reported_at_once() -> None:
    fields = refused_fields(line("MUG", 0, "-1.00"), line("MUG", 1, "1.001"))

    assert fields == [
        "lines[0].quantity",
        "lines[0].unit_price",
        "lines[1].sku",
        "lines[1].unit_price",
    ]


def test_every_broken_field_of_the_customer_and_address_is_reported_at_once() -> None:
    fields = refused_fields(
        customer=CustomerFactory(email="", name=""),
        shipping_address=AddressFactory(country="xx"),
    )

    assert fields == ["customer.email", "customer.name", "shipping_address.country"]


# -- reserving -------------------------------------------------------------------------------


def test_a_placed_order_is_reserved_and_records_placed_then_reserved() -> None:
    stock = levels(("MUG", "dc-east", 5))

    order = place(line("MUG", 2, "12.50"), stock=stock, shipping_amount=Decimal("4.95"))

    assert order.status == "reserved"
    assert event_types(order) == ["OrderPlaced", "InventoryReserved"]
    placed = the_event(order, OrderPlaced)
    assert placed.lines == (LineItem(sku="MUG", quantity=2, unit_price=Decimal("12.50")),)
    assert (placed.total, placed.shipping_amount, placed.currency) == (
        Decimal("29.95"),
        Decimal("4.95"),
        "EUR",
    )
    reserved = the_event(order, InventoryReserved)
    assert [(u.sku, u.location, u.quantity) for u in reserved.reservations] == [
        ("MUG", "dc-east", 2)
    ]
    assert reserved.order_status == "reserved"
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (5, 2)


def test_reservations_of_a_new_order_are_held_without_expiry() -> None:
    order = place(line("MUG", 2), stock=levels(("MUG", "dc-east", 5)))

    assert [(r.status, r.expires_at) for r in order.reservations] == [
        (ReservationStatus.HELD, None)
    ]
    assert order.reserved("MUG") == 2


def test_the_version_counts_the_recorded_events() -> None:
    order = place(line("MUG"), stock=levels(("MUG", "dc-east", 1)))

    assert order.version == len(order.events) == 2
    assert order.first_pending_version == 1


def test_the_payment_is_authorized_with_the_channel_reference_and_amount() -> None:
    order = place(
        line("MUG", 1, "10.00"),
        stock=levels(("MUG", "dc-east", 1)),
        payment_reference="pay_42",
    )

    assert order.payment.reference == "pay_42"
    assert order.payment.authorized.amount == Decimal("10.00")
    assert order.payment.captured.amount == Decimal(0)


def test_without_backorder_insufficient_stock_refuses_the_order_and_reserves_nothing() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 1), ("BOWL", "dc-west", 1))
    before = stock_state(stock)

    with pytest.raises(InsufficientStock) as refused:
        place(line("MUG", 2), line("BOWL", 3), stock=stock)

    assert refused.value.shortages == (Shortage("BOWL", requested=3, available=2),)
    assert refused.value.code == "insufficient_stock"
    assert stock_state(stock) == before


def test_without_backorder_a_sku_with_no_stock_level_is_insufficient() -> None:
    with pytest.raises(InsufficientStock) as refused:
        place(line("MUG", 1), stock={})

    assert refused.value.shortages == (Shortage("MUG", requested=1, available=0),)


def test_with_backorder_the_order_reserves_what_it_can_and_records_what_is_missing() -> None:
    stock = levels(("MUG", "dc-east", 2), ("BOWL", "dc-east", 4))

    order = place(line("MUG", 5), line("BOWL", 1), stock=stock, allow_backorder=True)

    assert order.status == "backordered"
    assert event_types(order) == ["OrderPlaced", "InventoryReserved", "OrderBackordered"]
    assert the_event(order, OrderBackordered).missing == (MissingUnits(sku="MUG", missing=3),)
    assert the_event(order, InventoryReserved).order_status == "backordered"
    assert (order.reserved("MUG"), order.reserved("BOWL")) == (2, 1)
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (2, 2)
    assert order.version == 3


def test_with_backorder_and_no_stock_at_all_nothing_is_reserved() -> None:
    order = place(line("MUG", 2), stock={}, allow_backorder=True)

    assert order.status == "backordered"
    assert event_types(order) == ["OrderPlaced", "OrderBackordered"]
    assert order.reservations == []


def test_a_backordered_order_becomes_reserved_when_stock_arrives() -> None:
    stock = levels(("MUG", "dc-east", 1))
    order = settled(place(line("MUG", 3), stock=stock, allow_backorder=True))
    stock.update(levels(("MUG", "dc-west", 5)))

    reserved_any = order.fill_backorder(stock, PRIORITY, uuid4, NOW)

    assert reserved_any
    assert order.status == "reserved"
    assert order.reserved("MUG") == 3
    assert event_types(order) == ["InventoryReserved"]
    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (5, 2)
