"""Amending and cancelling before the first shipment; reservations shrink or go back to sale."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidTransition, ValidationFailed, VersionMismatch
from domain.events import OrderAmended, OrderCancelled, PaymentVoided, SkuQuantity
from domain.order import Order
from domain.reservation import ReservationStatus
from tests.factories import AddressFactory
from tests.unit.domain.builders import (
    HOLD_TTL,
    NOW,
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


def split_order() -> tuple[Order, Stock]:
    """Five mugs reserved as 2 at dc-east (first priority) and 3 at dc-west."""
    stock = levels(("MUG", "dc-east", 2), ("MUG", "dc-west", 10), ("BOWL", "dc-east", 10))
    order = settled(place(line("MUG", 5, "10.00"), line("BOWL", 1, "4.00"), stock=stock))
    return order, stock


# -- amending --------------------------------------------------------------------------------


def test_reducing_a_line_releases_from_the_lowest_priority_location_first() -> None:
    order, stock = split_order()

    order.amend(now=NOW, stock=stock, quantities={"MUG": 3})

    assert order.line("MUG").quantity == 3  # type: ignore[union-attr]
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (2, 2)
    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (10, 1)
    amended = the_event(order, OrderAmended)
    assert [(u.location, u.quantity) for u in amended.released] == [("dc-west", 2)]
    assert amended.lines == (SkuQuantity(sku="MUG", quantity=3),)
    assert amended.total == Decimal("34.00")
    assert order.total.amount == Decimal("34.00")


def test_reducing_a_line_below_one_location_moves_on_to_the_next() -> None:
    order, stock = split_order()

    order.amend(now=NOW, stock=stock, quantities={"MUG": 1})

    released = the_event(order, OrderAmended).released
    assert [(u.location, u.quantity) for u in released] == [("dc-west", 3), ("dc-east", 1)]
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (2, 1)
    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (10, 0)
    west = next(r for r in order.reservations if r.location == "dc-west")
    assert west.status is ReservationStatus.RELEASED
    assert order.reserved("MUG") == 1


def test_removing_a_line_releases_all_of_its_reservations() -> None:
    order, stock = split_order()

    order.amend(now=NOW, stock=stock, quantities={"MUG": 0})

    assert [ln.sku for ln in order.lines] == ["BOWL"]
    assert order.reserved("MUG") == 0
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (2, 0)
    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (10, 0)
    assert order.total.amount == Decimal("4.00")
    assert the_event(order, OrderAmended).lines == (SkuQuantity(sku="MUG", quantity=0),)
    assert order.status == "reserved"


def test_changing_the_address_changes_only_the_address() -> None:
    order, stock = split_order()
    before = stock_state(stock)
    new_address = AddressFactory(country="AT")

    order.amend(now=NOW, stock=stock, shipping_address=new_address)

    assert order.shipping_address == new_address
    assert stock_state(stock) == before
    amended = the_event(order, OrderAmended)
    assert (amended.shipping_address, amended.lines, amended.released) == (new_address, (), ())
    assert order.version == 3


def test_an_invalid_new_address_is_refused() -> None:
    order, stock = split_order()
    before = state_of(order)

    with pytest.raises(ValidationFailed) as refused:
        order.amend(now=NOW, stock=stock, shipping_address=AddressFactory(country="austria"))

    assert issue_fields(refused.value) == ["shipping_address.country"]
    assert state_of(order) == before


def test_increasing_a_line_is_refused_and_changes_nothing() -> None:
    order, stock = split_order()
    before, stock_before = state_of(order), stock_state(stock)

    with pytest.raises(ValidationFailed) as refused:
        order.amend(now=NOW, stock=stock, quantities={"MUG": 6})

    assert issue_fields(refused.value) == ["lines.MUG"]
    assert state_of(order) == before
    assert stock_state(stock) == stock_before


def test_amending_a_sku_the_order_does_not_have_is_refused() -> None:
    order, stock = split_order()

    with pytest.raises(ValidationFailed) as refused:
        order.amend(now=NOW, stock=stock, quantities={"PLATE": 1})

    assert issue_fields(refused.value) == ["lines.PLATE"]


def test_removing_every_line_is_refused_in_favour_of_cancelling() -> None:
    order, stock = split_order()
    before, stock_before = state_of(order), stock_state(stock)

    with pytest.raises(ValidationFailed) as refused:
        order.amend(now=NOW, stock=stock, quantities={"MUG": 0, "BOWL": 0})

    assert issue_fields(refused.value) == ["lines"]
    assert state_of(order) == before
    assert stock_state(stock) == stock_before


def test_an_amendment_that_changes_nothing_is_refused() -> None:
    order, stock = split_order()

    with pytest.raises(ValidationFailed) as refused:
        order.amend(now=NOW, stock=stock)

    assert issue_fields(refused.value) == ["body"]


def test_a_backordered_order_amended_down_to_what_is_reserved_becomes_reserved() -> None:
    stock = levels(("MUG", "dc-east", 2))
    order = settled(place(line("MUG", 5), stock=stock, allow_backorder=True))

    order.amend(now=NOW, stock=stock, quantities={"MUG": 2})

    assert order.status == "reserved"
    amended = the_event(order, OrderAmended)
    assert (amended.order_status, amended.released) == ("reserved", ())
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (2, 2)


def test_a_backordered_order_amended_but_still_short_stays_backordered() -> None:
    stock = levels(("MUG", "dc-east", 2))
    order = settled(place(line("MUG", 5), stock=stock, allow_backorder=True))

    order.amend(now=NOW, stock=stock, quantities={"MUG": 3})

    assert order.status == "backordered"
    assert order.reserved("MUG") == 2


def test_a_booked_order_can_be_amended_and_stays_booked() -> None:
    order, stock = split_order()
    book(order)

    order.amend(now=NOW, stock=stock, quantities={"MUG": 4})

    assert order.status == "booked"
    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (10, 2)


def test_an_order_on_hold_can_be_amended_and_stays_on_hold() -> None:
    order, stock = split_order()
    order.hold("customer called", NOW, HOLD_TTL)

    order.amend(now=NOW, stock=stock, quantities={"BOWL": 0})

    assert order.status == "on_hold"
    assert on_hand_and_reserved(stock, "BOWL", "dc-east") == (10, 0)


def test_amending_after_a_shipment_is_refused() -> None:
    order, stock = split_order()
    book(order)
    ship(order, stock, ("BOWL", 1))
    before, stock_before = state_of(order), stock_state(stock)

    with pytest.raises(InvalidTransition) as refused:
        order.amend(now=NOW, stock=stock, quantities={"MUG": 1})

    assert (refused.value.state, refused.value.command) == ("partially_shipped", "amend")
    assert state_of(order) == before
    assert stock_state(stock) == stock_before


# -- cancelling ------------------------------------------------------------------------------


def test_cancelling_releases_every_reservation_and_voids_the_payment() -> None:
    order, stock = split_order()

    order.cancel("customer changed their mind", NOW, stock)

    assert order.status == "cancelled"
    assert all(lv.reserved == 0 for lv in stock.values())
    assert {r.status for r in order.reservations} == {ReservationStatus.RELEASED}
    assert order.payment.status == "voided"
    assert event_types(order) == ["OrderCancelled", "PaymentVoided"]
    cancelled = the_event(order, OrderCancelled)
    assert cancelled.reason == "customer changed their mind"
    assert sorted((u.sku, u.location, u.quantity) for u in cancelled.released) == [
        ("BOWL", "dc-east", 1),
        ("MUG", "dc-east", 2),
        ("MUG", "dc-west", 3),
    ]
    assert the_event(order, PaymentVoided).amount == Decimal("54.00")


def test_cancelling_a_booked_order_releases_its_confirmed_reservations() -> None:
    order, stock = split_order()
    book(order)

    order.cancel("fraud", NOW, stock)

    assert order.status == "cancelled"
    assert all(lv.reserved == 0 for lv in stock.values())


def test_cancelling_an_order_on_hold_releases_its_reservations() -> None:
    order, stock = split_order()
    order.hold("check address", NOW, HOLD_TTL)

    order.cancel("address is fake", NOW, stock)

    assert order.status == "cancelled"
    assert (order.hold_reason, order.resume_to) == (None, None)
    assert all(lv.reserved == 0 for lv in stock.values())


def test_cancelling_after_the_first_shipment_is_refused() -> None:
    order, stock = split_order()
    book(order)
    ship(order, stock, ("BOWL", 1))
    before, stock_before = state_of(order), stock_state(stock)

    with pytest.raises(InvalidTransition) as refused:
        order.cancel("too late", NOW, stock)

    assert (refused.value.state, refused.value.command) == ("partially_shipped", "cancel")
    assert state_of(order) == before
    assert stock_state(stock) == stock_before


def test_a_cancelled_order_cannot_be_cancelled_again() -> None:
    order, stock = split_order()
    order.cancel("once", NOW, stock)

    with pytest.raises(InvalidTransition):
        order.cancel("twice", NOW, stock)


def test_cancelling_without_a_reason_is_refused() -> None:
    order, stock = split_order()

    with pytest.raises(ValidationFailed) as refused:
        order.cancel(" ", NOW, stock)

    assert issue_fields(refused.value) == ["reason"]
    assert order.status == "reserved"


# -- optimistic concurrency ------------------------------------------------------------------


def test_a_change_based_on_a_stale_version_is_refused() -> None:
    order, _ = split_order()

    with pytest.raises(VersionMismatch) as refused:
        order.ensure_version(order.version - 1)

    assert refused.value.context() == {"expected_version": 1, "current_version": 2}


def test_the_current_version_or_no_version_is_accepted() -> None:
    order, _ = split_order()

    order.ensure_version(order.version)
    order.ensure_version(None)


def test_each_accepted_change_bumps_the_version() -> None:
    order, stock = split_order()
    order.amend(now=NOW, stock=stock, quantities={"MUG": 4})

    with pytest.raises(VersionMismatch):
        order.ensure_version(2)
    order.ensure_version(3)
