"""The Stripe payment adapter against a fake Stripe on a loopback socket: what money moves, in
which minor units and under which keys; replays, declines, throttling, outages, and a secret key
that never leaves the Authorization header."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx
import pytest

from adapters.http.resilience import RemoteThrottled
from adapters.http.stripe import StripePayments
from ports.payment import PaymentDeclined
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.integration.adapters.fake_stripe import FakeStripe, running, stripe_error
from tests.integration.adapters.live_server import refused_url
from tests.integration.adapters.scripted import Fault
from tests.tracing import finished, recording
from tests.unit.adapters.timing import RecordedSleeps

MakePayments = Callable[..., StripePayments]
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("1500"), "JPY", 1500),
        (Decimal("12.34"), "EUR", 1234),
        (Decimal("1.5"), "KWD", 1500),
    ],
)
async def test_a_capture_posts_the_amount_in_minor_units_under_the_callers_key(
    make_payments: MakePayments, fake_stripe: FakeStripe, amount: Decimal, currency: str, minor: int
) -> None:
    intent = fake_stripe.add_intent(minor, currency)
    charge = await make_payments().capture(intent, amount, currency, "capture:order-1")
    (request,) = fake_stripe.requests
    assert request.line == f"POST /v1/payment_intents/{intent}/capture"
    assert request.body == {"amount_to_capture": str(minor)}
    assert request.headers["content-type"] == FORM
    assert request.headers["idempotency-key"] == "capture:order-1"
    assert request.headers["authorization"] == f"Bearer {fake_stripe.secret_key}"
    assert charge == fake_stripe.intents[intent]["latest_charge"]
    assert fake_stripe.captured(intent) == minor


async def test_a_partial_capture_takes_only_the_amount_asked(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(5000, "eur")
    await make_payments().capture(intent, Decimal("30.00"), "EUR", "capture:order-1")
    assert fake_stripe.captured(intent) == 3000


async def test_a_void_cancels_the_payment_intent(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    await make_payments().void(intent, "void:order-1")
    (request,) = fake_stripe.requests
    assert request.line == f"POST /v1/payment_intents/{intent}/cancel"
    assert request.headers["idempotency-key"] == "void:order-1"
    assert fake_stripe.intents[intent]["status"] == "canceled"
    assert fake_stripe.movements == []


async def test_a_refund_posts_the_payment_intent_and_the_amount(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1500, "jpy")
    payments = make_payments()
    await payments.capture(intent, Decimal("1500"), "JPY", "capture:order-1")
    refund_id = await payments.refund(intent, Decimal("400"), "JPY", "refund:return-1")
    request = fake_stripe.requests[-1]
    assert request.line == "POST /v1/refunds"
    assert request.body == {"payment_intent": intent, "amount": "400"}
    assert request.headers["idempotency-key"] == "refund:return-1"
    assert refund_id.startswith("re_")
    assert fake_stripe.refunded(intent) == 400


async def test_a_repeated_call_with_the_same_key_moves_money_once(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    payments = make_payments()
    first = await payments.capture(intent, Decimal("10.00"), "EUR", "capture:order-1")
    assert await payments.capture(intent, Decimal("10.00"), "EUR", "capture:order-1") == first
    refund = await payments.refund(intent, Decimal("4.00"), "EUR", "refund:r1")
    assert await payments.refund(intent, Decimal("4.00"), "EUR", "refund:r1") == refund
    assert [(m.kind, m.amount) for m in fake_stripe.movements] == [
        ("capture", 1000),
        ("refund", 400),
    ]


async def test_a_lost_reply_is_retried_under_the_same_key_and_captures_once(
    make_payments: MakePayments, fake_stripe: FakeStripe, sleeps: RecordedSleeps
) -> None:
    intent = fake_stripe.add_intent(1000)
    fake_stripe.break_next(commit=True)
    charge = await make_payments().capture(intent, Decimal("10.00"), "EUR", "capture:order-1")
    assert charge == fake_stripe.intents[intent]["latest_charge"]
    assert len(fake_stripe.requests) == 2
    assert {r.headers["idempotency-key"] for r in fake_stripe.requests} == {"capture:order-1"}
    assert fake_stripe.captured(intent) == 1000
    assert len(sleeps.delays) == 1


async def test_a_capture_already_made_under_another_key_for_the_same_amount_is_done(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    payments = make_payments()
    first = await payments.capture(intent, Decimal("10.00"), "EUR", "capture:order-1")
    assert await payments.capture(intent, Decimal("10.00"), "EUR", "capture:again") == first
    assert fake_stripe.captured(intent) == 1000


async def test_a_capture_already_made_for_another_amount_is_refused(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    payments = make_payments()
    await payments.capture(intent, Decimal("6.00"), "EUR", "capture:order-1")
    with pytest.raises(RemoteRejected, match="payment_intent_unexpected_state"):
        await payments.capture(intent, Decimal("10.00"), "EUR", "capture:again")
    assert fake_stripe.captured(intent) == 600


async def test_a_void_of_a_cancelled_intent_is_done_and_of_a_captured_one_refused(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    cancelled, captured = fake_stripe.add_intent(1000), fake_stripe.add_intent(1000)
    payments = make_payments()
    await payments.void(cancelled, "void:1")
    await payments.void(cancelled, "void:other-key")
    await payments.capture(captured, Decimal("10.00"), "EUR", "capture:2")
    with pytest.raises(RemoteRejected, match="status of succeeded"):
        await payments.void(captured, "void:2")


async def test_a_declined_card_is_payment_declined_with_stripes_message_and_not_retried(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    fake_stripe.decline(intent, "insufficient_funds", "Your card has insufficient funds.")
    with pytest.raises(PaymentDeclined) as declined:
        await make_payments().capture(intent, Decimal("10.00"), "EUR", "capture:order-1")
    assert declined.value.reason == "Your card has insufficient funds."
    assert "insufficient_funds" in str(declined.value)
    assert len(fake_stripe.requests) == 1
    assert fake_stripe.movements == []


async def test_a_throttled_request_waits_for_retry_after_then_succeeds(
    make_payments: MakePayments, fake_stripe: FakeStripe, sleeps: RecordedSleeps
) -> None:
    intent = fake_stripe.add_intent(1000)
    fake_stripe.throttle_next(retry_after=2)
    await make_payments().capture(intent, Decimal("10.00"), "EUR", "capture:order-1")
    assert len(fake_stripe.requests) == 2
    (delay,) = sleeps.delays
    assert 2 <= delay < 3
    assert fake_stripe.captured(intent) == 1000


async def test_a_long_throttle_is_handed_back_to_the_caller_with_its_hint(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    fake_stripe.throttle_next(retry_after=120)
    with pytest.raises(RemoteThrottled) as throttled:
        await make_payments().capture(intent, Decimal("10.00"), "EUR", "capture:order-1")
    assert throttled.value.retry_after == 120


async def test_a_server_error_is_unavailable_after_the_retries(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    fake_stripe.break_next(times=3)
    with pytest.raises(RemoteUnavailable, match="500"):
        await make_payments(attempts=3).capture(intent, Decimal("10.00"), "EUR", "capture:1")
    assert len(fake_stripe.requests) == 3
    assert fake_stripe.movements == []


async def test_stripe_should_retry_makes_a_conflict_transient(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    busy = stripe_error("idempotency_error", "A request with this key is in progress.")
    fake_stripe.fail_next(Fault(409, busy, headers={"Stripe-Should-Retry": "true"}))
    await make_payments().capture(intent, Decimal("10.00"), "EUR", "capture:1")
    assert fake_stripe.captured(intent) == 1000


async def test_a_slow_answer_and_a_refused_connection_are_unavailable(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    fake_stripe.slow_next(2.0)
    with pytest.raises(RemoteUnavailable):
        await make_payments(attempts=1, timeout=0.2).capture(intent, Decimal("10"), "EUR", "c:1")
    with pytest.raises(RemoteUnavailable):
        await make_payments(attempts=1, api_base=refused_url()).void(intent, "void:1")


Call = Callable[[StripePayments, str], Awaitable[object]]
REFUSALS: list[tuple[str, Call, str]] = [
    ("unknown", lambda p, i: p.capture(i, Decimal("10.00"), "EUR", "capture:9"), "No such"),
    ("captured", lambda p, i: p.refund(i, Decimal("10.01"), "EUR", "r:1"), "greater than"),
    ("captured", lambda p, i: p.capture(i, Decimal("9.00"), "EUR", "capture:1"), "same param"),
    ("fresh", lambda p, i: p.refund(i, Decimal("1.00"), "EUR", "r:1"), "no.* successful charge"),
]


@pytest.mark.parametrize(
    ("setup", "call", "message"),
    REFUSALS,
    ids=["unknown-intent", "refund-too-large", "key-reused", "refund-before-capture"],
)
async def test_other_refusals_are_rejected_with_stripes_message(
    make_payments: MakePayments, fake_stripe: FakeStripe, setup: str, call: Call, message: str
) -> None:
    payments = make_payments()
    intent = "pi_unknown" if setup == "unknown" else fake_stripe.add_intent(1000)
    if setup == "captured":
        await payments.capture(intent, Decimal("10.00"), "EUR", "capture:1")
    with pytest.raises(RemoteRejected, match=message) as rejected:
        await call(payments, intent)
    assert not isinstance(rejected.value, PaymentDeclined)


async def test_a_reference_that_is_not_a_payment_intent_is_refused_before_any_request(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    with pytest.raises(RemoteRejected, match="not a Stripe PaymentIntent id"):
        await make_payments().capture("pi_1/../../v1/customers", Decimal("1"), "EUR", "c:1")
    assert fake_stripe.requests == []


async def test_an_amount_finer_than_the_minor_unit_is_a_programming_error(
    make_payments: MakePayments, fake_stripe: FakeStripe
) -> None:
    intent = fake_stripe.add_intent(1000)
    with pytest.raises(ValueError, match="minor units"):
        await make_payments().capture(intent, Decimal("10.005"), "EUR", "capture:1")
    with pytest.raises(ValueError, match="minor units"):
        await make_payments().refund(intent, Decimal("0.5"), "JPY", "refund:1")
    assert fake_stripe.requests == []


async def test_the_secret_key_is_never_in_logs_reprs_errors_or_spans(
    make_payments: MakePayments, fake_stripe: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    spans = recording()
    key = fake_stripe.secret_key
    payments = make_payments()
    intent = fake_stripe.add_intent(1000)
    fake_stripe.decline(intent, message=f"echoing {key} back")
    errors: list[BaseException] = []
    fake_stripe.break_next(times=3)
    for call in (
        lambda: payments.void(intent, "void:1"),
        lambda: payments.capture(intent, Decimal("10.00"), "EUR", "capture:1"),
        lambda: make_payments(api_key="sk_test_wrongKey123456").void(intent, "void:2"),
    ):
        with pytest.raises(RemoteRejected if errors else RemoteUnavailable) as failed:
            await call()
        errors.append(failed.value)
    assert fake_stripe.requests[-1].headers["authorization"].endswith("wrongKey123456")
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(payments)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [f"{s.name} {dict(s.attributes or {})}" for s in spans.get_finished_spans()]
    assert len(finished()) >= 5
    for secret in (key, "sk_test_wrongKey123456"):
        assert not [text for text in texts if secret in text]


async def test_the_fake_can_be_served_on_its_own_port(make_payments: MakePayments) -> None:
    with running(FakeStripe()) as fake:
        intent = fake.add_intent(700, "eur")
        async with StripePayments(api_key=fake.secret_key, api_base=fake.url) as payments:
            await payments.capture(intent, Decimal("7.00"), "EUR", "capture:1")
        assert fake.captured(intent) == 700


async def test_the_fake_replays_a_key_like_stripe(fake_stripe: FakeStripe) -> None:
    intent = fake_stripe.add_intent(1000)
    auth = {"Authorization": f"Bearer {fake_stripe.secret_key}", "Idempotency-Key": "k1"}
    path = f"/v1/payment_intents/{intent}/capture"
    async with httpx.AsyncClient(base_url=fake_stripe.url, headers=auth) as client:
        first = await client.post(path, data={"amount_to_capture": "1000"})
        again = await client.post(path, data={"amount_to_capture": "1000"})
        other = await client.post(path, data={"amount_to_capture": "900"})
        anonymous = await client.post(path, headers={"Authorization": ""})
    assert (first.status_code, "idempotent-replayed" in first.headers) == (200, False)
    assert (again.json(), again.headers["idempotent-replayed"]) == (first.json(), "true")
    assert other.json()["error"]["type"] == "idempotency_error"
    assert anonymous.status_code == 401
    assert fake_stripe.captured(intent) == 1000
