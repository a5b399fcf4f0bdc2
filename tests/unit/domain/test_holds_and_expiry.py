"""Holds: an order on hold lets its unconfirmed reservations expire; resuming reserves again."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvalidTransition, ValidationFailed
from domain.events import (
    InventoryReserved,
    MissingUnits,
    OrderBackordered,
    OrderHeld,
    OrderRejectedByErp,
    OrderResumed,
    PaymentFailed,
    ReservationExpired,
)
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.reservation import ReservationStatus
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
    stock_state,
    the_event,
)
from tests.unit.domain.states import a_new_order

DUE = NOW + HOLD_TTL


def reserved_order(*, allow_backorder: bool = False) -> tuple[Order, Stock]:
    stock = levels(("MUG", "dc-east", 3), ("BOWL", "dc-east", 1))
    order = place(line("MUG", 2), line("BOWL", 1), stock=stock, allow_backorder=allow_backorder)
    return settled(order), stock


def held_order(**kwargs: bool) -> tuple[Order, Stock]:
    order, stock = reserved_order(**kwargs)
    order.hold("customer called", NOW, HOLD_TTL)
    return settled(order), stock


def resume(order: Order, stock: Stock, at: datetime = DUE + timedelta(minutes=5)) -> None:
    order.resume(at, stock, PRIORITY, uuid4)


# -- holding ---------------------------------------------------------------------------------


def test_holding_starts_the_expiry_clock_on_held_reservations() -> None:
    order, _ = reserved_order()

    order.hold("customer called", NOW, HOLD_TTL)

    assert order.status == "on_hold"
    assert (order.hold_reason, order.held_at, order.resume_to) == (
        "customer called",
        NOW,
        "reserved",
    )
    assert {r.expires_at for r in order.reservations} == {DUE}
    assert order.next_hold_expiry == DUE
    assert the_event(order, OrderHeld).reason == "customer called"


def test_the_hold_ttl_is_configurable() -> None:
    order, _ = reserved_order()

    order.hold("check", NOW, timedelta(hours=2))

    assert order.next_hold_expiry == NOW + timedelta(hours=2)


def test_holding_a_booked_order_starts_no_expiry_on_its_confirmed_reservations() -> None:
    order, _ = reserved_order()
    book(order)

    order.hold("check", NOW, HOLD_TTL)

    assert {r.status for r in order.reservations} == {ReservationStatus.CONFIRMED}
    assert {r.expires_at for r in order.reservations} == {None}
    assert order.next_hold_expiry is None


def test_holding_without_a_reason_is_refused() -> None:
    order, _ = reserved_order()

    with pytest.raises(ValidationFailed) as refused:
        order.hold("", NOW, HOLD_TTL)

    assert issue_fields(refused.value) == ["reason"]
    assert order.status == "reserved"


def test_an_erp_rejection_puts_the_order_on_hold() -> None:
    order, _ = reserved_order()

    order.reject_by_erp("unknown customer", NOW, HOLD_TTL)

    assert order.status == "on_hold"
    assert order.hold_reason == "erp_rejected: unknown customer"
    assert order.next_hold_expiry == DUE
    assert event_types(order) == ["OrderRejectedByErp"]
    assert the_event(order, OrderRejectedByErp).reason == "unknown customer"


def test_a_payment_failure_puts_the_order_on_hold() -> None:
    order, _ = reserved_order()

    order.fail_payment("card declined", NOW, HOLD_TTL)

    assert order.status == "on_hold"
    assert order.payment.status == "failed"
    assert order.hold_reason == "payment_failed: card declined"
    assert order.next_hold_expiry == DUE
    assert the_event(order, PaymentFailed).reason == "card declined"


def test_a_second_reason_while_on_hold_does_not_restart_the_expiry_clock() -> None:
    order, _ = held_order()

    order.reject_by_erp("credit limit", NOW + timedelta(minutes=20), HOLD_TTL)

    assert order.status == "on_hold"
    assert order.next_hold_expiry == DUE
    assert order.resume_to == "reserved"
    assert order.hold_reason == "erp_rejected: credit limit"


# -- expiring --------------------------------------------------------------------------------


def test_holds_are_kept_until_their_expiry() -> None:
    order, stock = held_order()
    before = stock_state(stock)

    expired = order.expire_holds(DUE - timedelta(seconds=1), stock)

    assert not expired
    assert {r.status for r in order.reservations} == {ReservationStatus.HELD}
    assert stock_state(stock) == before
    assert order.events == []


def test_due_holds_expire_and_their_units_go_back_to_sale() -> None:
    order, stock = held_order()

    expired = order.expire_holds(DUE, stock)

    assert expired
    assert order.status == "on_hold"
    assert {r.status for r in order.reservations} == {ReservationStatus.EXPIRED}
    assert order.reserved("MUG") == order.reserved("BOWL") == 0
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (3, 0)
    assert on_hand_and_reserved(stock, "BOWL", "dc-east") == (1, 0)
    assert sorted((u.sku, u.quantity) for u in the_event(order, ReservationExpired).expired) == [
        ("BOWL", 1),
        ("MUG", 2),
    ]
    assert order.next_hold_expiry is None


def test_expiring_again_finds_nothing_more_to_release() -> None:
    order, stock = held_order()
    order.expire_holds(DUE, stock)
    settled(order)

    assert not order.expire_holds(DUE + timedelta(hours=1), stock)
    assert order.events == []


def test_only_held_reservations_that_are_due_expire() -> None:
    order, stock = held_order()
    mug, bowl = order.reservations
    bowl.start_expiry(DUE + timedelta(minutes=10))  # as if its clock had started later

    order.expire_holds(DUE, stock)

    assert (mug.status, bowl.status) == (ReservationStatus.EXPIRED, ReservationStatus.HELD)
    assert [u.sku for u in the_event(order, ReservationExpired).expired] == ["MUG"]
    assert on_hand_and_reserved(stock, "BOWL", "dc-east") == (1, 1)


def test_reservations_released_by_an_amendment_on_hold_do_not_expire_again() -> None:
    order, stock = held_order()
    order.amend(now=NOW, stock=stock, quantities={"BOWL": 0})
    settled(order)

    order.expire_holds(DUE, stock)

    assert [u.sku for u in the_event(order, ReservationExpired).expired] == ["MUG"]
    assert [r.status for r in order.reservations] == [
        ReservationStatus.EXPIRED,
        ReservationStatus.RELEASED,
    ]
    assert on_hand_and_reserved(stock, "BOWL", "dc-east") == (1, 0)


def test_confirmed_reservations_of_a_held_booked_order_never_expire() -> None:
    order, stock = reserved_order()
    book(order)
    order.hold("check", NOW, HOLD_TTL)

    assert not order.expire_holds(NOW + timedelta(days=30), stock)
    assert {r.status for r in order.reservations} == {ReservationStatus.CONFIRMED}


def test_waiting_in_reserved_for_the_erp_never_expires_a_hold() -> None:
    order, stock = reserved_order()

    assert {r.expires_at for r in order.reservations} == {None}
    assert order.next_hold_expiry is None
    with pytest.raises(InvalidTransition):
        order.expire_holds(NOW + timedelta(days=30), stock)
    assert {r.status for r in order.reservations} == {ReservationStatus.HELD}
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (3, 2)


def test_a_booking_that_arrives_while_on_hold_confirms_holds_and_stops_their_expiry() -> None:
    order, stock = held_order()

    order.book("ERP-9", NOW + timedelta(minutes=1))

    assert order.status == "on_hold"
    assert order.resume_to == "booked"
    assert {(r.status, r.expires_at) for r in order.reservations} == {
        (ReservationStatus.CONFIRMED, None)
    }
    assert not order.expire_holds(DUE, stock)


# -- resuming --------------------------------------------------------------------------------


def test_resuming_before_expiry_keeps_the_reservations_and_stops_their_clock() -> None:
    order, stock = held_order()
    before = stock_state(stock)

    resume(order, stock, at=NOW + timedelta(minutes=10))

    assert order.status == "reserved"
    assert {(r.status, r.expires_at) for r in order.reservations} == {
        (ReservationStatus.HELD, None)
    }
    assert (order.hold_reason, order.held_at, order.resume_to) == (None, None, None)
    assert event_types(order) == ["OrderResumed"]
    assert stock_state(stock) == before


def test_resuming_after_expiry_reserves_again() -> None:
    order, stock = held_order()
    order.expire_holds(DUE, stock)
    settled(order)

    resume(order, stock)

    assert order.status == "reserved"
    assert (order.reserved("MUG"), order.reserved("BOWL")) == (2, 1)
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (3, 2)
    assert event_types(order) == ["OrderResumed", "InventoryReserved"]
    assert the_event(order, OrderResumed).order_status == "reserved"
    assert len(the_event(order, InventoryReserved).reservations) == 2


def test_resuming_after_expiry_without_stock_backorders_even_without_backorder_allowed() -> None:
    order, stock = held_order(allow_backorder=False)
    order.expire_holds(DUE, stock)
    settled(order)
    place(line("MUG", 2), stock=stock)  # another order takes two of the three mugs meanwhile

    resume(order, stock)

    assert order.status == "backordered"
    assert (order.reserved("MUG"), order.reserved("BOWL")) == (1, 1)
    assert event_types(order) == ["OrderResumed", "InventoryReserved", "OrderBackordered"]
    assert the_event(order, OrderBackordered).missing == (MissingUnits(sku="MUG", missing=1),)


def test_a_held_backordered_order_resumes_reserved_when_stock_arrived() -> None:
    stock = levels(("MUG", "dc-east", 1))
    order = place(line("MUG", 2), stock=stock, allow_backorder=True)
    order.hold("check", NOW, HOLD_TTL)
    stock.update(levels(("MUG", "dc-west", 4)))

    resume(order, stock, at=NOW + timedelta(minutes=1))

    assert order.status == "reserved"
    assert order.reserved("MUG") == 2


def test_resuming_a_booked_order_returns_it_to_booked() -> None:
    order, stock = reserved_order()
    book(order)
    order.fail_payment("card declined", NOW, HOLD_TTL)
    settled(order)

    resume(order, stock)

    assert order.status == "booked"
    assert {r.status for r in order.reservations} == {ReservationStatus.CONFIRMED}
    assert event_types(order) == ["OrderResumed"]
    assert the_event(order, OrderResumed).order_status == "booked"


def test_an_order_booked_after_its_holds_expired_reserves_again_on_resume() -> None:
    order, stock = held_order()
    order.expire_holds(DUE, stock)
    order.book("ERP-9", DUE + timedelta(minutes=1))  # the ERP answered the earlier submission

    resume(order, stock)

    assert order.status == "booked"
    assert (order.reserved("MUG"), order.reserved("BOWL")) == (2, 1)
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (3, 2)


def test_a_booked_order_whose_expired_stock_is_gone_waits_as_backordered_then_books_again() -> None:
    order, stock = held_order()
    order.expire_holds(DUE, stock)
    order.book("ERP-9", DUE + timedelta(minutes=1))
    place(line("MUG", 3), stock=stock)  # another order takes every mug meanwhile

    resume(order, stock)

    assert order.status == "backordered"
    assert order.reserved("MUG") == 0

    stock.update(levels(("MUG", "dc-west", 2)))
    order.fill_backorder(stock, PRIORITY, uuid4, DUE + timedelta(hours=1))
    assert order.status == "reserved"

    order.book("ERP-9", DUE + timedelta(hours=2))  # the ERP confirms the same booking again
    assert order.status == "booked"
    assert {r.status for r in order.reservations if r.is_active} == {ReservationStatus.CONFIRMED}


def test_an_order_that_is_not_on_hold_cannot_be_resumed() -> None:
    order, stock = reserved_order()

    with pytest.raises(InvalidTransition) as refused:
        resume(order, stock)

    assert (refused.value.state, refused.value.command) == ("reserved", "resume")


def test_a_card_declined_at_capture_holds_a_shipped_order_which_then_cannot_be_cancelled() -> None:
    shop = a_new_order(quantity=3).book().ship(1).fail_payment()
    order = shop.order

    assert order.status is OrderStatus.ON_HOLD
    assert order.payment.status.value == "failed"
    assert order.hold_reason == "payment_failed: card declined"
    with pytest.raises(InvalidTransition):  # cancelling stops at the first shipment, held or not
        order.cancel("customer asked", shop.tick(), shop.stock)
    with pytest.raises(InvalidTransition):
        shop.amend_address()
    assert order.status is OrderStatus.ON_HOLD

    shop.resume()
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    assert (order.hold_reason, order.resume_to) == (None, None)


def test_an_order_held_after_shipping_still_hears_its_parcels_arrive() -> None:
    shop = a_new_order(quantity=3).book().ship(3, "S1").fail_payment()

    shop.deliver("S1")

    order = shop.order
    assert (order.status, order.hold_reason) == (
        OrderStatus.ON_HOLD,
        "payment_failed: card declined",
    )
    assert order.shipments.all_delivered
    assert order.events[-1].order_status == "on_hold"
    shop.resume()
    assert order.status is OrderStatus.DELIVERED


def test_a_partly_shipped_order_held_after_shipping_resumes_partly_shipped_when_delivered() -> None:
    shop = a_new_order(quantity=3).book().ship(1, "S1").fail_payment()

    shop.deliver("S1")
    shop.resume()

    assert shop.order.status is OrderStatus.PARTIALLY_SHIPPED


def test_an_order_held_before_shipping_refuses_a_delivery() -> None:
    shop = a_new_order().book().hold()

    with pytest.raises(InvalidTransition) as refused:
        shop.deliver("S1")

    assert (refused.value.state, refused.value.command) == ("on_hold", "deliver")
