"""Shipments consume reservations, never exceed what was ordered, and trigger the capture."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.errors import (
    InvalidTransition,
    ShipmentConflict,
    ShipmentExceedsOrdered,
    ShipmentNotFound,
    ValidationFailed,
)
from domain.events import PaymentCaptured, ShipmentDelivered, ShipmentDispatched, SkuQuantity
from domain.money import Money
from domain.order import Order
from domain.reservation import ReservationStatus
from tests.unit.domain.builders import (
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

LATER = NOW + timedelta(days=2)


def booked_order(mugs: int = 3, east: int = 10, west: int = 10) -> tuple[Order, Stock]:
    """A booked order for `mugs` mugs and a bowl, reserved at dc-east first."""
    stock = levels(("MUG", "dc-east", east), ("MUG", "dc-west", west), ("BOWL", "dc-east", 5))
    order = place(line("MUG", mugs, "10.00"), line("BOWL", 1, "5.00"), stock=stock)
    return settled(book(order)), stock


# -- dispatch --------------------------------------------------------------------------------


def test_a_shipment_consumes_the_reservation_at_its_location() -> None:
    order, stock = booked_order()

    ship(order, stock, ("MUG", 3), ("BOWL", 1), tracking_number="TRK-1")

    assert order.status == "shipped"
    assert [(ln.sku, ln.shipped) for ln in order.lines] == [("MUG", 3), ("BOWL", 1)]
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (7, 0)
    assert on_hand_and_reserved(stock, "BOWL", "dc-east") == (4, 0)
    assert {r.status for r in order.reservations} == {ReservationStatus.FULFILLED}
    assert order.events == [
        ShipmentDispatched(
            order_id=order.id,
            shipment_id="S1",
            location="dc-east",
            carrier="DHL",
            tracking_number="TRK-1",
            lines=(SkuQuantity(sku="MUG", quantity=3), SkuQuantity(sku="BOWL", quantity=1)),
            dispatched_at=NOW,
            order_status="shipped",
        )
    ]


def test_a_partial_shipment_leaves_the_rest_reserved() -> None:
    order, stock = booked_order()

    ship(order, stock, ("MUG", 1))

    assert order.status == "partially_shipped"
    assert order.reserved("MUG") == 2
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (9, 2)
    mug = next(r for r in order.reservations if r.sku == "MUG")
    assert (mug.status, mug.fulfilled, mug.outstanding) == (ReservationStatus.CONFIRMED, 1, 2)


def test_a_shipment_consumes_reservations_at_its_own_location_first() -> None:
    order, stock = booked_order(mugs=5, east=2)  # 2 reserved at dc-east, 3 at dc-west

    ship(order, stock, ("MUG", 3), location="dc-west")

    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (7, 0)
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (2, 2)
    east, west = (r for r in order.reservations if r.sku == "MUG")
    assert (east.status, west.status) == (ReservationStatus.CONFIRMED, ReservationStatus.FULFILLED)


def test_shipping_from_another_location_releases_the_hold_and_takes_stock_where_it_shipped() -> (
    None
):
    order, stock = booked_order()  # all three mugs reserved at dc-east

    ship(order, stock, ("MUG", 3), location="dc-west")

    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (10, 0)
    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (7, 0)
    mug = next(r for r in order.reservations if r.sku == "MUG")
    assert mug.status is ReservationStatus.RELEASED
    assert order.line("MUG").shipped == 3  # type: ignore[union-attr]


def test_shipping_more_than_was_ordered_is_refused_and_changes_nothing() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 2))
    before, stock_before = state_of(order), stock_state(stock)

    with pytest.raises(ShipmentExceedsOrdered):
        ship(order, stock, ("BOWL", 1), ("MUG", 2), shipment_id="S2")

    assert state_of(order) == before
    assert stock_state(stock) == stock_before


def test_a_shipment_of_a_sku_the_order_does_not_have_is_refused() -> None:
    order, stock = booked_order()

    with pytest.raises(ValidationFailed) as refused:
        ship(order, stock, ("PLATE", 1))

    assert issue_fields(refused.value) == ["lines[0].sku"]


def test_a_shipment_with_a_zero_quantity_is_refused() -> None:
    order, stock = booked_order()

    with pytest.raises(ValidationFailed) as refused:
        ship(order, stock, ("MUG", 0))

    assert issue_fields(refused.value) == ["lines[0].quantity"]


def test_an_order_the_erp_has_not_booked_cannot_ship() -> None:
    stock = levels(("MUG", "dc-east", 1))
    order = place(line("MUG"), stock=stock)

    with pytest.raises(InvalidTransition) as refused:
        ship(order, stock, ("MUG", 1))

    assert (refused.value.state, refused.value.command) == ("reserved", "ship")


def test_the_same_shipment_reported_twice_is_recorded_once() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 1))
    before, stock_before = state_of(order), stock_state(stock)

    ship(order, stock, ("MUG", 1))

    assert state_of(order) == before
    assert stock_state(stock) == stock_before


def test_a_shipment_reported_again_with_other_contents_is_a_conflict() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 1))
    before = state_of(order)

    with pytest.raises(ShipmentConflict):
        ship(order, stock, ("MUG", 1), tracking_number="OTHER")
    with pytest.raises(ShipmentConflict):
        ship(order, stock, ("MUG", 2))

    assert state_of(order) == before


# -- delivery --------------------------------------------------------------------------------


def test_a_delivery_of_an_unknown_shipment_is_refused() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 3), ("BOWL", 1))

    with pytest.raises(ShipmentNotFound):
        order.record_delivery("S9", LATER, LATER)


def test_an_order_whose_single_shipment_arrived_is_delivered() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 3), ("BOWL", 1))
    settled(order)

    order.record_delivery("S1", LATER, LATER)

    assert order.status == "delivered"
    assert order.shipments["S1"].delivered_at == LATER
    assert order.events == [
        ShipmentDelivered(
            order_id=order.id, shipment_id="S1", delivered_at=LATER, order_status="delivered"
        )
    ]


def test_a_delivered_partial_shipment_leaves_the_order_partially_shipped() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 3))

    order.record_delivery("S1", LATER, LATER)

    assert order.status == "partially_shipped"


def test_the_order_is_delivered_only_once_everything_shipped_and_every_shipment_arrived() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 3))
    order.record_delivery("S1", LATER, LATER)
    ship(order, stock, ("BOWL", 1), shipment_id="S2")
    assert order.status == "shipped"

    order.record_delivery("S2", LATER, LATER)

    assert order.status == "delivered"


def test_one_of_two_shipments_arriving_leaves_the_order_shipped() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 3))
    ship(order, stock, ("BOWL", 1), shipment_id="S2")

    order.record_delivery("S2", LATER, LATER)

    assert order.status == "shipped"


def test_a_delivery_reported_twice_is_recorded_once() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 3), ("BOWL", 1))
    order.record_delivery("S1", LATER, LATER)
    before = state_of(order)

    order.record_delivery("S1", LATER + timedelta(hours=1), LATER + timedelta(hours=1))

    assert state_of(order) == before


# -- payment ---------------------------------------------------------------------------------


def test_the_first_shipment_captures_what_the_order_now_costs() -> None:
    order, stock = booked_order()
    order.amend(now=NOW, stock=stock, quantities={"MUG": 2})
    ship(order, stock, ("MUG", 1))
    settled(order)

    order.capture_payment(NOW)

    assert order.payment.status == "captured"
    assert order.payment.captured == Money.of("25.00", "EUR")
    assert order.payment.authorized == Money.of("35.00", "EUR")
    assert order.events == [
        PaymentCaptured(order_id=order.id, amount=Decimal("25.00"), currency="EUR")
    ]


def test_capturing_before_any_shipment_is_refused() -> None:
    order, _ = booked_order()
    before = state_of(order)

    with pytest.raises(InvalidTransition) as refused:
        order.capture_payment(NOW)

    assert refused.value.command == "capture_payment"
    assert state_of(order) == before


def test_a_repeated_capture_of_the_same_amount_is_harmless() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 1))
    order.capture_payment(NOW)
    before = state_of(order)

    order.capture_payment(NOW)

    assert state_of(order) == before
    assert event_types(order) == ["ShipmentDispatched", "PaymentCaptured"]


def test_a_later_shipment_does_not_capture_again() -> None:
    order, stock = booked_order()
    ship(order, stock, ("MUG", 1))
    order.capture_payment(NOW)
    ship(order, stock, ("MUG", 2), ("BOWL", 1), shipment_id="S2")

    order.capture_payment(NOW)

    assert order.payment.captured == Money.of("35.00", "EUR")
    assert [type(e).__name__ for e in order.events].count("PaymentCaptured") == 1
    assert the_event(order, PaymentCaptured).amount == Decimal("35.00")
