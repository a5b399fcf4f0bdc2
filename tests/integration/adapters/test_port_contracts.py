"""One contract per remote port, run against the in-memory fake and the HTTP adapter on its fake
server, so the fakes the unit tests use promise no more than the real adapters keep."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

import pytest

from adapters.memory.remote import InMemoryCommerce, InMemoryCrm, InMemoryErp, InMemoryPayments
from ports.commerce import CommercePort, CommerceStatus
from ports.crm import CrmPort
from ports.erp import ErpLine, ErpPort, ErpReturn
from ports.payment import PaymentDeclined, PaymentPort
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.integration.adapters.builders import an_order
from tests.integration.adapters.fake_erp import FakeErp
from tests.integration.adapters.fake_salesforce import FakeSalesforce
from tests.integration.adapters.fake_shopify import FakeShopify
from tests.integration.adapters.fake_stripe import FakeStripe
from tests.integration.adapters.scripted import Fault

IMPLEMENTATIONS = ["memory", "http"]
P = TypeVar("P")


@dataclass
class Subject(Generic[P]):
    """A port implementation and the means to look at (and break) the system behind it."""

    port: P
    effects: Callable[[], int]
    go_down: Callable[[], None]


@pytest.fixture(params=IMPLEMENTATIONS)
def erp(request: pytest.FixtureRequest) -> Subject[ErpPort]:
    if request.param == "memory":
        memory = InMemoryErp(rejected_skus={"SKU-X"})
        return Subject[ErpPort](
            memory,
            lambda: sum(d.booked for d in memory.decisions.values()),
            lambda: setattr(memory, "down", True),
        )
    fake: FakeErp = request.getfixturevalue("fake_erp")
    fake.rejected_skus = {"SKU-X"}
    port = request.getfixturevalue("make_erp")(attempts=1)
    return Subject(port, lambda: len(fake.booked()), lambda: fake.fail_always(Fault(503)))


@pytest.fixture(params=IMPLEMENTATIONS)
def crm(request: pytest.FixtureRequest) -> Subject[CrmPort]:
    if request.param == "memory":
        memory = InMemoryCrm()
        return Subject(memory, lambda: len(memory.comments), lambda: setattr(memory, "down", True))
    fake: FakeSalesforce = request.getfixturevalue("fake_salesforce")
    port = request.getfixturevalue("make_crm")(attempts=1)
    return Subject(port, lambda: len(fake.comments), lambda: fake.fail_always(Fault(503)))


@pytest.fixture(params=IMPLEMENTATIONS)
def commerce(request: pytest.FixtureRequest) -> Subject[CommercePort]:
    if request.param == "memory":
        memory = InMemoryCommerce()
        return Subject(memory, lambda: len(memory.updates), lambda: setattr(memory, "down", True))
    fake: FakeShopify = request.getfixturevalue("fake_shopify")
    fake.add_order(1001)
    port = request.getfixturevalue("make_shop")(attempts=1)
    return Subject(port, lambda: len(fake.fulfillments[1001]), lambda: fake.fail_always(Fault(503)))


@pytest.fixture(params=IMPLEMENTATIONS)
def payment(request: pytest.FixtureRequest) -> Subject[PaymentPort]:
    """PaymentIntents pi_1 and pi_2 authorized for 10.00 EUR; pi_broke's card is declined."""
    if request.param == "memory":
        memory = InMemoryPayments(declined={"pi_broke"})
        return Subject(
            memory,
            lambda: len(memory.captures) + len(memory.refunds),
            lambda: setattr(memory, "down", True),
        )
    fake: FakeStripe = request.getfixturevalue("fake_stripe")
    for intent in ("pi_1", "pi_2", "pi_broke"):
        fake.add_intent(1000, "eur", intent_id=intent)
    fake.decline("pi_broke")
    port = request.getfixturevalue("make_payments")(attempts=1)
    return Subject(port, lambda: len(fake.movements), lambda: fake.fail_always(Fault(503)))


async def test_erp_a_resubmitted_order_gets_the_same_decision_and_one_booking(
    erp: Subject[ErpPort],
) -> None:
    port = erp.port
    order = an_order()
    first = await port.submit_order(order)
    assert first.booked
    assert await port.submit_order(order) == first
    assert erp.effects() == 1


async def test_erp_an_order_with_an_item_it_does_not_know_is_rejected_with_a_reason(
    erp: Subject[ErpPort],
) -> None:
    port = erp.port
    decision = await port.submit_order(an_order("SKU-1", "SKU-X"))
    assert not decision.booked
    assert "SKU-X" in (decision.rejection_reason or "")
    assert erp.effects() == 0


async def test_erp_an_amendment_adding_an_item_it_does_not_know_is_refused_with_a_reason(
    erp: Subject[ErpPort],
) -> None:
    port = erp.port
    order = an_order("SKU-1")
    ref = (await port.submit_order(order)).erp_order_ref or ""

    with pytest.raises(RemoteRejected) as refused:
        await port.amend_order(an_order("SKU-1", "SKU-X", order_id=order.order_id), ref)
    await port.amend_order(an_order("SKU-1", "SKU-2", order_id=order.order_id), ref)

    assert str(refused.value) == "unknown items SKU-X"


async def test_erp_cancellation_and_credit_memo_may_be_repeated(erp: Subject[ErpPort]) -> None:
    port = erp.port
    order = an_order()
    ref = (await port.submit_order(order)).erp_order_ref or ""
    for _ in range(2):
        await port.cancel_order(order.order_id, ref, "customer request")
    ret = ErpReturn(
        return_id=order.order_id, order_id=order.order_id, erp_order_ref=ref,
        rma_number="RMA-1", lines=(ErpLine(sku="SKU-1", quantity=1, unit_price=Decimal("1")),),
    )  # fmt: skip
    for _ in range(2):
        await port.authorize_return(ret)
        await port.request_credit_memo(ret.return_id, Decimal("1.00"), "EUR")


async def test_erp_an_outage_is_reported_as_unavailable(erp: Subject[ErpPort]) -> None:
    port = erp.port
    erp.go_down()
    with pytest.raises(RemoteUnavailable):
        await port.submit_order(an_order())


async def test_crm_a_case_is_opened_once_per_external_id(crm: Subject[CrmPort]) -> None:
    port = crm.port
    first = await port.open_case("Return needs review", "mismatch", "return-held:1")
    assert await port.open_case("Return needs review", "mismatch", "return-held:1") == first
    assert await port.open_case("Another", "other", "return-held:2") != first


async def test_crm_a_comment_is_added_once_per_external_id(crm: Subject[CrmPort]) -> None:
    port = crm.port
    case_id = await port.open_case("Subject", "d", "ext-1")
    await port.add_case_comment(case_id, "Refund issued", "evt-1:crm")
    await port.add_case_comment(case_id, "Refund issued", "evt-1:crm")
    await port.add_case_comment(case_id, "Closed", "evt-2:crm")
    assert crm.effects() == 2


async def test_crm_an_outage_is_reported_as_unavailable(crm: Subject[CrmPort]) -> None:
    port = crm.port
    crm.go_down()
    with pytest.raises(RemoteUnavailable):
        await port.open_case("Subject", "d", "ext-1")


async def test_commerce_a_repeated_push_takes_effect_once(commerce: Subject[CommercePort]) -> None:
    port = commerce.port
    shipped = CommerceStatus(
        channel="shopify", channel_order_ref="1001", status="shipped",
        carrier="UPS", tracking_number="1Z1",
    )  # fmt: skip
    await port.push_status(shipped, "evt-1:commerce")
    await port.push_status(shipped, "evt-1:commerce")
    assert commerce.effects() == 1


async def test_commerce_an_outage_is_reported_as_unavailable(
    commerce: Subject[CommercePort],
) -> None:
    port = commerce.port
    commerce.go_down()
    with pytest.raises(RemoteUnavailable):
        await port.push_status(
            CommerceStatus(channel="shopify", channel_order_ref="1001", status="booked"), "k"
        )


async def test_payment_a_repeated_capture_or_refund_moves_money_once(
    payment: Subject[PaymentPort],
) -> None:
    port = payment.port
    capture = await port.capture("pi_1", Decimal("10.00"), "EUR", "capture:order-1")
    assert await port.capture("pi_1", Decimal("10.00"), "EUR", "capture:order-1") == capture
    refund = await port.refund("pi_1", Decimal("4.00"), "EUR", "refund:return-1")
    assert await port.refund("pi_1", Decimal("4.00"), "EUR", "refund:return-1") == refund
    assert payment.effects() == 2


async def test_payment_a_declined_card_is_declined_with_a_reason(
    payment: Subject[PaymentPort],
) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        await payment.port.capture("pi_broke", Decimal("10.00"), "EUR", "capture:order-1")
    assert declined.value.reason
    assert payment.effects() == 0


async def test_payment_a_void_may_be_repeated_and_a_captured_payment_cannot_be_voided(
    payment: Subject[PaymentPort],
) -> None:
    port = payment.port
    for _ in range(2):
        await port.void("pi_2", "void:order-2")
    await port.capture("pi_1", Decimal("10.00"), "EUR", "capture:order-1")
    with pytest.raises(RemoteRejected):
        await port.void("pi_1", "void:order-1")
    assert payment.effects() == 1


async def test_payment_an_outage_is_reported_as_unavailable(payment: Subject[PaymentPort]) -> None:
    payment.go_down()
    with pytest.raises(RemoteUnavailable):
        await payment.port.capture("pi_1", Decimal("10.00"), "EUR", "capture:order-1")
