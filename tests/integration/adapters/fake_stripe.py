"""A fake Stripe API on Stripe's documented shapes: Bearer secret key, form-encoded requests,
`Idempotency-Key` replay, PaymentIntents with manual capture, cancel, refunds, card declines and
the error object `{"error": {"type", "code", "message", "decline_code"?}}`.

Serve it in a test through the `fake_stripe` fixture (tests/integration/adapters/conftest.py),
or anywhere with `running(FakeStripe())`, which yields its base URL on 127.0.0.1. Faults (429,
500, slow answers, lost replies) come from `ScriptedApp.fail_next` and the helpers below; they
happen in front of the idempotency layer, as Stripe's rate limiter and load balancers do.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.integration.adapters.live_server import live_server
from tests.integration.adapters.scripted import Fault, Reply, ScriptedApp, Seen

SECRET_KEY = "sk_test_51FakeOrderhubKey0123456789abcdef"
_INTENT = r"/v1/payment_intents/(?P<intent>[^/]+)"


def stripe_error(
    error_type: str, message: str, *, code: str | None = None, **more: Any
) -> dict[str, Any]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if code:
        error["code"] = code
    return {"error": error | more}


@dataclass(frozen=True)
class Movement:
    """Money the fake moved: a capture or a refund, in minor units."""

    kind: str
    intent: str
    amount: int
    object_id: str


@dataclass(frozen=True)
class Decline:
    decline_code: str
    message: str


class FakeStripe(ScriptedApp):
    """PaymentIntents the test created with `add_intent`; `decline(intent)` makes its capture a
    card error. `movements` is every capture and refund made, once each; `requests` (from
    `ScriptedApp`) every request received, with its form and headers."""

    routes = [
        ("GET", _INTENT, "retrieve"),
        ("POST", rf"{_INTENT}/capture", "capture"),
        ("POST", rf"{_INTENT}/cancel", "cancel"),
        ("POST", r"/v1/refunds", "refund"),
    ]

    def __init__(self, secret_key: str = SECRET_KEY) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.intents: dict[str, dict[str, Any]] = {}
        self.movements: list[Movement] = []
        self.declines: dict[str, Decline] = {}
        #: idempotency key → (the request's method, path and form; the first reply)
        self._idempotent: dict[str, tuple[tuple[str, str, Any], Reply]] = {}
        self._ids = itertools.count(1)

    # -- what the test sets up -------------------------------------------------------------

    def add_intent(self, amount: int, currency: str = "eur", intent_id: str | None = None) -> str:
        """A PaymentIntent authorized with manual capture, `amount` in minor units."""
        intent_id = intent_id or f"pi_{next(self._ids):024d}"
        self.intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": amount,
            "amount_received": 0,
            "amount_refunded": 0,
            "currency": currency.lower(),
            "capture_method": "manual",
            "status": "requires_capture",
            "latest_charge": f"ch_{next(self._ids):024d}",
        }
        return intent_id

    def decline(
        self,
        intent_id: str,
        decline_code: str = "insufficient_funds",
        message: str = "Your card has insufficient funds.",
    ) -> None:
        self.declines[intent_id] = Decline(decline_code, message)

    def throttle_next(self, retry_after: float = 1.0, times: int = 1) -> None:
        body = stripe_error("invalid_request_error", "Too many requests", code="rate_limit")
        self.fail_next(*[Fault(429, body, headers={"Retry-After": str(retry_after)})] * times)

    def break_next(self, times: int = 1, *, commit: bool = False) -> None:
        """500 the next requests; with `commit` the request is executed first (a lost reply)."""
        body = stripe_error("api_error", "Something went wrong on Stripe's end.")
        self.fail_next(*[Fault(500, body, commit=commit)] * times)

    def slow_next(self, seconds: float, times: int = 1) -> None:
        self.fail_next(*[Fault(status=None, stall=seconds)] * times)

    # -- what the test looks at ------------------------------------------------------------

    def captured(self, intent_id: str) -> int:
        return sum(m.amount for m in self.movements if (m.kind, m.intent) == ("capture", intent_id))

    def refunded(self, intent_id: str) -> int:
        return sum(m.amount for m in self.movements if (m.kind, m.intent) == ("refund", intent_id))

    # -- the API ---------------------------------------------------------------------------

    def _handle(self, seen: Seen) -> Reply:
        token = seen.headers.get("authorization", "")
        if token != f"Bearer {self.secret_key}":
            # Stripe names the key it refused only by its last four characters.
            shown = token.removeprefix("Bearer ")[-4:]
            return Reply(
                401,
                stripe_error("invalid_request_error", f"Invalid API Key provided: sk_****{shown}"),
            )
        form_encoded = "x-www-form-urlencoded" in seen.headers.get("content-type", "")
        if seen.method == "POST" and seen.body is not None and not form_encoded:
            return Reply(400, stripe_error("invalid_request_error", "Expected a form body"))
        key = seen.headers.get("idempotency-key")
        if seen.method != "POST" or not key:
            return super()._handle(seen)
        request = (seen.method, seen.path, seen.body or {})
        if key in self._idempotent:
            first_request, first_reply = self._idempotent[key]
            if first_request != request:
                return Reply(
                    400,
                    stripe_error(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                    ),
                )
            return Reply(
                first_reply.status,
                first_reply.body,
                {**first_reply.headers, "Idempotent-Replayed": "true"},
            )
        reply = super()._handle(seen)
        self._idempotent[key] = (request, reply)
        return reply

    def retrieve(self, seen: Seen, intent: str) -> Reply:
        found = self.intents.get(intent)
        return Reply(200, dict(found)) if found else _missing(intent)

    def capture(self, seen: Seen, intent: str) -> Reply:
        found = self.intents.get(intent)
        if found is None:
            return _missing(intent)
        if found["status"] != "requires_capture":
            return _unexpected_state(found, "capture")
        if intent in self.declines:
            decline = self.declines[intent]
            return Reply(
                402,
                stripe_error(
                    "card_error",
                    decline.message,
                    code="card_declined",
                    decline_code=decline.decline_code,
                    payment_intent=dict(found),
                ),
            )
        amount = _amount(seen, "amount_to_capture", default=found["amount_capturable"])
        if amount is None or not 0 < amount <= found["amount_capturable"]:
            return Reply(
                400,
                stripe_error(
                    "invalid_request_error",
                    "The amount to capture must be positive and at most the amount capturable.",
                    code="amount_too_large",
                    param="amount_to_capture",
                ),
            )
        found.update(status="succeeded", amount_capturable=0, amount_received=amount)
        self.movements.append(Movement("capture", intent, amount, found["latest_charge"]))
        return Reply(200, dict(found))

    def cancel(self, seen: Seen, intent: str) -> Reply:
        found = self.intents.get(intent)
        if found is None:
            return _missing(intent)
        if found["status"] in {"succeeded", "canceled"}:
            return _unexpected_state(found, "cancel")
        found.update(status="canceled", amount_capturable=0)
        return Reply(200, dict(found))

    def refund(self, seen: Seen) -> Reply:
        form = _form(seen)
        intent = str(form.get("payment_intent", ""))
        found = self.intents.get(intent)
        if found is None:
            return _missing(intent)
        if found["status"] != "succeeded":
            return Reply(
                400,
                stripe_error(
                    "invalid_request_error",
                    f"This PaymentIntent ({intent}) does not have a successful charge to refund.",
                    code="charge_not_refundable",
                ),
            )
        refundable = found["amount_received"] - found["amount_refunded"]
        amount = _amount(seen, "amount", default=refundable)
        if amount is None or not 0 < amount <= refundable:
            return Reply(
                400,
                stripe_error(
                    "invalid_request_error",
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({refundable})",
                    code="amount_too_large",
                    param="amount",
                ),
            )
        found["amount_refunded"] += amount
        refund_id = f"re_{next(self._ids):024d}"
        self.movements.append(Movement("refund", intent, amount, refund_id))
        return Reply(
            200,
            {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "currency": found["currency"],
                "payment_intent": intent,
                "charge": found["latest_charge"],
                "status": "succeeded",
            },
        )


@contextmanager
def running(fake: FakeStripe) -> Iterator[FakeStripe]:
    """Serve `fake` on its own loopback port (outside the adapter tests' shared server)."""
    with live_server(fake) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.release()


def _form(seen: Seen) -> dict[str, str]:
    return seen.body if isinstance(seen.body, dict) else {}


def _amount(seen: Seen, name: str, *, default: int) -> int | None:
    raw = _form(seen).get(name)
    if raw is None:
        return default
    return int(raw) if raw.isdigit() else None


def _missing(intent: str) -> Reply:
    return Reply(
        404,
        stripe_error(
            "invalid_request_error",
            f"No such payment_intent: '{intent}'",
            code="resource_missing",
            param="intent",
        ),
    )


def _unexpected_state(intent: dict[str, Any], action: str) -> Reply:
    return Reply(
        400,
        stripe_error(
            "invalid_request_error",
            f"You cannot {action} this PaymentIntent because it has a status of "
            f"{intent['status']}.",
            code="payment_intent_unexpected_state",
            payment_intent=dict(intent),
        ),
    )
