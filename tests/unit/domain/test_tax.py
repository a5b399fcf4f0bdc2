"""Tax per line (PRODUCT.md §8.6): the total includes it, refunds give back the returned units'."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import ValidationFailed
from domain.events import LineItem, OrderPlaced, RemainderCancelled
from domain.money import Money
from domain.order import Order
from domain.order_lines import LineSpec
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition
from tests.factories import LineSpecFactory, ReturnLineSpecFactory
from tests.unit.domain.builders import (
    NOW,
    book,
    delivered,
    issue_fields,
    levels,
    place,
    ship,
    the_event,
)


def taxed(sku: str, quantity: int, price: str, tax: str) -> LineSpec:
    return LineSpecFactory(
        sku=sku, quantity=quantity, unit_price=Decimal(price), tax_amount=Decimal(tax)
    )


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def returned(order: Order, sku: str, quantity: int, policy: ReturnPolicy) -> Money:
    """The refund computed when `quantity` units of `sku` come back under `policy`."""
    ret = order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpecFactory(sku=sku, quantity=quantity)],
        policy=policy,
        rma_number="RMA-1",
        now=NOW,
    )
    order.receive_return(ret.id, [(sku, quantity)], NOW)
    assert ret.refund_amount is not None
    return ret.refund_amount


def test_the_total_is_every_unit_with_its_tax_plus_shipping() -> None:
    stock = levels(("MUG", "dc-east", 5), ("BOWL", "dc-east", 5))
    order = place(
        taxed("MUG", 3, "10.00", "2.00"),
        taxed("BOWL", 1, "8.00", "0.00"),
        stock=stock,
        shipping_amount=Decimal("4.95"),
    )

    assert order.total == eur("48.95")  # 3 × 12.00 + 8.00 + 4.95
    placed = the_event(order, OrderPlaced)
    assert placed.total == Decimal("48.95")
    assert placed.lines[0] == LineItem(
        sku="MUG", quantity=3, unit_price=Decimal("10.00"), tax_amount=Decimal("2.00")
    )


def test_a_payment_must_cover_the_tax_too() -> None:
    stock = levels(("MUG", "dc-east", 5))

    with pytest.raises(ValidationFailed) as refused:
        place(taxed("MUG", 2, "10.00", "2.00"), stock=stock, payment_amount=Decimal("20.00"))

    assert issue_fields(refused.value) == ["payment.amount"]


@pytest.mark.parametrize("tax", ["-0.01", "0.001", "NaN"])
def test_a_negative_or_too_precise_tax_is_refused_by_its_field(tax: str) -> None:
    stock = levels(("MUG", "dc-east", 5))

    with pytest.raises(ValidationFailed) as refused:
        place(taxed("MUG", 1, "10.00", tax), stock=stock, payment_amount=Decimal("20.00"))

    assert issue_fields(refused.value) == ["lines[0].tax_amount"]


def test_a_line_without_tax_costs_what_it_did() -> None:
    stock = levels(("MUG", "dc-east", 5))
    order = place(LineSpecFactory(sku="MUG", quantity=2, unit_price=Decimal("19.99")), stock=stock)

    assert order.lines[0].tax_amount == eur("0")
    assert order.total == eur("39.98")


def test_a_return_refunds_the_returned_units_with_their_tax() -> None:
    order, _ = delivered(taxed("MUG", 3, "10.00", "2.00"))

    assert returned(order, "MUG", 2, ReturnPolicy()) == eur("24.00")


def test_the_restocking_fee_is_a_percent_of_the_price_without_tax_and_the_tax_comes_back_whole() -> (
    None
):
    order, _ = delivered(taxed("MUG", 3, "10.00", "2.00"))

    refund = returned(order, "MUG", 2, ReturnPolicy(restocking_fee_percent=Decimal("10")))

    assert refund == eur("22.00")  # 20.00 − 2.00 fee + 4.00 tax


def test_a_credit_memo_for_the_taxed_refund_is_refunded_from_the_capture() -> None:
    order, stock = delivered(taxed("MUG", 2, "10.00", "1.90"))
    refund = returned(order, "MUG", 1, ReturnPolicy())
    (ret,) = order.returns.values()
    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, NOW, stock)

    order.post_credit_memo(ret.id, "CM-1", eur("11.90"), NOW)

    assert refund == eur("11.90")
    assert ret.status == "refunded"
    assert order.payment.refunded == eur("11.90")


def test_cancelling_the_remainder_refunds_the_unshipped_units_with_their_tax() -> None:
    stock = levels(("MUG", "dc-east", 3))
    order = book(place(taxed("MUG", 3, "10.00", "2.00"), stock=stock))
    ship(order, stock, ("MUG", 1))
    order.capture_payment(NOW)

    order.cancel_remaining("out of stock for good", NOW, stock)

    assert the_event(order, RemainderCancelled).refund_amount == Decimal("24.00")
    assert order.total == eur("12.00")
    assert order.payment.refundable == eur("12.00")
