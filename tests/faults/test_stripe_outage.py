"""Scenario 9: Stripe down (503 `api_error` to everything) for 3 minutes while orders ship, so
their payments are captured (PRODUCT.md §8.1: on the first shipment), and returns get their
credit memos, so they are refunded. Stripe comes back shakily: the first capture and the first
refund it makes after the outage are answered 503 (the money moved, the hub does not know it).

Every delivery that needs Stripe rides the outage out (PRODUCT.md §8.3): it spends no attempt,
and the later events of its order wait behind it. Once Stripe is back everything drains: no dead
letter; per PaymentIntent one capture for the order's total, made under `capture:<order id>`;
per return one refund for its amount, under `refund:<return id>`, however often a request was
replayed. Money is counted as Stripe's movements, not as requests.

`ORDERHUB_FAULTS_OUTAGE_SECONDS` shortens the outage for a local run; the suite runs 180 s."""

from __future__ import annotations

import os
import time

import pytest

from tests.e2e.processes import wait_for
from tests.faults.back_office import BackOffice
from tests.faults.conftest import Stack, StackFactory
from tests.faults.load import Channel, Operation
from tests.faults.reconcile import UNFINISHED, Expect, drain, report, scalar, settle
from tests.faults.stripe import ControllableStripe, paid

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = float(os.environ.get("ORDERHUB_FAULTS_OUTAGE_SECONDS", "180"))
#: After Stripe is back: the payment circuit probes after 30 s, and a delivery that rode out a
#: long outage waits up to a minute between tries (DeliveryPolicy.outage_wait_ms).
DRAIN_DEADLINE = 300.0
#: Orders shipped during the outage, in each half of it.
SHIPPED_PER_HALF = 4
#: Orders delivered and paid before the outage, returned twice each (one unit a return); one
#: credit memo of each order is posted in each half of the outage.
RETURNED = 4
#: A delivery's attempts before it is parked (DeliveryPolicy.max_attempts).
MAX_ATTEMPTS = 8


def test_a_stripe_outage_during_captures_and_refunds_is_ridden_out_and_moves_money_once(
    make_stack: StackFactory,
) -> None:
    # the product's default horizon
    stack = make_stack(stripe_payments=True, REMOTE_OUTAGE_HORIZON_SECONDS="21600")
    stripe = stack.stripe
    channel = Channel(stack.url, stack.keys.web, "P", replay_share=0)
    office = BackOffice(stack)
    shipped = [paid(channel, stripe, quantity=1 + n % 2) for n in range(2 * SHIPPED_PER_HALF)]
    returned = [paid(channel, stripe, quantity=2) for _ in range(RETURNED)]
    orders = [*shipped, *returned]
    assert all(op.accepted for op in orders), [op.status for op in orders]
    booked = settle(stack.db_url, Expect(orders, erp=stack.erp), since=time.monotonic(), timeout=60)
    assert booked.holds, booked.explain()
    returns = _returned_twice(stack, office, returned)  # return id -> its refund, in minor units
    memos = wait_for(lambda: len(stack.erp.credit_memo_requests) == len(returns)
                     and dict(stack.erp.credit_memo_requests), timeout=60, what="the credit memo requests")  # fmt: skip
    first, second = list(returns)[::2], list(returns)[1::2]  # one return of each order in each

    stripe.down = True
    outage_start = time.monotonic()
    moved_before = len(stripe.moved)
    for return_id in first:
        office.post_credit_memo(return_id, memos[return_id]["amount"])
    for n, op in enumerate(shipped[:SHIPPED_PER_HALF]):
        office.dispatch(n, op)
    # Halfway: more shipments; deliveries whose capture is still waiting; the second refunds,
    # behind a refund of the same order that has been riding out.
    time.sleep(max(0.0, outage_start + OUTAGE_SECONDS / 2 - time.monotonic()))
    for n, op in enumerate(shipped[SHIPPED_PER_HALF:], start=SHIPPED_PER_HALF):
        office.dispatch(n, op)
    for n, op in enumerate(shipped[:SHIPPED_PER_HALF]):
        office.deliver(n, op)
    for return_id in second:
        office.post_credit_memo(return_id, memos[return_id]["amount"])
    time.sleep(max(0.0, outage_start + OUTAGE_SECONDS - time.monotonic()))
    moved_while_down = len(stripe.moved) - moved_before
    attempts_during = scalar(stack.db_url, "SELECT max(attempts) FROM deliveries")
    # Every capture and refund is still to be made: the first of each kind is bound to come.
    stripe.lose_replies = {"capture": 1, "refund": 1}
    stripe.down = False
    back = time.monotonic()
    waiting_at_back = scalar(stack.db_url, UNFINISHED)

    drained_s = drain(stack.db_url, DRAIN_DEADLINE)
    status_of = {str(op.order_id): "delivered" for op in [*shipped[:SHIPPED_PER_HALF], *returned]}
    counts = settle(stack.db_url, Expect(orders, status="shipped", status_of=status_of,
                    inbound=office.taken, erp=stack.erp), since=back, timeout=60)  # fmt: skip
    max_attempts = scalar(stack.db_url, "SELECT max(attempts) FROM deliveries")
    money = Money(stripe, orders, returns)
    closed = _closed(stack, returns)
    drained = f"{drained_s:.1f}s" if drained_s is not None else "NEVER"
    report(
        "9 Stripe outage during captures and refunds",
        counts,
        f"outage={OUTAGE_SECONDS:.0f}s waiting when back={waiting_at_back} drained in {drained} "
        f"max attempts={max_attempts} (at the end of the outage {attempts_during}, limit "
        f"{MAX_ATTEMPTS}) refused while down={stripe.refused_while_down} moved while down="
        f"{moved_while_down} replies lost when back={len(stripe.lost)} | {money.line()} "
        f"returns closed={len(closed)} of {len(returns)}",
    )
    channel.close()
    assert counts.holds, counts.explain()
    assert counts.dead == 0
    assert drained_s is not None, f"{scalar(stack.db_url, UNFINISHED)} deliveries unfinished"
    assert waiting_at_back > 0
    assert moved_while_down == 0
    assert len(stripe.lost) == 2, stripe.lost
    assert max_attempts < MAX_ATTEMPTS
    assert money.double_captures == money.double_refunds == 0, money.problems
    assert money.missing_captures == money.missing_refunds == 0, money.problems
    assert not money.problems, money.problems
    assert sorted(closed) == sorted(returns)


class Money:
    """What Stripe moved against what the orders and returns ask for, movement by movement."""

    def __init__(
        self, stripe: ControllableStripe, orders: list[Operation], returns: dict[str, int]
    ) -> None:
        self.problems: list[str] = []
        self.double_captures = self.missing_captures = 0
        self.double_refunds = self.missing_refunds = 0
        captures, refunds = stripe.movements_of("capture"), stripe.movements_of("refund")
        self.captured = sum(len(moved) for moved in captures.values())
        self.refunded = sum(len(moved) for moved in refunds.values())
        for op in orders:
            intent = op.body["payment"]["reference"]
            made = [(m.movement.amount, m.key) for m in captures.get(intent, [])]
            want = (_minor_units(op.body["payment"]["amount"]), f"capture:{op.order_id}")
            self.double_captures += max(0, len(made) - 1)
            self.missing_captures += not made
            if made and set(made) != {want}:
                self.problems.append(f"{op.ref}: captured {made}, expected {want}")
        refunds_by_key = {m.key: m for moved in refunds.values() for m in moved}
        per_key = [m.key for moved in refunds.values() for m in moved]
        self.double_refunds = len(per_key) - len(refunds_by_key)
        for return_id, amount in returns.items():
            found = refunds_by_key.get(f"refund:{return_id}")
            if found is None:
                self.missing_refunds += 1
            elif found.movement.amount != amount:
                self.problems.append(f"return {return_id}: refunded {found.movement.amount}, "
                                     f"expected {amount}")  # fmt: skip
        strangers = set(refunds_by_key) - {f"refund:{r}" for r in returns}
        self.double_refunds += len(strangers)  # money paid back under a key of no return
        self.expected_captures, self.expected_refunds = len(orders), len(returns)

    def line(self) -> str:
        return (
            f"captures {self.captured} of {self.expected_captures} (double "
            f"{self.double_captures}, missing {self.missing_captures}) refunds {self.refunded} of "
            f"{self.expected_refunds} (double {self.double_refunds}, missing "
            f"{self.missing_refunds}) wrong amounts or keys={len(self.problems)}"
        )


def _returned_twice(stack: Stack, office: BackOffice, ops: list[Operation]) -> dict[str, int]:
    """Deliver each order (its payment is captured then), open two one-unit returns, receive and
    inspect them; the return ids (in order, the two of an order side by side) with the refund
    each is due, in minor units, as the hub computed it."""
    base = 100
    for n, op in enumerate(ops, start=base):
        office.dispatch(n, op)
        office.deliver(n, op)
    returns: dict[str, int] = {}
    with stack.client(stack.keys.web) as web, stack.client(stack.keys.agent) as agent:
        wait_for(lambda: all(agent.get(f"/v1/orders/{op.order_id}").json()["payment"]["status"]
                             == "captured" for op in ops), timeout=60, what="the captures")  # fmt: skip
        for op in ops:
            sku = op.body["lines"][0]["sku"]
            for _ in range(2):
                answer = web.post(f"/v1/orders/{op.order_id}/returns",
                                  json={"lines": [{"sku": sku, "quantity": 1, "reason": "broken"}]})  # fmt: skip
                assert answer.status_code == 201, answer.text
                assert answer.json()["status"] == "authorized", answer.text
                return_id = answer.json()["id"]
                office.receive_and_inspect(return_id, sku)
                due = agent.get(f"/v1/returns/{return_id}").json()["refund_amount"]
                returns[return_id] = _minor_units(due)
    return returns


def _closed(stack: Stack, returns: dict[str, int]) -> list[str]:
    with stack.client(stack.keys.agent) as agent:
        return [r for r in returns if agent.get(f"/v1/returns/{r}").json()["status"] == "closed"]


def _minor_units(amount: str) -> int:
    """EUR, as the load's orders are: two decimals."""
    units, _, cents = str(amount).partition(".")
    return int(units) * 100 + int(cents.ljust(2, "0")[:2])
