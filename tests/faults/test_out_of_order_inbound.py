"""Scenario 7: back-office events out of order, twice, and on skewed clocks. Each order's
`shipment.delivered` arrives before its `shipment.dispatched` (kept and applied later), stamped an
hour before a dispatch stamped two hours in the future; every event is sent twice,
and each return's `return.inspected` comes before its `return.received`; the ERP then posts the
credit memo twice under one event id and once more under a new one. Orders end delivered, paid
once, and refunded once; stock is fulfilled and restocked exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.processes import wait_for
from tests.faults.conftest import Stack, StackFactory
from tests.faults.load import Channel, Operation
from tests.faults.reconcile import Expect, query, report, settle

pytestmark = pytest.mark.faults

ORDERS = 6
ON_HAND = 1000


class Sender:
    """Sends inbound events and remembers the ones the API took (200 or 202)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.taken: list[tuple[str, str]] = []
        self.answers: list[str] = []

    def send(
        self,
        source: str,
        event_id: str,
        event_type: str,
        data: dict[str, Any],
        times: int = 2,
        occurred_at: str = "2026-11-23T10:00:00Z",
    ) -> None:
        for _ in range(times):
            answer = self.stack.inbound(source, event_id, event_type, data, occurred_at)
            assert answer.status_code in (200, 202), (
                f"{event_type}: {answer.status_code} {answer.text}"
            )
            self.answers.append(f"{event_type}:{answer.json()['status']}")
        self.taken.append((source, event_id))


def _at(hours: float) -> str:
    """Now on a source's clock that is `hours` off (ISO 8601, UTC)."""
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def test_out_of_order_and_repeated_back_office_events_end_correct(make_stack: StackFactory) -> None:
    stack = make_stack(on_hand=ON_HAND)
    channel = Channel(stack.url, stack.keys.web, "O", replay_share=0)
    ops: list[Operation] = [channel.place(channel.new_operation()) for _ in range(ORDERS)]
    assert all(op.accepted for op in ops)
    booked = settle(stack.db_url, Expect(ops, erp=stack.erp), since=time.monotonic(), timeout=30)
    assert booked.holds, booked.explain()

    events = Sender(stack)
    started = time.monotonic()
    for i, op in enumerate(ops):
        sku = op.body["lines"][0]["sku"]
        shipment = {"order_id": op.order_id, "shipment_id": f"S{i}"}
        # Skewed clocks: the delivery is stamped an hour before the dispatch it follows, and
        # the dispatch comes from a warehouse whose clock runs two hours fast.
        events.send("warehouse", f"dlv-{i}", "shipment.delivered", shipment,
                    occurred_at=_at(hours=-1))  # fmt: skip
        events.send("warehouse", f"dsp-{i}", "shipment.dispatched", {
            **shipment, "location": "dc-east", "carrier": "DHL", "tracking_number": f"JD{i:04d}",
            "lines": [{"sku": sku, "quantity": 1}],
        }, occurred_at=_at(hours=2))  # fmt: skip
    delivered = settle(stack.db_url, Expect(ops, status="delivered", inbound=events.taken, erp=stack.erp),
                       since=started, timeout=30)  # fmt: skip
    assert delivered.holds, delivered.explain()

    returns: dict[str, str] = {}
    with stack.client(stack.keys.web) as web:
        for op in ops:
            sku = op.body["lines"][0]["sku"]
            answer = web.post(f"/v1/orders/{op.order_id}/returns",
                              json={"lines": [{"sku": sku, "quantity": 1, "reason": "broken"}]})  # fmt: skip
            assert answer.status_code == 201, answer.text
            returns[answer.json()["id"]] = sku
    for i, (return_id, sku) in enumerate(returns.items()):
        events.send("warehouse", f"insp-{i}", "return.inspected",
                    {"return_id": return_id, "lines": [{"sku": sku, "disposition": "restock"}]})  # fmt: skip
        events.send("warehouse", f"rcv-{i}", "return.received",
                    {"return_id": return_id, "lines": [{"sku": sku, "quantity": 1}]})  # fmt: skip
    requested = wait_for(
        lambda: len(stack.erp.credit_memo_requests) == len(returns) and dict(stack.erp.credit_memo_requests),
        timeout=30, what="the credit memo requests at the ERP",
    )  # fmt: skip
    for i, return_id in enumerate(returns):
        memo = {
            "return_id": return_id,
            "credit_memo_ref": f"CM-{i}",
            "amount": requested[return_id]["amount"],
        }
        events.send("erp", f"cm-{i}", "credit_memo.posted", memo)
    fault_end = time.monotonic()
    # The ERP posts the same memo again under a new event id: it must not refund twice.
    again = [stack.inbound("erp", f"cm-again-{i}", "credit_memo.posted",
                           {"return_id": r, "credit_memo_ref": f"CM-{i}", "amount": requested[r]["amount"]})
             for i, r in enumerate(returns)]  # fmt: skip

    counts = settle(stack.db_url, Expect(ops, status="delivered", inbound=events.taken, erp=stack.erp),
                    since=fault_end)  # fmt: skip
    with stack.client(stack.keys.agent) as agent:
        closed = [agent.get(f"/v1/returns/{r}").json()["status"] for r in returns]
        timelines = [[e["kind"] for e in agent.get(f"/v1/orders/{op.order_id}/timeline").json()["items"]]
                     for op in ops]  # fmt: skip
    on_hand = {
        r["sku"]: r["on_hand"] for r in query(stack.db_url, "SELECT sku, on_hand FROM stock_levels")
    }
    memo_again = {(a.status_code, a.json().get("status")) for a in again}
    report(
        "7 out-of-order inbound + returns",
        counts,
        f"answers={sorted(set(events.answers))} memo under a new id={sorted(memo_again)} "
        f"returns={sorted(set(closed))}",
    )
    channel.close()
    assert counts.holds, counts.explain()
    assert set(closed) == {"closed"}
    for kinds in timelines:
        assert kinds.index("shipment.dispatched") < kinds.index("shipment.delivered"), kinds
        assert kinds.count("refund.issued") == 1, kinds
    assert set(on_hand.values()) == {ON_HAND}  # shipped one, restocked one, per order
