"""An agent accepts the ERP's amount for a return held for a credit memo that did not match the
computed refund (PRODUCT.md §8.4): that amount is refunded, never more than captured − refunded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import RefundExceedsCaptured
from domain.events import RefundIssued
from domain.returns import ReturnStatus
from tests.unit.domain.states import Shop, a_delivered_order


def held_for_a_memo_of(amount: str) -> Shop:
    return (
        a_delivered_order()
        .request_return()
        .receive_return()
        .inspect_return()
        .post_credit_memo("CM-7", Decimal(amount))
    )


def test_accepting_the_memo_refunds_the_erp_s_amount_and_the_return_is_refunded() -> None:
    shop = held_for_a_memo_of("5.00")
    assert shop.ret.status is ReturnStatus.ON_HOLD
    refunded_before = shop.order.payment.refunded.amount

    shop.accept_credit_memo()

    assert shop.ret.status is ReturnStatus.REFUNDED
    assert shop.ret.refund_amount is not None
    assert shop.ret.refund_amount.amount == Decimal("5.00")
    assert shop.order.payment.refunded.amount == refunded_before + Decimal("5.00")
    issued = shop.order.events[-1]
    assert isinstance(issued, RefundIssued)
    assert (issued.amount, issued.credit_memo_ref) == (Decimal("5.00"), "CM-7")


def test_a_memo_above_what_is_left_to_refund_is_refused_and_the_return_stays_held() -> None:
    shop = held_for_a_memo_of("100000.00")
    seen = len(shop.order.events)

    with pytest.raises(RefundExceedsCaptured):
        shop.accept_credit_memo()

    assert shop.ret.status is ReturnStatus.ON_HOLD
    assert len(shop.order.events) == seen


def test_releasing_the_hold_instead_forgets_the_memo() -> None:
    shop = held_for_a_memo_of("5.00")

    shop.release_return_hold()

    assert shop.ret.status is ReturnStatus.INSPECTED
    assert (shop.ret.credit_memo_ref, shop.ret.credit_memo_amount) == (None, None)
