"""The Stripe the workers talk to during a fault run, served from the test process so that the
test can take it down and count the money it moved.

It is the fake of `tests/integration/adapters/fake_stripe.py` (Stripe's shapes, Idempotency-Key
replay, a `Movement` per capture and refund made, card declines), plus an off switch, replies
lost after the work was done, and the idempotency key of every movement, so that a scenario counts
money moved rather than requests answered: a replay is not a second movement, and a second
distinct capture or refund (another key) would be."""

from __future__ import annotations

from dataclasses import dataclass

from tests.faults.load import Channel, Operation
from tests.integration.adapters.fake_stripe import SECRET_KEY, FakeStripe, Movement, stripe_error
from tests.integration.adapters.scripted import Reply, Seen


def stripe_settings(url: str) -> dict[str, str]:
    """The processes' settings that send payments to the fake Stripe served at `url`."""
    return {"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": SECRET_KEY, "STRIPE_API_BASE": url}


@dataclass(frozen=True, slots=True)
class Moved:
    """A movement and the Idempotency-Key of the request that made it."""

    movement: Movement
    key: str


class ControllableStripe(FakeStripe):
    def __init__(self) -> None:
        super().__init__()
        #: While True every request gets 503 `api_error`, as Stripe in an incident answers.
        self.down = False
        #: While up, this many requests of each kind (`capture`, `refund`) are executed but
        #: answered 503, as a Stripe that is coming back shakily may: the money moved, the caller
        #: does not know it.
        self.lose_replies: dict[str, int] = {}
        self.refused_while_down = 0
        #: every request Stripe's own logic answered (the off switch refused the others)
        self.answered: list[Seen] = []
        #: every movement, with the key of the request that made it
        self.moved: list[Moved] = []
        #: the requests executed whose reply was lost
        self.lost: list[str] = []

    def _handle(self, seen: Seen) -> Reply:
        if self.down:
            self.refused_while_down += 1
            return _unavailable()
        self.answered.append(seen)
        already = len(self.movements)
        reply = super()._handle(seen)
        key = seen.headers.get("idempotency-key", "")
        self.moved.extend(Moved(m, key) for m in self.movements[already:])
        kind = _kind(seen)
        if self.lose_replies.get(kind, 0) > 0:
            self.lose_replies[kind] -= 1
            self.lost.append(f"{seen.line} {key} (answered {reply.status})")
            return _unavailable()
        return reply

    # -- what the scenario looks at ----------------------------------------------------------

    def movements_of(self, kind: str) -> dict[str, list[Moved]]:
        """PaymentIntent id -> its movements of `kind` (`capture`, `refund`), in the order made
        (a copy: the server thread appends while the test reads)."""
        by_intent: dict[str, list[Moved]] = {}
        for moved in self.moved.copy():
            if moved.movement.kind == kind:
                by_intent.setdefault(moved.movement.intent, []).append(moved)
        return by_intent

    def capture_requests(self, intent: str) -> int:
        """Capture requests for `intent` that Stripe's logic answered, replays and declines
        included (not those the off switch refused)."""
        path = f"/v1/payment_intents/{intent}/capture"
        return sum(1 for seen in self.answered.copy() if seen.path == path)


def _kind(seen: Seen) -> str:
    if seen.path.endswith("/capture"):
        return "capture"
    return "refund" if seen.path == "/v1/refunds" else "other"


def _unavailable() -> Reply:
    return Reply(503, stripe_error("api_error", "Stripe is temporarily unavailable."))


def paid(channel: Channel, stripe: FakeStripe, quantity: int = 1) -> Operation:
    """A new order whose payment is a PaymentIntent the fake authorized for its total (the load's
    orders cost 10.00 EUR a unit), placed until the API answers."""
    op = channel.new_operation(quantity=quantity)
    op.body["payment"]["reference"] = stripe.add_intent(amount=1000 * quantity, currency="eur")
    return channel.place(op)
