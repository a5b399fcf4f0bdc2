"""Scenario 6: poison.

6: a poison event. The ERP refuses one order's cancellation for good (a 422): the `OrderCancelled`
delivery to `fulfilment` goes to the dead-letter store, visible in `GET /v1/ops/dead-letters`,
while everything else goes through. Once the cause is fixed, `POST
/v1/ops/dead-letters/{id}/replay` delivers it again and the ERP records the cancellation, once.

6b: a poison order. The ERP refuses one order's booking for good: the order goes on hold with the
ERP's words for an agent (no dead letter), and the orders placed after it are booked as usual.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.processes import wait_for
from tests.faults.conftest import Stack, StackFactory
from tests.faults.load import Channel, SteadyLoad
from tests.faults.reconcile import Expect, report, settle

pytestmark = pytest.mark.faults

POISON = "POISON-1"


def dead_letters(stack: Stack) -> list[dict[str, Any]]:
    with stack.client(stack.keys.ops) as ops:
        answer = ops.get("/v1/ops/dead-letters")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def status(stack: Stack, order_id: str) -> str:
    with stack.client(stack.keys.web) as web:
        return str(web.get(f"/v1/orders/{order_id}").json()["status"])


def test_a_poison_event_is_dead_lettered_and_a_replay_delivers_it_once(
    make_stack: StackFactory,
) -> None:
    stack = make_stack()
    channel = Channel(stack.url, stack.keys.web, "P", replay_share=0)
    poisoned = channel.place(channel.new_operation(ref=POISON))
    assert poisoned.accepted
    assert poisoned.order_id is not None
    order_id = poisoned.order_id
    wait_for(lambda: status(stack, order_id) == "booked", timeout=30, what="the booking")
    stack.erp.poisoned_cancellations.add(order_id)
    with SteadyLoad(stack.url, stack.keys.web, rate=10) as load:
        with stack.client(stack.keys.web) as web:
            cancelled = web.post(
                f"/v1/orders/{order_id}/cancel",
                json={"reason": "customer changed their mind"},
                headers={"Idempotency-Key": f"cancel-{order_id}"},
            )
        assert cancelled.status_code == 200, cancelled.text
        letters = wait_for(lambda: dead_letters(stack), timeout=30, what="the dead letter")
        time.sleep(2)
    assert [(d["consumer"], d["event_type"], d["reason"], d["aggregate_id"]) for d in letters] == [
        ("fulfilment", "OrderCancelled", "permanent", order_id)
    ]
    assert order_id not in stack.erp.cancellations
    operations = [*load.operations, poisoned]
    # While it is parked, everything else goes through.
    parked = settle(
        stack.db_url,
        Expect(operations, status_of={order_id: "cancelled"}, dead_letters=1, erp=stack.erp),
        since=time.monotonic(),
        timeout=45,
    )
    assert parked.holds, parked.explain()

    stack.erp.poisoned_cancellations.clear()  # the cause is fixed
    with stack.client(stack.keys.ops) as ops:
        replayed = ops.post(f"/v1/ops/dead-letters/{letters[0]['id']}/replay")
        assert replayed.status_code == 202, replayed.text
        fault_end = time.monotonic()
        again = ops.post(f"/v1/ops/dead-letters/{letters[0]['id']}/replay")
        assert (again.status_code, again.json()["code"]) == (409, "already_replayed")
    wait_for(lambda: order_id in stack.erp.cancellations, timeout=30, what="the ERP's cancellation")
    counts = settle(
        stack.db_url,
        Expect(operations, status_of={order_id: "cancelled"}, erp=stack.erp),
        since=fault_end,
    )
    report(
        "6 poison event + replay",
        counts,
        f"dead letters while poisoned={parked.dead} ERP cancellations of the order="
        f"{sum(1 for oid in stack.erp.cancellations if oid == order_id)}",
    )
    channel.close()
    assert counts.holds, counts.explain()


def test_an_order_the_erp_refuses_goes_on_hold_and_holds_up_nobody(
    make_stack: StackFactory,
) -> None:
    stack = make_stack()  # ERP_GRACE_SECONDS=1: later orders would queue behind a waiting one
    stack.erp.poisoned.add(POISON)
    channel = Channel(stack.url, stack.keys.web, "P", replay_share=0)
    poisoned = channel.place(channel.new_operation(ref=POISON))
    assert poisoned.order_id is not None
    order_id = poisoned.order_id
    wait_for(lambda: status(stack, order_id) == "on_hold", timeout=30, what="the hold")
    with SteadyLoad(stack.url, stack.keys.web, rate=10) as load:
        time.sleep(4)
    fault_end = time.monotonic()
    counts = settle(
        stack.db_url,
        Expect([*load.operations, poisoned], status_of={order_id: "on_hold"}, erp=stack.erp),
        since=fault_end,
        timeout=30,
    )
    with stack.client(stack.keys.agent) as agent:
        story = agent.get(f"/v1/orders/{order_id}/timeline").json()["items"]
    titles = [entry["title"] for entry in story]
    report("6b an order the ERP refuses", counts, f"timeline says: {titles[-1]!r}")
    channel.close()
    assert counts.holds, counts.explain()
    assert "customer account is locked" in titles[-1]
