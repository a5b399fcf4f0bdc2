"""The simulated payment provider: money moves once per idempotency key; declines are seeded;
voids release what was not captured."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from adapters.simulators.faults import FaultModel, FaultProfile
from adapters.simulators.payment import SimulatedPayments
from ports.payment import PaymentDeclined, PaymentPort
from ports.remote import RemoteRejected
from tests.unit.simulators.worlds import with_retries

TEN = Decimal("10.00")


async def test_it_implements_the_payment_port() -> None:
    payments: PaymentPort = SimulatedPayments()
    assert await payments.capture("pay_1", TEN, "EUR", "capture:1") == "ch_00000001"


async def test_a_capture_is_made_once_per_idempotency_key() -> None:
    payments = SimulatedPayments()
    first = await payments.capture("pay_1", TEN, "EUR", "capture:1")
    again = await payments.capture("pay_1", Decimal("10.0"), "EUR", "capture:1")
    assert first == again
    assert payments.captured("pay_1") == TEN
    assert (payments.stats.captures, payments.stats.duplicates_suppressed) == (1, 1)


async def test_a_refund_is_made_once_per_idempotency_key() -> None:
    payments = SimulatedPayments()
    await payments.capture("pay_1", TEN, "EUR", "capture:1")
    first = await payments.refund("pay_1", Decimal("4.00"), "EUR", "refund:1")
    assert await payments.refund("pay_1", Decimal("4.00"), "EUR", "refund:1") == first
    assert payments.refunded("pay_1") == Decimal("4.00")


async def test_a_key_reused_for_another_request_is_refused() -> None:
    payments = SimulatedPayments()
    await payments.capture("pay_1", TEN, "EUR", "capture:1")
    with pytest.raises(RemoteRejected, match="idempotency key"):
        await payments.capture("pay_1", Decimal("11.00"), "EUR", "capture:1")
    with pytest.raises(RemoteRejected, match="idempotency key"):
        await payments.refund("pay_1", TEN, "EUR", "capture:1")


async def test_lost_replies_never_capture_twice() -> None:
    faults = FaultModel(FaultProfile(failure_rate=0.3, lost_reply_rate=0.4), seed=2)
    payments = SimulatedPayments(faults=faults)
    for n in range(30):
        await with_retries(partial(payments.capture, f"pay_{n}", TEN, "EUR", f"capture:{n}"))
    assert faults.stats.lost_replies > 0
    assert len(payments.captures()) == 30
    assert all(payments.captured(f"pay_{n}") == TEN for n in range(30))


async def test_a_declined_reference_is_declined_every_time() -> None:
    payments = SimulatedPayments(declined_references={"pay_broke"})
    for _ in range(2):
        with pytest.raises(PaymentDeclined, match="declined") as declined:
            await payments.capture("pay_broke", TEN, "EUR", "capture:1")
        assert "insufficient funds" in declined.value.reason
    assert payments.captures() == []


async def test_declines_are_seeded_per_reference() -> None:
    async def declined(seed: int) -> list[int]:
        payments = SimulatedPayments(seed=seed, decline_rate=0.1)
        refused = []
        for n in range(300):
            try:
                await payments.capture(f"pay_{n}", TEN, "EUR", f"capture:{n}")
            except PaymentDeclined:
                refused.append(n)
        return refused

    assert await declined(1) == await declined(1)
    assert await declined(1) != await declined(2)
    assert abs(len(await declined(1)) - 30) <= 26  # 300 at 10 %: σ ≈ 5.2, ±5σ


async def test_a_refund_never_exceeds_what_was_captured() -> None:
    payments = SimulatedPayments()
    await payments.capture("pay_1", TEN, "EUR", "capture:1")
    await payments.refund("pay_1", Decimal("6.00"), "EUR", "refund:1")
    with pytest.raises(RemoteRejected, match="exceeds"):
        await payments.refund("pay_1", Decimal("4.01"), "EUR", "refund:2")
    await payments.refund("pay_1", Decimal("4.00"), "EUR", "refund:2")
    assert payments.refunded("pay_1") == TEN


async def test_a_refund_before_the_capture_is_refused_and_can_be_retried_after_it() -> None:
    payments = SimulatedPayments()
    with pytest.raises(RemoteRejected, match="nothing captured"):
        await payments.refund("pay_1", TEN, "EUR", "refund:1")
    await payments.capture("pay_1", TEN, "EUR", "capture:1")
    assert await payments.refund("pay_1", TEN, "EUR", "refund:1") == "re_00000001"


async def test_a_refund_in_another_currency_is_refused() -> None:
    payments = SimulatedPayments()
    await payments.capture("pay_1", TEN, "EUR", "capture:1")
    with pytest.raises(RemoteRejected):
        await payments.refund("pay_1", TEN, "USD", "refund:1")


async def test_a_void_releases_the_authorization_once_and_may_be_repeated() -> None:
    payments = SimulatedPayments()
    await payments.void("pay_1", "void:1")
    await payments.void("pay_1", "void:1")
    await payments.void("pay_1", "void:2")
    assert payments.voided("pay_1")
    assert (payments.stats.voids, payments.stats.duplicates_suppressed) == (1, 2)


async def test_a_voided_authorization_cannot_be_captured() -> None:
    payments = SimulatedPayments()
    await payments.void("pay_1", "void:1")
    with pytest.raises(RemoteRejected, match="voided"):
        await payments.capture("pay_1", TEN, "EUR", "capture:1")
    assert payments.captures() == []


async def test_a_captured_payment_cannot_be_voided() -> None:
    payments = SimulatedPayments()
    await payments.capture("pay_1", TEN, "EUR", "capture:1")
    with pytest.raises(RemoteRejected, match="refunded, not voided"):
        await payments.void("pay_1", "void:1")
    assert not payments.voided("pay_1")
