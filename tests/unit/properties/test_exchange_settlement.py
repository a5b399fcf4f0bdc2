"""Exchanges settle to the cent: refunded ≤ captured, and refund, credit and payment add up."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.errors import ExchangePaymentRequired
from domain.events import RefundIssued
from domain.exchange import ExchangeOutcome
from domain.money import Money
from domain.order_lines import LineSpec
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition
from tests.factories import ReturnLineSpecFactory
from tests.unit.domain.builders import NOW, delivered, the_event

CENTS = st.integers(0, 5_000).map(lambda c: Decimal(c).scaleb(-2))
LINES = st.builds(
    LineSpec,
    sku=st.sampled_from(("JUG", "CUP", "MUG")),
    quantity=st.integers(1, 4),
    unit_price=CENTS,
    tax_amount=CENTS,
)


@given(
    sold=st.builds(LineSpec, sku=st.just("MUG"), quantity=st.integers(1, 5), unit_price=CENTS,
                   tax_amount=CENTS),
    shipping=st.sampled_from(("0", "4.95")),
    share=st.floats(0, 1),
    replacement=st.lists(LINES, min_size=1, max_size=3, unique_by=lambda ln: ln.sku),
    fee=st.sampled_from((Decimal(0), Decimal("10"), Decimal("12.5"))),
    refund_shipping=st.booleans(),
    extra=CENTS,
    back=st.floats(0, 1),
)  # fmt: skip
def test_an_exchange_refunds_what_the_replacement_leaves_and_never_more_than_captured(
    sold: LineSpec,
    shipping: str,
    share: float,
    replacement: list[LineSpec],
    fee: Decimal,
    refund_shipping: bool,
    extra: Decimal,
    back: float,
) -> None:
    order, stock = delivered(sold, shipping=shipping)
    assert order.total == Money.of((sold.unit_price + sold.tax_amount) * sold.quantity, "EUR") + (
        Money.of(shipping, "EUR")
    )
    policy = ReturnPolicy(restocking_fee_percent=fee, refund_shipping=refund_shipping)
    asked = max(1, round(sold.quantity * share))

    def request(payment: tuple[str, Decimal] | None) -> object:
        return order.request_return(
            return_id=uuid4(),
            lines=[ReturnLineSpecFactory(sku="MUG", quantity=asked)],
            policy=policy,
            rma_number="RMA-1",
            now=NOW,
            exchange_lines=replacement,
            exchange_payment=payment,
        )

    try:
        request(None)
    except ExchangePaymentRequired as refused:
        difference = Decimal(refused.difference.split()[0])
        request(("pay-diff", difference + extra))
    [ret] = order.returns.values()
    assert ret.exchange is not None
    received = round(asked * back)

    order.receive_return(ret.id, [("MUG", received)], NOW)
    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, NOW, stock)
    assert ret.refund_amount is not None
    order.pull_events()
    order.post_credit_memo(ret.id, "CM-1", ret.refund_amount, NOW)

    refunded = the_event(order, RefundIssued).amount
    assert order.payment.refunded <= order.payment.captured
    assert order.payment.refunded.amount == refunded
    if received < asked:
        assert ret.exchange.outcome is ExchangeOutcome.FELL_BACK
        assert refunded == ret.refund_amount.amount
        return
    assert ret.exchange.outcome is ExchangeOutcome.REPLACED
    assert ret.exchange.credit is not None
    assert ret.exchange.payment_due is not None
    assert refunded + ret.exchange.credit.amount == ret.refund_amount.amount
    assert ret.exchange.credit + ret.exchange.payment_due == ret.exchange.total
    assert refunded == 0 or ret.exchange.payment_due.amount == 0
    if ret.exchange.payment_due.amount:
        assert ret.exchange.payment is not None
        assert ret.exchange.payment_due <= ret.exchange.payment.amount
