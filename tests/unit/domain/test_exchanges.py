"""Exchanges (PRODUCT.md §8.6): a return that asks for replacement lines, settled at receipt."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import ExchangePaymentRequired, InvalidTransition, ValidationFailed
from domain.events import (
    ExchangeFellBack,
    LineItem,
    PlacedAsReplacement,
    RefundIssued,
    ReplacementDue,
    ReplacementPlaced,
    ReturnRequested,
)
from domain.exchange import ExchangeOutcome
from domain.money import Money
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.order_lines import LineSpec
from domain.payment import PaymentStatus
from domain.replacement import place_replacement
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition, Return
from tests.factories import LineSpecFactory, ReturnLineSpecFactory
from tests.unit.domain.builders import (
    NOW,
    PRIORITY,
    delivered,
    event_types,
    issue_fields,
    levels,
    on_hand_and_reserved,
    settled,
    state_of,
    the_event,
)


def taxed(sku: str, quantity: int, price: str, tax: str) -> LineSpec:
    return LineSpecFactory(
        sku=sku, quantity=quantity, unit_price=Decimal(price), tax_amount=Decimal(tax)
    )


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def two_mugs() -> Order:
    """2 × MUG at 10.00 + 2.00 tax, delivered and captured: 24.00."""
    order, _ = delivered(taxed("MUG", 2, "10.00", "2.00"))
    return order


def exchange(
    order: Order,
    *replacement: LineSpec,
    payment: tuple[str, str] | None = None,
    quantity: int = 2,
    policy: ReturnPolicy | None = None,
) -> Return:
    return order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpecFactory(sku="MUG", quantity=quantity)],
        policy=policy or ReturnPolicy(),
        rma_number="RMA-1",
        now=NOW,
        exchange_lines=replacement,
        exchange_payment=(payment[0], Decimal(payment[1])) if payment else None,
    )


def test_a_cheaper_replacement_refunds_the_difference() -> None:
    order = two_mugs()
    ret = exchange(order, taxed("CUP", 1, "15.00", "3.00"))
    settled(order)

    order.receive_return(ret.id, [("MUG", 2)], NOW)

    assert ret.refund_amount == eur("24.00")  # what the credit memo must match, as for a return
    due = the_event(order, ReplacementDue)
    assert (due.replacement_total, due.credit, due.refund, due.payment_due) == (
        Decimal("18.00"),
        Decimal("18.00"),
        Decimal("6.00"),
        Decimal("0.00"),
    )
    assert due.lines == (
        LineItem(sku="CUP", quantity=1, unit_price=Decimal("15.00"), tax_amount=Decimal("3.00")),
    )
    assert event_types(order) == ["ReturnReceived", "ReplacementDue"]

    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, NOW, {})
    settled(order)
    order.post_credit_memo(ret.id, "CM-1", eur("24.00"), NOW)

    assert the_event(order, RefundIssued).amount == Decimal("6.00")
    assert order.payment.refunded == eur("6.00")


def test_a_dearer_replacement_needs_a_payment_and_refunds_nothing() -> None:
    order = two_mugs()
    ret = exchange(order, taxed("JUG", 1, "25.00", "5.00"), payment=("pay-diff", "6.00"))
    settled(order)

    order.receive_return(ret.id, [("MUG", 2)], NOW)
    due = the_event(order, ReplacementDue)
    assert (due.credit, due.refund, due.payment_due, due.payment_reference) == (
        Decimal("24.00"),
        Decimal("0.00"),
        Decimal("6.00"),
        "pay-diff",
    )
    assert ret.exchange is not None
    assert ret.exchange.outcome is ExchangeOutcome.REPLACED

    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, NOW, {})
    settled(order)
    order.post_credit_memo(ret.id, "CM-1", eur("24.00"), NOW)

    assert the_event(order, RefundIssued).amount == Decimal("0.00")
    assert order.payment.refunded == eur("0.00")


def test_an_accepted_credit_memo_of_another_amount_refunds_what_is_left_after_the_replacement() -> (
    None
):
    order = two_mugs()
    ret = exchange(order, taxed("CUP", 1, "15.00", "3.00"))
    order.receive_return(ret.id, [("MUG", 2)], NOW)
    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, NOW, {})
    order.post_credit_memo(ret.id, "CM-1", eur("20.00"), NOW)  # held: 24.00 was computed
    settled(order)

    order.accept_credit_memo(ret.id, NOW)

    assert the_event(order, RefundIssued).amount == Decimal("2.00")  # 20.00 − the 18.00 replacement
    assert order.payment.refunded == eur("2.00")


def test_the_request_carries_the_exchange_for_the_read_side() -> None:
    order = two_mugs()
    exchange(order, taxed("JUG", 1, "25.00", "5.00"), payment=("pay-diff", "7.00"))

    requested = the_event(order, ReturnRequested)
    assert requested.exchange_lines == (
        LineItem(sku="JUG", quantity=1, unit_price=Decimal("25.00"), tax_amount=Decimal("5.00")),
    )
    assert (requested.exchange_payment_reference, requested.exchange_payment_amount) == (
        "pay-diff",
        Decimal("7.00"),
    )


@pytest.mark.parametrize(
    ("payment", "field"), [(None, "payment"), (("pay-diff", "5.99"), "payment.amount")]
)
def test_a_dearer_replacement_without_a_payment_for_the_difference_is_refused(
    payment: tuple[str, str] | None, field: str
) -> None:
    order = two_mugs()
    before = state_of(order)

    with pytest.raises(ExchangePaymentRequired) as refused:
        exchange(order, taxed("JUG", 1, "25.00", "5.00"), payment=payment)

    assert refused.value.code == "exchange_payment_required"
    assert refused.value.context()["difference"] == "6.00 EUR"
    assert [e["field"] for e in refused.value.context()["errors"]] == [field]
    assert state_of(order) == before


def test_the_difference_counts_the_restocking_fee() -> None:
    order = two_mugs()
    fee = ReturnPolicy(restocking_fee_percent=Decimal("10"))

    # 24.00 − 2.00 fee = 22.00 refund: an 18.00 replacement is cheaper, a 23.00 one is dearer
    with pytest.raises(ExchangePaymentRequired) as refused:
        exchange(order, taxed("CUP", 1, "20.00", "3.00"), policy=fee)
    assert refused.value.context()["difference"] == "1.00 EUR"


def test_a_payment_for_a_replacement_that_costs_no_more_is_refused() -> None:
    order = two_mugs()

    with pytest.raises(ValidationFailed) as refused:
        exchange(order, taxed("CUP", 1, "15.00", "3.00"), payment=("pay-diff", "1.00"))

    assert issue_fields(refused.value) == ["payment"]


def test_a_payment_without_exchange_lines_is_refused() -> None:
    order = two_mugs()

    with pytest.raises(ValidationFailed) as refused:
        exchange(order, payment=("pay-diff", "1.00"))

    assert issue_fields(refused.value) == ["payment"]


def test_exchange_lines_obey_a_new_order_s_line_rules_under_their_own_names() -> None:
    order = two_mugs()

    with pytest.raises(ValidationFailed) as refused:
        exchange(order, taxed("CUP", 0, "15.00", "-1.00"), taxed("CUP", 1, "1.00", "0.00"))

    assert issue_fields(refused.value) == [
        "exchange_lines[0].quantity",
        "exchange_lines[0].tax_amount",
        "exchange_lines[1].sku",
    ]
    assert not order.returns


def test_an_exchange_received_in_part_falls_back_to_a_plain_return() -> None:
    order = two_mugs()
    ret = exchange(order, taxed("JUG", 1, "25.00", "5.00"), payment=("pay-diff", "6.00"))
    settled(order)

    order.receive_return(ret.id, [("MUG", 1)], NOW)

    assert event_types(order) == ["ReturnReceived", "ExchangeFellBack"]
    assert the_event(order, ExchangeFellBack).payment_reference == "pay-diff"
    assert ret.refund_amount == eur("12.00")
    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, NOW, {})
    settled(order)
    order.post_credit_memo(ret.id, "CM-1", eur("12.00"), NOW)
    assert the_event(order, RefundIssued).amount == Decimal("12.00")  # the plain refund, whole


def test_a_plain_return_records_no_exchange_event() -> None:
    order = two_mugs()
    ret = exchange(order)
    settled(order)

    order.receive_return(ret.id, [("MUG", 2)], NOW)

    assert event_types(order) == ["ReturnReceived"]
    assert ret.exchange is None


def test_a_refunded_shipping_lowers_what_the_difference_payment_gives() -> None:
    order, _ = delivered(taxed("MUG", 2, "10.00", "2.00"), shipping="4.95")
    every_unit_back = ReturnPolicy(refund_shipping=True)
    # asked for 6.00 (shipping is only refunded if every unit of the order comes back)
    ret = exchange(
        order,
        taxed("JUG", 1, "25.00", "5.00"),
        payment=("pay-diff", "6.00"),
        policy=every_unit_back,
    )
    settled(order)

    order.receive_return(ret.id, [("MUG", 2)], NOW)

    assert ret.refund_amount == eur("28.95")
    due = the_event(order, ReplacementDue)
    assert (due.credit, due.payment_due, due.refund) == (
        Decimal("28.95"),
        Decimal("1.05"),
        Decimal("0.00"),
    )


def test_a_cancelled_exchange_places_nothing_and_keeps_its_payment_to_release() -> None:
    order = two_mugs()
    ret = exchange(order, taxed("JUG", 1, "25.00", "5.00"), payment=("pay-diff", "6.00"))

    order.cancel_return(ret.id, NOW)

    assert ret.exchange is not None
    assert ret.exchange.payment is not None
    assert ret.exchange.payment.reference == "pay-diff"
    assert ret.exchange.outcome is None
    with pytest.raises(InvalidTransition):
        order.receive_return(ret.id, [("MUG", 2)], NOW)


def received_in_full(
    order: Order, *replacement: LineSpec, payment: tuple[str, str] | None = None
) -> Return:
    ret = exchange(order, *replacement, payment=payment)
    order.receive_return(ret.id, [("MUG", 2)], NOW)
    settled(order)
    return ret


def test_the_replacement_is_the_original_s_customer_and_address_with_the_exchange_lines_paid() -> (
    None
):
    order = two_mugs()
    ret = received_in_full(order, taxed("CUP", 1, "15.00", "3.00"))
    stock = levels(("CUP", "dc-east", 1))

    replacement = place_replacement(
        order, ret.id, id=uuid4(), now=NOW, stock=stock, priority=PRIORITY, new_id=uuid4
    )

    assert replacement is not None
    assert (replacement.channel, replacement.customer, replacement.shipping_address) == (
        order.channel,
        order.customer,
        order.shipping_address,
    )
    assert replacement.replacement_for_return_id == ret.id
    assert replacement.status is OrderStatus.RESERVED
    assert replacement.total == eur("18.00")
    assert (replacement.payment.captured, replacement.payment.status) == (
        eur("18.00"),
        PaymentStatus.CAPTURED,
    )
    linked = the_event(replacement, PlacedAsReplacement)
    assert (linked.original_order_id, linked.return_id) == (order.id, ret.id)
    assert the_event(order, ReplacementPlaced).replacement_order_id == replacement.id
    assert ret.exchange is not None
    assert ret.exchange.replacement_order_id == replacement.id


def test_a_replacement_out_of_stock_is_backordered() -> None:
    order = two_mugs()
    ret = received_in_full(order, taxed("CUP", 1, "15.00", "3.00"))

    replacement = place_replacement(
        order, ret.id, id=uuid4(), now=NOW, stock={}, priority=PRIORITY, new_id=uuid4
    )

    assert replacement is not None
    assert replacement.status is OrderStatus.BACKORDERED


def test_a_replacement_is_placed_once() -> None:
    order = two_mugs()
    ret = received_in_full(order, taxed("CUP", 1, "15.00", "3.00"))
    stock = levels(("CUP", "dc-east", 2))
    place_replacement(
        order, ret.id, id=uuid4(), now=NOW, stock=stock, priority=PRIORITY, new_id=uuid4
    )
    settled(order)
    before = state_of(order)

    again = place_replacement(
        order, ret.id, id=uuid4(), now=NOW, stock=stock, priority=PRIORITY, new_id=uuid4
    )

    assert again is None
    assert state_of(order) == before
    assert on_hand_and_reserved(stock, "CUP", "dc-east") == (2, 1)


@pytest.mark.parametrize("received", [1, None])
def test_no_replacement_for_an_exchange_that_fell_back_or_is_not_received(
    received: int | None,
) -> None:
    order = two_mugs()
    ret = exchange(order, taxed("CUP", 1, "15.00", "3.00"))
    if received is not None:
        order.receive_return(ret.id, [("MUG", received)], NOW)

    with pytest.raises(InvalidTransition):
        place_replacement(
            order, ret.id, id=uuid4(), now=NOW, stock={}, priority=PRIORITY, new_id=uuid4
        )
