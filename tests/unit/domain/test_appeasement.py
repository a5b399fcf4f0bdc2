"""Appeasements (PRODUCT.md §8.6): an agent refunds without a return, within the capture, once."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.errors import RefundExceedsCaptured, TooManyAppeasements, ValidationFailed
from domain.events import AppeasementIssued
from domain.money import Money
from domain.order import Order
from domain.order_limits import OrderLimits
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition
from tests.factories import ReturnLineSpecFactory
from tests.unit.domain.builders import (
    NOW,
    delivered,
    event_types,
    issue_fields,
    levels,
    line,
    place,
    settled,
    state_of,
    the_event,
)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def paid_order() -> Order:
    """Two mugs at 19.99, delivered and captured: 39.98 refundable."""
    order, _ = delivered(line("MUG", 2, "19.99"))
    return order


def test_an_appeasement_refunds_part_of_the_capture_with_its_reason() -> None:
    order = paid_order()
    refund_id = uuid4()

    assert order.issue_appeasement(refund_id, eur("5.00"), "late parcel", NOW)

    assert order.payment.refunded == eur("5.00")
    assert order.payment.status == "partially_refunded"
    assert the_event(order, AppeasementIssued) == AppeasementIssued(
        order_id=order.id,
        refund_id=refund_id,
        amount=Decimal("5.00"),
        currency="EUR",
        reason="late parcel",
        payment_status="partially_refunded",
    )


def test_an_appeasement_of_everything_left_refunds_the_payment_whole() -> None:
    order = paid_order()

    order.issue_appeasement(uuid4(), eur("39.98"), "never arrived", NOW)

    assert order.payment.status == "refunded"


def test_the_same_appeasement_again_refunds_nothing_more() -> None:
    order = paid_order()
    refund_id = uuid4()
    order.issue_appeasement(refund_id, eur("5.00"), "late parcel", NOW)
    settled(order)
    before = state_of(order)

    assert not order.issue_appeasement(refund_id, eur("5.00"), "late parcel", NOW)

    assert state_of(order) == before
    assert event_types(order) == []


def test_an_appeasement_above_captured_less_refunded_is_refused_and_changes_nothing() -> None:
    order = paid_order()
    order.issue_appeasement(uuid4(), eur("30.00"), "scratched", NOW)
    settled(order)
    before = state_of(order)

    with pytest.raises(RefundExceedsCaptured) as refused:
        order.issue_appeasement(uuid4(), eur("9.99"), "and late", NOW)

    assert refused.value.code == "refund_exceeds_captured"
    assert refused.value.context() == {"refundable": "9.98 EUR"}
    assert state_of(order) == before


def test_returns_and_appeasements_share_the_capture() -> None:
    order = paid_order()
    ret = order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpecFactory(sku="MUG", quantity=1)],
        policy=ReturnPolicy(),
        rma_number="RMA-1",
        now=NOW,
    )
    order.issue_appeasement(uuid4(), eur("25.00"), "broken handle", NOW)
    order.receive_return(ret.id, [("MUG", 1)], NOW)
    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, NOW, levels())

    with pytest.raises(RefundExceedsCaptured):  # 19.99 due, 14.98 left
        order.post_credit_memo(ret.id, "CM-1", eur("19.99"), NOW)

    assert order.payment.refunded == eur("25.00")


def test_nothing_can_be_appeased_before_the_capture() -> None:
    order = place(line("MUG", 1), stock=levels(("MUG", "dc-east", 1)))
    before = state_of(settled(order))

    with pytest.raises(RefundExceedsCaptured):
        order.issue_appeasement(uuid4(), eur("1.00"), "sorry", NOW)

    assert state_of(order) == before


@pytest.mark.parametrize(
    ("amount", "reason", "fields"),
    [
        ("0.00", "late", ["amount"]),
        ("-1.00", "late", ["amount"]),
        ("1.00", "  ", ["reason"]),
        ("1.00", "x" * 501, ["reason"]),
        ("0.00", "", ["reason", "amount"]),
    ],
)
def test_an_appeasement_needs_an_amount_and_a_reason(
    amount: str, reason: str, fields: list[str]
) -> None:
    order = paid_order()

    with pytest.raises(ValidationFailed) as refused:
        order.issue_appeasement(uuid4(), eur(amount), reason, NOW)

    assert issue_fields(refused.value) == fields


def test_an_order_takes_at_most_its_limit_of_appeasements() -> None:
    order = paid_order()
    limits = OrderLimits(max_appeasements=2)
    ids: list[UUID] = [uuid4(), uuid4()]
    for refund_id in ids:
        order.issue_appeasement(refund_id, eur("1.00"), "sorry", NOW, limits=limits)

    with pytest.raises(TooManyAppeasements) as refused:
        order.issue_appeasement(uuid4(), eur("1.00"), "sorry again", NOW, limits=limits)

    assert refused.value.code == "too_many_appeasements"
    assert not order.issue_appeasement(ids[0], eur("1.00"), "sorry", NOW, limits=limits)
