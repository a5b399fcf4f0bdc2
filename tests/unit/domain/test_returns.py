"""Returns: the channel policy on request, receipt and inspection, and a refund the ERP must match."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.errors import (
    InvalidTransition,
    NotReturnable,
    QuantityExceedsReturnable,
    ReceiptExceedsReturn,
    RefundExceedsCaptured,
    ReturnWindowExpired,
    ValidationFailed,
)
from domain.events import (
    CaseLinked,
    InspectedLine,
    RefundIssued,
    ReturnHeld,
    ReturnInspected,
    ReturnReceived,
    ReturnRequested,
)
from domain.money import Money
from domain.order import Order
from domain.return_policy import ReturnPolicy
from domain.returns import Disposition, Return
from tests.factories import ReturnLineSpecFactory
from tests.unit.domain.builders import (
    NOW,
    Stock,
    book,
    delivered,
    event_types,
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

LATER = NOW + timedelta(days=3)
DEFAULT = ReturnPolicy()


def request(
    order: Order,
    *lines: tuple[str, int],
    policy: ReturnPolicy = DEFAULT,
    at: datetime = LATER,
    case_id: str | None = None,
) -> Return:
    return order.request_return(
        return_id=uuid4(),
        lines=[ReturnLineSpecFactory(sku=sku, quantity=quantity) for sku, quantity in lines],
        policy=policy,
        rma_number=f"RMA-{len(order.returns) + 1}",
        now=at,
        case_id=case_id,
    )


def receive(order: Order, ret: Return, *lines: tuple[str, int]) -> None:
    order.receive_return(ret.id, list(lines), LATER)


def inspected(
    order: Order, stock: Stock, *lines: tuple[str, int], policy: ReturnPolicy = DEFAULT
) -> Return:
    """A return of `lines`, received in full and scrapped, waiting for the ERP's credit memo."""
    ret = request(order, *lines, policy=policy)
    receive(order, ret, *lines)
    order.inspect_return(ret.id, {sku: Disposition.SCRAP for sku, _ in lines}, LATER, stock)
    settled(order)
    return ret


def two_mugs(shipping: str = "0") -> tuple[Order, Stock]:
    return delivered(line("MUG", 2, "19.99"), shipping=shipping)


# -- the policy ------------------------------------------------------------------------------


def test_a_return_inside_the_window_is_requested_and_authorized() -> None:
    order, _ = two_mugs()

    ret = request(order, ("MUG", 1), at=NOW + timedelta(days=30))

    assert ret.status == "authorized"
    assert ret.rma_number == "RMA-1"
    assert order.returns == {ret.id: ret}
    assert event_types(order) == ["ReturnRequested", "ReturnAuthorized"]


def test_a_return_after_the_window_from_delivery_is_refused_and_nothing_is_stored() -> None:
    order, _ = two_mugs()
    before = state_of(order)

    with pytest.raises(ReturnWindowExpired) as refused:
        request(order, ("MUG", 1), at=NOW + timedelta(days=30, seconds=1))

    assert refused.value.code == "return_window_expired"
    assert state_of(order) == before


def test_the_window_is_the_channel_policy() -> None:
    order, _ = two_mugs()

    with pytest.raises(ReturnWindowExpired):
        request(order, ("MUG", 1), policy=ReturnPolicy(window_days=7), at=NOW + timedelta(days=8))


def test_units_shipped_but_not_yet_delivered_can_be_returned_any_time() -> None:
    stock = levels(("MUG", "dc-east", 2))
    order = book(place(line("MUG", 2), stock=stock))
    ship(order, stock, ("MUG", 2))

    ret = request(order, ("MUG", 2), at=NOW + timedelta(days=90))

    assert ret.status == "authorized"


def test_the_window_runs_from_the_latest_delivery_of_the_sku() -> None:
    stock = levels(("MUG", "dc-east", 2))
    order = book(place(line("MUG", 2), stock=stock))
    ship(order, stock, ("MUG", 1))
    order.record_delivery("S1", NOW, NOW)
    ship(order, stock, ("MUG", 1), shipment_id="S2", at=NOW + timedelta(days=20))
    order.record_delivery("S2", NOW + timedelta(days=20), NOW + timedelta(days=20))

    ret = request(order, ("MUG", 2), at=NOW + timedelta(days=40))

    assert ret.status == "authorized"


def test_a_unit_still_on_its_way_is_inside_the_window_though_an_earlier_one_arrived_long_ago() -> (
    None
):
    stock = levels(("MUG", "dc-east", 2))
    order = book(place(line("MUG", 2), stock=stock))
    ship(order, stock, ("MUG", 1))
    order.record_delivery("S1", NOW, NOW)
    ship(order, stock, ("MUG", 1), shipment_id="S2", at=NOW + timedelta(days=35))

    ret = request(order, ("MUG", 1), at=NOW + timedelta(days=40))

    assert ret.status == "authorized"


def test_a_non_returnable_sku_is_refused_and_nothing_is_stored() -> None:
    order, _ = two_mugs()
    before = state_of(order)

    with pytest.raises(NotReturnable) as refused:
        request(order, ("MUG", 1), policy=ReturnPolicy(non_returnable_skus=frozenset({"MUG"})))

    assert refused.value.code == "not_returnable"
    assert state_of(order) == before


def test_more_than_was_shipped_is_not_returnable() -> None:
    order, _ = two_mugs()

    with pytest.raises(QuantityExceedsReturnable) as refused:
        request(order, ("MUG", 3))

    assert refused.value.code == "quantity_exceeds_returnable"
    assert order.returns == {}


def test_units_on_an_open_return_are_not_returnable_again() -> None:
    order, _ = delivered(line("MUG", 3))
    request(order, ("MUG", 2))
    before = state_of(order)

    with pytest.raises(QuantityExceedsReturnable):
        request(order, ("MUG", 2))

    assert state_of(order) == before
    assert order.returnable("MUG") == 1


def test_only_shipped_units_are_returnable() -> None:
    stock = levels(("MUG", "dc-east", 3))
    order = book(place(line("MUG", 3), stock=stock))
    ship(order, stock, ("MUG", 1))

    with pytest.raises(QuantityExceedsReturnable):
        request(order, ("MUG", 2))
    assert request(order, ("MUG", 1)).status == "authorized"


def test_a_cancelled_return_frees_its_units_again() -> None:
    order, _ = two_mugs()
    ret = request(order, ("MUG", 2))

    order.cancel_return(ret.id, LATER)

    assert ret.status == "cancelled"
    assert order.returnable("MUG") == 2
    assert request(order, ("MUG", 2)).status == "authorized"


def test_a_rejected_return_frees_its_units_again() -> None:
    order, _ = two_mugs()
    ret = request(order, ("MUG", 2))

    order.reject_return(ret.id, "photos show wear", LATER)

    assert order.returnable("MUG") == 2


def test_units_a_finished_return_did_not_bring_back_are_returnable_again() -> None:
    order, stock = two_mugs()
    ret = request(order, ("MUG", 2))
    receive(order, ret, ("MUG", 1))  # the customer sent only one mug
    order.inspect_return(ret.id, {"MUG": Disposition.RESTOCK}, LATER, stock)
    order.post_credit_memo(ret.id, "CM-1", Money.of("19.99", "EUR"), LATER)
    order.close_return(ret.id, LATER)

    assert order.returned("MUG") == 1
    assert order.returnable("MUG") == 1


def test_a_return_of_a_sku_the_order_does_not_have_is_refused() -> None:
    order, _ = two_mugs()

    with pytest.raises(ValidationFailed):
        request(order, ("PLATE", 1))


def test_without_auto_authorization_a_return_waits_as_requested() -> None:
    order, _ = two_mugs()

    ret = request(order, ("MUG", 1), policy=ReturnPolicy(auto_authorize=False))

    assert (ret.status, ret.rma_number) == ("requested", None)
    assert event_types(order) == ["ReturnRequested"]

    order.authorize_return(ret.id, "RMA-77", LATER)

    assert (ret.status, ret.rma_number) == ("authorized", "RMA-77")


def test_a_requested_return_cannot_be_received_before_it_is_authorized() -> None:
    order, _ = two_mugs()
    ret = request(order, ("MUG", 1), policy=ReturnPolicy(auto_authorize=False))

    with pytest.raises(InvalidTransition):
        receive(order, ret, ("MUG", 1))


# -- receipt and the refund due --------------------------------------------------------------


def test_the_refund_is_unit_price_times_received_less_the_restocking_fee() -> None:
    order, _ = delivered(line("MUG", 2, "19.99"), line("BOWL", 1, "5.05"))
    ret = request(
        order, ("MUG", 2), ("BOWL", 1), policy=ReturnPolicy(restocking_fee_percent=Decimal(15))
    )

    receive(order, ret, ("MUG", 2), ("BOWL", 0))

    # 2 × 19.99 = 39.98; 15 % of it is 5.997, rounded to 6.00
    assert ret.refund_amount == Money.of("33.98", "EUR")
    received = the_event(order, ReturnReceived)
    assert (received.refund_amount, received.currency) == (Decimal("33.98"), "EUR")
    assert ret.status == "received"


def test_the_restocking_fee_is_rounded_half_even_to_the_cent() -> None:
    order, _ = delivered(line("MUG", 1, "10.10"))
    ret = request(order, ("MUG", 1), policy=ReturnPolicy(restocking_fee_percent=Decimal(5)))

    receive(order, ret, ("MUG", 1))

    assert ret.refund_amount == Money.of("9.60", "EUR")  # the fee 0.505 rounds to 0.50


def test_the_refund_counts_only_the_units_received() -> None:
    order, _ = delivered(line("MUG", 3, "12.00"))
    ret = request(order, ("MUG", 3))

    receive(order, ret, ("MUG", 1))

    assert ret.refund_amount == Money.of("12.00", "EUR")
    assert order.returned("MUG") == 1


def test_shipping_is_not_refunded_by_default() -> None:
    order, _ = two_mugs(shipping="4.95")
    ret = request(order, ("MUG", 2))

    receive(order, ret, ("MUG", 2))

    assert ret.refund_amount == Money.of("39.98", "EUR")


def test_shipping_is_refunded_once_by_the_return_that_brings_back_the_last_unit() -> None:
    order, _ = two_mugs(shipping="4.95")
    policy = ReturnPolicy(refund_shipping=True, restocking_fee_percent=Decimal(10))
    first, second = (
        request(order, ("MUG", 1), policy=policy),
        request(order, ("MUG", 1), policy=policy),
    )

    receive(order, second, ("MUG", 1))
    receive(order, first, ("MUG", 1))

    assert second.refund_amount == Money.of("17.99", "EUR")  # 19.99 less a fee of 2.00
    assert first.refund_amount == Money.of("22.94", "EUR")  # and the 4.95 shipping, fee-free
    assert (second.shipping_refund, first.shipping_refund) == (
        Money.of(0, "EUR"),
        Money.of("4.95", "EUR"),
    )


def test_shipping_is_not_refunded_while_part_of_the_order_was_never_shipped() -> None:
    stock = levels(("MUG", "dc-east", 2), ("BOWL", "dc-east", 1))
    order = book(place(line("MUG", 2), line("BOWL", 1), stock=stock, shipping_amount=Decimal(5)))
    ship(order, stock, ("MUG", 2))
    ret = request(order, ("MUG", 2), policy=ReturnPolicy(refund_shipping=True))

    receive(order, ret, ("MUG", 2))

    assert ret.shipping_refund == Money.of(0, "EUR")


def test_a_receipt_above_what_the_return_covers_is_refused() -> None:
    order, _ = delivered(line("MUG", 3))
    ret = request(order, ("MUG", 2))
    before = state_of(order)

    with pytest.raises(ReceiptExceedsReturn):
        receive(order, ret, ("MUG", 3))

    assert state_of(order) == before


# -- inspection ------------------------------------------------------------------------------


def test_inspection_restocks_units_where_the_sku_shipped_from() -> None:
    stock = levels(("MUG", "dc-east", 5), ("MUG", "dc-west", 5))
    order = book(place(line("MUG", 2), stock=stock))  # reserved at dc-east
    ship(order, stock, ("MUG", 2), location="dc-west")
    order.record_delivery("S1", NOW, NOW)
    ret = request(order, ("MUG", 2))
    receive(order, ret, ("MUG", 2))
    settled(order)

    order.inspect_return(ret.id, {"MUG": Disposition.RESTOCK}, LATER, stock)

    assert on_hand_and_reserved(stock, "MUG", "dc-west") == (5, 0)  # 3 left + 2 back
    assert on_hand_and_reserved(stock, "MUG", "dc-east") == (5, 0)
    assert ret.status == "inspected"
    assert the_event(order, ReturnInspected).lines == (
        InspectedLine(sku="MUG", disposition="restock", quantity=2, restocked_at="dc-west"),
    )


def test_scrapped_units_do_not_go_back_on_hand() -> None:
    order, stock = two_mugs()
    ret = request(order, ("MUG", 2))
    receive(order, ret, ("MUG", 2))
    before = stock_state(stock)

    order.inspect_return(ret.id, {"MUG": Disposition.SCRAP}, LATER, stock)

    assert stock_state(stock) == before
    assert the_event(order, ReturnInspected).lines[0].restocked_at is None


def test_inspection_needs_a_disposition_for_every_received_line() -> None:
    order, stock = two_mugs()
    ret = request(order, ("MUG", 2))
    receive(order, ret, ("MUG", 2))

    with pytest.raises(ValidationFailed):
        order.inspect_return(ret.id, {}, LATER, stock)

    assert ret.status == "received"


# -- the credit memo and the refund ----------------------------------------------------------


def test_a_matching_credit_memo_refunds_part_of_the_payment() -> None:
    order, stock = two_mugs()
    ret = inspected(order, stock, ("MUG", 1))

    order.post_credit_memo(ret.id, "CM-1", Money.of("19.99", "EUR"), LATER)

    assert (ret.status, ret.credit_memo_ref) == ("refunded", "CM-1")
    assert order.payment.status == "partially_refunded"
    assert order.payment.refunded == Money.of("19.99", "EUR")
    assert order.events == [
        RefundIssued(
            order_id=order.id,
            return_id=ret.id,
            amount=Decimal("19.99"),
            currency="EUR",
            credit_memo_ref="CM-1",
            payment_status="partially_refunded",
            credit_memo_amount=Decimal("19.99"),
        )
    ]


def test_refunding_everything_captured_makes_the_payment_refunded() -> None:
    order, stock = two_mugs()
    ret = inspected(order, stock, ("MUG", 2))

    order.post_credit_memo(ret.id, "CM-1", Money.of("39.98", "EUR"), LATER)

    assert order.payment.status == "refunded"
    assert the_event(order, RefundIssued).payment_status == "refunded"


def test_a_refunded_return_can_be_closed() -> None:
    order, stock = two_mugs()
    ret = inspected(order, stock, ("MUG", 1))
    order.post_credit_memo(ret.id, "CM-1", Money.of("19.99", "EUR"), LATER)

    order.close_return(ret.id, LATER)

    assert ret.status == "closed"
    assert event_types(order)[-1] == "ReturnClosed"


def test_a_mismatching_credit_memo_puts_the_return_on_hold_and_refunds_nothing() -> None:
    order, stock = two_mugs()
    ret = inspected(order, stock, ("MUG", 1))
    payment = state_of(order)["payment"]

    order.post_credit_memo(ret.id, "CM-1", Money.of("20.00", "EUR"), LATER)

    assert ret.status == "on_hold"
    assert order.payment == payment
    assert event_types(order) == ["ReturnHeld"]
    assert "CM-1" in the_event(order, ReturnHeld).reason


def test_releasing_the_hold_waits_for_a_matching_credit_memo_again() -> None:
    order, stock = two_mugs()
    ret = inspected(order, stock, ("MUG", 1))
    order.post_credit_memo(ret.id, "CM-1", Money.of("20.00", "EUR"), LATER)

    order.release_return_hold(ret.id, LATER)

    assert (ret.status, ret.credit_memo_ref, ret.hold_reason) == ("inspected", None, None)
    order.post_credit_memo(ret.id, "CM-2", Money.of("19.99", "EUR"), LATER)
    assert ret.status == "refunded"
    assert order.payment.refunded == Money.of("19.99", "EUR")


def test_a_refund_above_what_was_captured_is_refused_and_changes_nothing() -> None:
    stock = levels(("MUG", "dc-east", 2))
    order = book(place(line("MUG", 2, "19.99"), stock=stock))
    ship(order, stock, ("MUG", 2))
    order.capture_payment(NOW, Money.of("10.00", "EUR"))
    ret = inspected(order, stock, ("MUG", 2))
    before = state_of(order)

    with pytest.raises(RefundExceedsCaptured):
        order.post_credit_memo(ret.id, "CM-1", Money.of("39.98", "EUR"), LATER)

    assert state_of(order) == before


def test_refunds_together_never_exceed_what_was_captured() -> None:
    stock = levels(("MUG", "dc-east", 2))
    order = book(place(line("MUG", 2, "19.99"), stock=stock))
    ship(order, stock, ("MUG", 2))
    order.capture_payment(NOW, Money.of("25.00", "EUR"))
    first = inspected(order, stock, ("MUG", 1))
    order.post_credit_memo(first.id, "CM-1", Money.of("19.99", "EUR"), LATER)
    second = inspected(order, stock, ("MUG", 1))

    with pytest.raises(RefundExceedsCaptured):
        order.post_credit_memo(second.id, "CM-2", Money.of("19.99", "EUR"), LATER)

    assert second.status == "inspected"
    assert order.payment.refunded == Money.of("19.99", "EUR")


def test_the_same_credit_memo_posted_twice_refunds_once() -> None:
    order, stock = two_mugs()
    ret = inspected(order, stock, ("MUG", 1))
    order.post_credit_memo(ret.id, "CM-1", Money.of("19.99", "EUR"), LATER)
    before = state_of(order)

    order.post_credit_memo(ret.id, "CM-1", Money.of("19.99", "EUR"), LATER)

    assert state_of(order) == before


def test_the_same_mismatching_credit_memo_posted_twice_holds_once() -> None:
    order, stock = two_mugs()
    ret = inspected(order, stock, ("MUG", 1))
    order.post_credit_memo(ret.id, "CM-1", Money.of("1.00", "EUR"), LATER)
    before = state_of(order)

    order.post_credit_memo(ret.id, "CM-1", Money.of("1.00", "EUR"), LATER)

    assert state_of(order) == before


def test_a_return_that_brought_nothing_back_refunds_nothing() -> None:
    order, stock = two_mugs()
    ret = request(order, ("MUG", 1))
    receive(order, ret, ("MUG", 0))
    order.inspect_return(ret.id, {}, LATER, stock)

    order.post_credit_memo(ret.id, "CM-0", Money.of(0, "EUR"), LATER)

    assert ret.status == "refunded"
    assert order.payment.status == "captured"


# -- CRM cases -------------------------------------------------------------------------------


def test_a_case_named_on_a_return_is_linked_to_the_order_once() -> None:
    order, _ = delivered(line("MUG", 2))

    first = request(order, ("MUG", 1), case_id="500C70000000000")
    request(order, ("MUG", 1), case_id="500C70000000000")

    assert order.case_ids == ["500C70000000000"]
    assert [type(e) for e in order.events].count(CaseLinked) == 1
    assert the_event(order, CaseLinked) == CaseLinked(
        order_id=order.id, case_id="500C70000000000", return_id=first.id
    )
    assert [e.case_id for e in order.events if isinstance(e, ReturnRequested)] == [
        "500C70000000000",
        "500C70000000000",
    ]
