"""One contract per remote port, run against the in-memory fakes and the simulators alike."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.clock import FixedClock
from adapters.memory.remote import InMemoryCommerce, InMemoryCrm, InMemoryErp, InMemoryPayments
from adapters.simulators.commerce import SimulatedCommerce
from adapters.simulators.crm import SimulatedCrm
from adapters.simulators.erp import ErpBehaviour, SimulatedErp
from adapters.simulators.faults import FaultModel, Outage
from adapters.simulators.payment import SimulatedPayments
from ports.commerce import CommercePort, CommerceStatus
from ports.crm import CrmPort
from ports.erp import ErpPort
from ports.payment import PaymentDeclined, PaymentPort
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.unit.simulators.worlds import START, a_return, an_order

#: Takes the remote system down. Each factory below gives a port, with the SKU "BAD" rejected
#: and the payment reference "pay_broke" declined, and its switch.
Down = Callable[[], None]


def in_memory_erp() -> tuple[ErpPort, Down]:
    erp = InMemoryErp(rejected_skus={"BAD"})
    return erp, lambda: setattr(erp, "down", True)


def simulated_erp() -> tuple[ErpPort, Down]:
    clock = FixedClock(START)
    faults = FaultModel(clock=clock)
    erp = SimulatedErp(
        clock=clock, faults=faults, behaviour=ErpBehaviour(rejected_skus=frozenset({"BAD"}))
    )
    return erp, lambda: faults.schedule_outage(Outage(START, START + timedelta(hours=1)))


def in_memory_payments() -> tuple[PaymentPort, Down]:
    payments = InMemoryPayments(declined={"pay_broke"})
    return payments, lambda: setattr(payments, "down", True)


def simulated_payments() -> tuple[PaymentPort, Down]:
    clock = FixedClock(START)
    faults = FaultModel(clock=clock)
    payments = SimulatedPayments(faults=faults, declined_references={"pay_broke"})
    return payments, lambda: faults.schedule_outage(Outage(START, START + timedelta(hours=1)))


def in_memory_crm() -> tuple[CrmPort, Down]:
    crm = InMemoryCrm()
    return crm, lambda: setattr(crm, "down", True)


def simulated_crm() -> tuple[CrmPort, Down]:
    clock = FixedClock(START)
    faults = FaultModel(clock=clock)
    return SimulatedCrm(faults=faults), lambda: faults.schedule_outage(
        Outage(START, START + timedelta(hours=1))
    )


def in_memory_commerce() -> tuple[CommercePort, Down]:
    commerce = InMemoryCommerce()
    return commerce, lambda: setattr(commerce, "down", True)


def simulated_commerce() -> tuple[CommercePort, Down]:
    clock = FixedClock(START)
    faults = FaultModel(clock=clock)
    return SimulatedCommerce(faults=faults), lambda: faults.schedule_outage(
        Outage(START, START + timedelta(hours=1))
    )


ERPS = pytest.mark.parametrize("make", [in_memory_erp, simulated_erp], ids=["memory", "simulator"])
PAYMENTS = pytest.mark.parametrize(
    "make", [in_memory_payments, simulated_payments], ids=["memory", "simulator"]
)
CRMS = pytest.mark.parametrize("make", [in_memory_crm, simulated_crm], ids=["memory", "simulator"])
COMMERCES = pytest.mark.parametrize(
    "make", [in_memory_commerce, simulated_commerce], ids=["memory", "simulator"]
)


@ERPS
async def test_erp_books_an_order_once_under_an_erp_ref(
    make: Callable[[], tuple[ErpPort, Down]],
) -> None:
    erp, _ = make()
    first = await erp.submit_order(an_order(1))
    assert first.erp_order_ref is not None
    assert re.fullmatch(r"ERP-\d+", first.erp_order_ref)
    assert await erp.submit_order(an_order(1)) == first
    assert (await erp.submit_order(an_order(2))).erp_order_ref != first.erp_order_ref


@ERPS
async def test_erp_rejects_an_order_with_a_rejected_sku(
    make: Callable[[], tuple[ErpPort, Down]],
) -> None:
    erp, _ = make()
    decision = await erp.submit_order(an_order(1, {"MUG": 1, "BAD": 1}))
    assert not decision.booked
    assert decision.rejection_reason is not None
    assert "BAD" in decision.rejection_reason


@ERPS
async def test_erp_takes_a_sku_once_per_location_and_names_a_rejected_one_once(
    make: Callable[[], tuple[ErpPort, Down]],
) -> None:
    erp, _ = make()
    order = an_order(1, {"BAD": 2}, locations={"BAD": "dc-east"})
    split = replace(order, lines=(*order.lines, replace(order.lines[0], location="dc-west")))
    decision = await erp.submit_order(split)
    assert decision.rejection_reason is not None
    assert decision.rejection_reason.count("BAD") == 1


@ERPS
async def test_erp_takes_every_follow_up_call_twice_without_complaint(
    make: Callable[[], tuple[ErpPort, Down]],
) -> None:
    erp, _ = make()
    order = an_order(1, {"MUG": 3})
    ref = (await erp.submit_order(order)).erp_order_ref
    assert ref is not None
    ret = a_return(an_order(1, {"MUG": 1}), ref)
    for _ in range(2):
        await erp.amend_order(an_order(1, {"MUG": 2}), ref)
        await erp.authorize_return(ret)
        await erp.request_credit_memo(ret.return_id, Decimal("12.50"), "EUR")
    for _ in range(2):
        await erp.cancel_order(order.order_id, ref, "changed my mind")


@ERPS
async def test_erp_that_is_down_raises_remote_unavailable(
    make: Callable[[], tuple[ErpPort, Down]],
) -> None:
    erp, take_down = make()
    take_down()
    with pytest.raises(RemoteUnavailable):
        await erp.submit_order(an_order(1))


@PAYMENTS
async def test_payment_moves_money_once_per_key(
    make: Callable[[], tuple[PaymentPort, Down]],
) -> None:
    payments, _ = make()
    capture = await payments.capture("pay_1", Decimal("10.00"), "EUR", "capture:1")
    assert await payments.capture("pay_1", Decimal("10.00"), "EUR", "capture:1") == capture
    refund = await payments.refund("pay_1", Decimal("4.00"), "EUR", "refund:1")
    assert await payments.refund("pay_1", Decimal("4.00"), "EUR", "refund:1") == refund


@PAYMENTS
async def test_payment_declines_a_declined_reference(
    make: Callable[[], tuple[PaymentPort, Down]],
) -> None:
    payments, take_down = make()
    with pytest.raises(PaymentDeclined) as declined:
        await payments.capture("pay_broke", Decimal("10.00"), "EUR", "capture:1")
    assert declined.value.reason
    take_down()
    with pytest.raises(RemoteUnavailable):
        await payments.capture("pay_1", Decimal("10.00"), "EUR", "capture:2")


@PAYMENTS
async def test_payment_voids_an_uncaptured_authorization_and_not_a_captured_one(
    make: Callable[[], tuple[PaymentPort, Down]],
) -> None:
    payments, _ = make()
    for _ in range(2):
        await payments.void("pay_1", "void:1")
    await payments.capture("pay_2", Decimal("10.00"), "EUR", "capture:2")
    with pytest.raises(RemoteRejected):
        await payments.void("pay_2", "void:2")


@CRMS
async def test_crm_finds_a_case_by_external_id_and_takes_comments_twice(
    make: Callable[[], tuple[CrmPort, Down]],
) -> None:
    crm, take_down = make()
    case_id = await crm.open_case("s", "d", "ext-1")
    assert await crm.open_case("s", "d", "ext-1") == case_id
    assert await crm.open_case("s", "d", "ext-2") != case_id
    for _ in range(2):
        await crm.add_case_comment(case_id, "note", "c1")
        await crm.update_case_status(case_id, "closed")
    take_down()
    with pytest.raises(RemoteUnavailable):
        await crm.open_case("s", "d", "ext-1")


@COMMERCES
async def test_commerce_takes_a_key_twice_and_raises_when_down(
    make: Callable[[], tuple[CommercePort, Down]],
) -> None:
    commerce, take_down = make()
    update = CommerceStatus(channel="web", channel_order_ref="WEB-1", status="booked")
    await commerce.push_status(update, "e1")
    await commerce.push_status(update, "e1")
    take_down()
    with pytest.raises(RemoteUnavailable):
        await commerce.push_status(update, "e2")
