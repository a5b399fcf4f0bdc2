"""What a channel did on its side: a cancellation the order follows (or cannot, after shipping)
and a refund it already made, recorded within what was captured."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import (
    CurrencyMismatch,
    InvalidTransition,
    RefundExceedsCaptured,
    ValidationFailed,
)
from domain.events import (
    CancelRequestedAfterShipment,
    OrderCancelled,
    PaymentVoided,
    RefundRecorded,
)
from domain.money import Money
from domain.order import ChannelCancellation
from domain.reservation import ReservationStatus
from tests.unit.domain.builders import (
    NOW,
    book,
    delivered,
    event_types,
    issue_fields,
    levels,
    line,
    on_hand_and_reserved,
    place,
    settled,
    ship,
    state_of,
    the_event,
)


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


# -- cancellations -------------------------------------------------------------------------------


def test_a_channel_cancellation_before_shipping_cancels_and_voids() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = settled(book(place(line("MUG", 2), stock=stock)))
    outcome = order.follow_channel_cancellation("customer", NOW, stock)
    assert outcome is ChannelCancellation.CANCELLED
    assert order.status == "cancelled"
    assert event_types(order) == ["OrderCancelled", "PaymentVoided"]
    assert the_event(order, OrderCancelled).reason == "customer"
    assert the_event(order, PaymentVoided).amount == order.payment.authorized.amount
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (5, 0)
    assert all(r.status is ReservationStatus.RELEASED for r in order.reservations)


def test_a_channel_cancellation_of_a_cancelled_order_changes_nothing() -> None:
    """Our own cancellation, pushed to the shop, comes back as the shop's cancellation."""
    stock = levels(("MUG", "dc-east", 5))
    order = place(line("MUG", 2), stock=stock)
    order.cancel("agent", NOW, stock)
    before = state_of(settled(order))
    assert (
        order.follow_channel_cancellation("customer", NOW, stock)
        is ChannelCancellation.ALREADY_CANCELLED
    )
    assert state_of(order) == before


def test_after_the_first_shipment_the_cancellation_is_only_recorded() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = book(place(line("MUG", 3), stock=stock))
    ship(order, stock, ("MUG", 1))
    settled(order)
    version = order.version
    outcome = order.follow_channel_cancellation("fraud", NOW, stock)
    assert outcome is ChannelCancellation.REQUESTED_AFTER_SHIPMENT
    assert order.status == "partially_shipped"
    assert event_types(order) == ["CancelRequestedAfterShipment"]
    assert the_event(order, CancelRequestedAfterShipment).reason == "fraud"
    assert order.version == version + 1
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (4, 2)
    assert order.payment.status == "authorized"


def test_a_delivered_order_records_a_late_cancellation_too() -> None:
    order, stock = delivered(line("MUG", 1))
    order.follow_channel_cancellation("customer", NOW, stock)
    assert order.status == "delivered"
    assert event_types(order) == ["CancelRequestedAfterShipment"]


def test_refusing_a_cancellation_needs_a_shipment() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = settled(place(line("MUG", 1), stock=stock))
    with pytest.raises(InvalidTransition):
        order.refuse_cancellation_after_shipment("customer", NOW)
    assert order.events == []


def test_a_channel_cancellation_needs_a_reason() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = settled(place(line("MUG", 1), stock=stock))
    with pytest.raises(ValidationFailed) as refused:
        order.follow_channel_cancellation(" ", NOW, stock)
    assert issue_fields(refused.value) == ["reason"]
    assert order.status == "reserved"


# -- refunds the channel made ----------------------------------------------------------------------


def test_a_channel_refund_grows_the_refunded_total() -> None:
    order, _ = delivered(line("MUG", 2, "10.00"), shipping="5.00")
    assert order.record_channel_refund("R-1", eur("7.50"), NOW)
    assert (order.payment.refunded, order.payment.status) == (eur("7.50"), "partially_refunded")
    recorded = the_event(order, RefundRecorded)
    assert (recorded.refund_ref, recorded.amount, recorded.currency) == (
        "R-1",
        Decimal("7.50"),
        "EUR",
    )
    assert recorded.payment_status == "partially_refunded"
    assert order.record_channel_refund("R-2", eur("17.50"), NOW)
    assert (order.payment.refunded, order.payment.status) == (eur("25.00"), "refunded")


def test_the_same_channel_refund_is_recorded_once() -> None:
    order, _ = delivered(line("MUG", 2, "10.00"))
    assert order.record_channel_refund("R-1", eur("5.00"), NOW)
    version = order.version
    assert not order.record_channel_refund("R-1", eur("5.00"), NOW)
    assert order.payment.refunded == eur("5.00")
    assert order.version == version
    assert event_types(order) == ["RefundRecorded"]


def test_a_channel_refund_beyond_the_capture_is_refused() -> None:
    order, _ = delivered(line("MUG", 2, "10.00"))
    order.record_channel_refund("R-1", eur("15.00"), NOW)
    before = state_of(settled(order))
    with pytest.raises(RefundExceedsCaptured):
        order.record_channel_refund("R-2", eur("5.01"), NOW)
    assert state_of(order) == before


def test_a_channel_refund_before_the_capture_is_refused() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = settled(place(line("MUG", 1, "10.00"), stock=stock))
    before = state_of(order)
    with pytest.raises(RefundExceedsCaptured) as refused:
        order.record_channel_refund("R-1", eur("1.00"), NOW)
    assert refused.value.code == "refund_exceeds_captured"
    assert state_of(order) == before


def test_a_channel_refund_in_another_currency_is_refused() -> None:
    order, _ = delivered(line("MUG", 2, "10.00"))
    with pytest.raises(CurrencyMismatch):
        order.record_channel_refund("R-1", Money(Decimal("1.00"), "USD"), NOW)
    assert order.payment.refunded == eur("0.00")


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_a_channel_refund_must_refund_something(amount: str) -> None:
    order, _ = delivered(line("MUG", 2, "10.00"))
    with pytest.raises(ValidationFailed) as refused:
        order.record_channel_refund("R-1", eur(amount), NOW)
    assert issue_fields(refused.value) == ["amount"]
