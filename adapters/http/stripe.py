"""The payment port on Stripe's REST API: capture, cancel and refund PaymentIntents.

Built on our own `RemoteClient`, not the `stripe` SDK: the SDK brings its own retries (with its
own idempotency keys), its own error classes and its own HTTP client, so our circuit breaker,
retry policy, error sorting (`RemoteUnavailable` / `RemoteRejected`), timeouts, correlation
header and spans would be duplicated or bypassed by a second layer doing the same jobs
differently. Three form-encoded POSTs are little to write by hand.
"""

from __future__ import annotations

import re
from decimal import Decimal
from types import TracebackType
from typing import Any

import httpx

from adapters.http.client import RemoteClient
from adapters.http.errors import THROTTLING, describe, is_transient, json_body
from adapters.http.resilience import (
    CircuitBreaker,
    RemoteThrottled,
    RetryPolicy,
    parse_retry_after,
)
from domain.money import minor_unit_exponent
from ports.payment import PaymentDeclined
from ports.remote import RemoteError, RemoteRejected, RemoteUnavailable

SYSTEM = "Stripe"
API_BASE = "https://api.stripe.com"
#: Stripe's error code for an operation the PaymentIntent's status does not allow
UNEXPECTED_STATE = "payment_intent_unexpected_state"
_INTENT_ID = re.compile(r"pi_[A-Za-z0-9_]+")
_MESSAGE_LIMIT = 300


class StripePayments:
    """Moves money on Stripe PaymentIntents the channel authorized with manual capture.

    `payment_reference` is the PaymentIntent id (`pi_…`). Amounts go in the currency's minor
    units (JPY 0 decimals, EUR 2, KWD 3); every request carries the caller's key as
    `Idempotency-Key`, so a retry of a request Stripe already executed is answered from Stripe's
    idempotency record and moves no money again. A card error (402) raises `PaymentDeclined`
    with Stripe's message; 429 (with `Retry-After`), 5xx, timeouts, connection errors and an
    open circuit raise `RemoteUnavailable`; every other refusal raises `RemoteRejected` with
    Stripe's message. The secret key is held only in the HTTP client's headers: it is not in
    this object's repr, in any error message, log line or span.
    """

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str = API_BASE,
        timeout: float | httpx.Timeout = 10.0,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        def classify(response: httpx.Response, system: str) -> RemoteError:
            return stripe_error(response, system, secret=api_key)

        self._api_base = api_base.rstrip("/")
        self._http = RemoteClient(
            SYSTEM,
            base_url=self._api_base,
            # httpx masks the Authorization value in its own reprs of the headers.
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            deadline=deadline,
            retry=retry,
            breaker=breaker,
            classify=classify,
            transport=transport,
        )
        self._classify = classify

    def __repr__(self) -> str:
        return f"StripePayments({self._api_base!r})"

    @property
    def breaker(self) -> CircuitBreaker:
        return self._http.breaker

    async def capture(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Capture `amount`; returns the PaymentIntent's charge id (or its own id)."""
        intent_id = payment_intent_id(payment_reference)
        amount_to_capture = minor_units(amount, currency)
        path = f"/v1/payment_intents/{intent_id}/capture"

        async def attempt() -> str:
            response = await self._post(
                path, {"amount_to_capture": str(amount_to_capture)}, idempotency_key
            )
            if response.status_code == 200:
                return capture_id(json_body(response, SYSTEM))
            # Captured already, under another key (a capture whose reply was lost and whose
            # key the caller did not keep, or one made in the Stripe dashboard): Stripe answers
            # 400 `payment_intent_unexpected_state` and puts the PaymentIntent in the error. If
            # it shows exactly this amount received, the money we asked for has moved once and
            # the capture is done; any other amount is a real conflict for a person to look at.
            intent = intent_in_state(response, "succeeded")
            if intent is not None and intent.get("amount_received") == amount_to_capture:
                return capture_id(intent)
            raise self._classify(response, SYSTEM)

        return await self._http.run(attempt)

    async def void(self, payment_reference: str, idempotency_key: str) -> None:
        """Cancel the PaymentIntent, releasing its uncaptured authorization."""
        intent_id = payment_intent_id(payment_reference)
        path = f"/v1/payment_intents/{intent_id}/cancel"

        async def attempt() -> None:
            response = await self._post(path, {}, idempotency_key)
            # Cancelled already (under another key): releasing it again is what we wanted.
            if response.status_code == 200 or intent_in_state(response, "canceled") is not None:
                return
            raise self._classify(response, SYSTEM)

        await self._http.run(attempt)

    async def refund(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Refund `amount` of what the PaymentIntent captured; returns the refund id."""
        form = {
            "payment_intent": payment_intent_id(payment_reference),
            "amount": str(minor_units(amount, currency)),
        }

        async def attempt() -> str:
            response = await self._post("/v1/refunds", form, idempotency_key, expect=(200,))
            return object_id(json_body(response, SYSTEM), "re_")

        return await self._http.run(attempt)

    async def _post(
        self,
        path: str,
        form: dict[str, str],
        idempotency_key: str,
        *,
        expect: tuple[int, ...] = (200, 400),
    ) -> httpx.Response:
        return await self._http.send(
            "POST", path, data=form, headers={"Idempotency-Key": idempotency_key}, expect=expect
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> StripePayments:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def minor_units(amount: Decimal, currency: str) -> int:
    """`amount` in the currency's smallest unit (12.34 EUR → 1234, 500 JPY → 500, 1.5 KWD →
    1500). An amount finer than the currency's minor unit, or not positive, is a bug upstream:
    rounding it here would move money nobody decided on."""
    try:
        exponent = minor_unit_exponent(currency)
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None
    scaled = amount.scaleb(exponent)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of {currency} minor units")
    if scaled <= 0:
        raise ValueError(f"a payment amount must be positive, got {amount} {currency}")
    return int(scaled)


def payment_intent_id(payment_reference: str) -> str:
    # The id goes into a URL path: only a well-formed PaymentIntent id may.
    if not _INTENT_ID.fullmatch(payment_reference):
        raise RemoteRejected(f"{payment_reference!r} is not a Stripe PaymentIntent id")
    return payment_reference


def stripe_error(response: httpx.Response, system: str, *, secret: str = "") -> RemoteError:
    """Stripe's error object (`{"error": {"type", "code", "message", "decline_code"}}`) sorted:
    402 (a card error) is a decline; 429, 5xx and `Stripe-Should-Retry: true` may pass; any
    other refusal is permanent and carries Stripe's message. `secret` is blanked out of every
    message, whatever the answer echoed."""
    error = error_object(response)
    message = _redact(str(error.get("message") or "").strip(), secret)[:_MESSAGE_LIMIT]
    where = describe(response.request)
    status = response.status_code
    if status == 402 or error.get("type") == "card_error":
        reason = message or "the card was declined"
        decline = error.get("decline_code") or error.get("code") or "card_error"
        return PaymentDeclined(reason, f"{system} declined {where} ({decline}): {reason}")
    codes = "".join(f" {error[k]}" for k in ("type", "code") if error.get(k))
    text = f"{system} answered {status}{codes} to {where}: {message or 'no message'}"
    if is_transient(status):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in THROTTLING and retry_after is not None:
            return RemoteThrottled(text, retry_after=retry_after)
        return RemoteUnavailable(text)
    if response.headers.get("Stripe-Should-Retry") == "true":
        # Stripe's own word that the same request may succeed (a lock timeout, a concurrent
        # request with the same idempotency key still running).
        return RemoteUnavailable(text)
    return RemoteRejected(text)


def error_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def intent_in_state(response: httpx.Response, status: str) -> dict[str, Any] | None:
    """The PaymentIntent of a 400 `payment_intent_unexpected_state` whose status is `status`."""
    if response.status_code != 400:
        return None
    error = error_object(response)
    intent = error.get("payment_intent")
    if error.get("code") != UNEXPECTED_STATE or not isinstance(intent, dict):
        return None
    return intent if intent.get("status") == status else None


def capture_id(intent: Any) -> str:
    """The charge a capture made (`latest_charge`, an id or an expanded object), else the
    PaymentIntent's own id."""
    charge = intent.get("latest_charge") if isinstance(intent, dict) else None
    if isinstance(charge, dict):
        charge = charge.get("id")
    if isinstance(charge, str) and charge:
        return charge
    return object_id(intent, "pi_")


def object_id(body: Any, prefix: str) -> str:
    value = body.get("id") if isinstance(body, dict) else None
    if not isinstance(value, str) or not value.startswith(prefix):
        raise RemoteUnavailable(f"Stripe answer without a {prefix}… id")
    return value


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "[redacted]") if secret else text
