"""Scenario 10: Stripe declines the card at capture (402 `card_error`) for a few PaymentIntents
among normal ones. Half the orders are delivered before the worker gets to their capture (it is
paused while the warehouse reports dispatch and delivery, as a worker that is behind would be).

A decline is a business refusal (PRODUCT.md §8.1): the order goes on hold with Stripe's message
on its timeline, after one capture request (no retry), and no dead letter; every other order is
captured once, for its total."""

from __future__ import annotations

import time

import pytest

from tests.faults.back_office import BackOffice
from tests.faults.conftest import Stack, StackFactory
from tests.faults.load import Channel, Operation
from tests.faults.reconcile import Expect, report, scalar, settle
from tests.faults.stripe import paid

pytestmark = pytest.mark.faults

ORDERS = 8
#: index of the order -> (decline_code, Stripe's message)
DECLINED = {
    1: ("insufficient_funds", "Your card has insufficient funds."),
    4: ("expired_card", "Your card has expired."),
    6: ("generic_decline", "Your card was declined."),
}
#: The orders also delivered while the worker was paused (their capture comes after delivery).
DELIVERED = range(ORDERS // 2, ORDERS)


def test_a_card_declined_at_capture_holds_its_order_with_stripes_message(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(stripe_payments=True)
    stripe = stack.stripe
    channel = Channel(stack.url, stack.keys.web, "D", replay_share=0)
    ops = [paid(channel, stripe, quantity=1 + n % 2) for n in range(ORDERS)]
    assert all(op.accepted for op in ops), [op.status for op in ops]
    intents = {str(op.order_id): op.body["payment"]["reference"] for op in ops}
    for n, (code, message) in DECLINED.items():
        stripe.decline(ops[n].body["payment"]["reference"], code, message)
    booked = settle(stack.db_url, Expect(ops, erp=stack.erp), since=time.monotonic(), timeout=60)
    assert booked.holds, booked.explain()

    warehouse = BackOffice(stack)
    worker = next(n for n in stack.running() if n.startswith("worker"))
    stack.pause(worker)
    for n, op in enumerate(ops):
        warehouse.dispatch(n, op)
    for n in DELIVERED:
        warehouse.deliver(n, ops[n])
    stack.resume(worker)
    resumed = time.monotonic()

    declined = {str(ops[n].order_id): message for n, (_, message) in DECLINED.items()}
    status_of = {str(op.order_id): "delivered" if n in DELIVERED else "shipped"
                 for n, op in enumerate(ops)} | dict.fromkeys(declined, "on_hold")  # fmt: skip
    counts = settle(stack.db_url, Expect(ops, status_of=status_of, inbound=warehouse.taken,
                    erp=stack.erp), since=resumed, timeout=90)  # fmt: skip
    captures = stripe.movements_of("capture")
    requests_per_decline = {oid: stripe.capture_requests(intents[oid]) for oid in declined}
    held_with_message = [
        oid for oid, message in declined.items() if _held_saying(stack, oid, message)
    ]
    captured_once = [
        oid for oid, intent in intents.items() if oid not in declined
        and [(m.movement.amount, m.key) for m in captures.get(intent, [])]
        == [(_minor_units(ops, oid), f"capture:{oid}")]
    ]  # fmt: skip
    captured_declined = sum(len(captures.get(intents[oid], [])) for oid in declined)
    max_attempts = scalar(stack.db_url, "SELECT max(attempts) FROM deliveries")
    report(
        "10 card declined at capture",
        counts,
        f"declined={len(declined)} on hold with Stripe's message={len(held_with_message)} "
        f"capture requests per declined intent={sorted(requests_per_decline.values())} "
        f"captured once={len(captured_once)} of {ORDERS - len(declined)} "
        f"captures of declined intents={captured_declined} max attempts={max_attempts}",
    )
    channel.close()
    assert counts.holds, counts.explain()
    assert counts.dead == 0
    assert sorted(held_with_message) == sorted(declined)
    assert set(requests_per_decline.values()) == {1}, requests_per_decline
    assert len(captured_once) == ORDERS - len(declined), captures
    assert captured_declined == 0


def _held_saying(stack: Stack, order_id: str, message: str) -> bool:
    """Through the API as an agent sees it: the order on hold, its payment failed, and a
    `payment.failed` entry from the payment provider quoting Stripe's message."""
    with stack.client(stack.keys.agent) as agent:
        order = agent.get(f"/v1/orders/{order_id}").json()
        entries = agent.get(f"/v1/orders/{order_id}/timeline").json()["items"]
    failed = [e for e in entries if (e["source"], e["kind"]) == ("payment", "payment.failed")]
    return (
        (order["status"], order["payment"]["status"]) == ("on_hold", "failed")
        and len(failed) == 1
        and message in failed[0]["title"]
    )


def _minor_units(ops: list[Operation], order_id: str) -> int:
    op = next(op for op in ops if op.order_id == order_id)
    return int(op.body["payment"]["amount"].replace(".", ""))
