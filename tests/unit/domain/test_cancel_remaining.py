"""Cancelling what a partially shipped order will never ship (PRODUCT.md §8.4): the order ends
with what shipped, the unshipped holds are released, and a capture that took the old total is
refunded the difference (§8.1)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import ValidationFailed
from domain.events import OvercaptureRefunded, RemainderCancelled
from domain.order_lifecycle import OrderStatus
from domain.payment import PaymentStatus
from tests.unit.domain.states import HOME, UNIT_PRICE, a_new_order


def test_the_rest_is_cancelled_its_stock_released_and_a_full_capture_refunded_the_difference() -> (
    None
):
    shop = a_new_order(quantity=3).book().ship(1).capture()
    order = shop.order
    assert order.payment.captured.amount == 3 * UNIT_PRICE

    shop.cancel_remaining()

    assert order.status is OrderStatus.SHIPPED
    assert [(ln.sku, ln.quantity, ln.shipped) for ln in order.lines] == [(order.lines[0].sku, 1, 1)]
    assert order.total.amount == UNIT_PRICE
    assert order.reserved(order.lines[0].sku) == 0
    assert all(reserved == 0 for _, reserved in shop.levels().values())  # holds released
    assert (order.payment.refunded.amount, order.payment.status) == (
        2 * UNIT_PRICE,
        PaymentStatus.PARTIALLY_REFUNDED,
    )
    cancelled = order.events[-1]
    assert isinstance(cancelled, RemainderCancelled)
    assert [(q.sku, q.quantity) for q in cancelled.lines] == [(order.lines[0].sku, 2)]
    assert (cancelled.refund_amount, cancelled.total) == (2 * UNIT_PRICE, UNIT_PRICE)
    assert cancelled.released
    assert all(r.location == HOME for r in cancelled.released)


def test_before_the_capture_nothing_is_refunded_and_the_capture_takes_the_new_total() -> None:
    shop = a_new_order(quantity=3).book().ship(1)

    shop.cancel_remaining()
    shop.capture()

    order = shop.order
    assert isinstance(order.events[-2], RemainderCancelled)
    assert order.events[-2].refund_amount == Decimal(0)
    assert order.payment.captured.amount == UNIT_PRICE
    assert order.payment.refunded.amount == Decimal(0)


def test_an_order_whose_shipments_all_arrived_is_delivered() -> None:
    shop = a_new_order(quantity=3).book().ship(1).capture().deliver()

    shop.cancel_remaining()

    assert shop.order.status is OrderStatus.DELIVERED


def test_a_blank_reason_is_refused_and_nothing_changes() -> None:
    shop = a_new_order(quantity=3).book().ship(1)
    seen, levels = len(shop.order.events), shop.levels()

    with pytest.raises(ValidationFailed):
        shop.order.cancel_remaining("  ", shop.tick(), shop.stock)

    assert (len(shop.order.events), shop.levels()) == (seen, levels)
    assert shop.order.status is OrderStatus.PARTIALLY_SHIPPED


def test_a_capture_of_the_old_total_recorded_after_the_cancellation_refunds_the_excess() -> None:
    shop = a_new_order(quantity=3).book().ship(1)
    asked = shop.order.total  # what fulfilment asked the provider to capture
    shop.cancel_remaining()  # committed while the capture was at the provider

    shop.order.capture_payment(shop.tick(), asked, refund_excess=True)

    payment = shop.order.payment
    assert (payment.captured.amount, payment.refunded.amount) == (3 * UNIT_PRICE, 2 * UNIT_PRICE)
    excess = shop.order.events[-1]
    assert isinstance(excess, OvercaptureRefunded)
    assert excess.amount == 2 * UNIT_PRICE


def test_a_payment_system_s_own_report_of_a_capture_is_recorded_as_it_is() -> None:
    shop = a_new_order(quantity=3).book().ship(1)
    asked = shop.order.total
    shop.cancel_remaining()

    shop.order.capture_payment(shop.tick(), asked)

    assert shop.order.payment.refunded.amount == Decimal(0)
