"""Scenario 8: the ERP down (503 to everything) for 3 minutes while booked orders are amended
(address changes, quantity reductions, both), cancelled (some right after an amendment), and
delivered orders get two returns each, authorized at once; a few new orders are placed too.

Every delivery that needs the ERP rides the outage out (docs/event-delivery.md, "The worker",
step 4): it spends no attempt and later events of its order wait behind it. Once the ERP is back
everything drains: no dead letter, nothing lost or doubled, each change reaches the ERP once, and
per order in the order the events were recorded.

`ORDERHUB_FAULTS_OUTAGE_SECONDS` shortens the outage for a local run; the suite runs 180 s."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest

from tests.faults.conftest import Stack, StackFactory
from tests.faults.load import Channel, Operation
from tests.faults.reconcile import UNFINISHED, Expect, drain, query, report, scalar, settle

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = float(os.environ.get("ORDERHUB_FAULTS_OUTAGE_SECONDS", "180"))
#: After the ERP is back: its circuit probes after 30 s, and a delivery that rode out a long
#: outage waits up to a minute between tries (DeliveryPolicy.outage_wait_ms).
DRAIN_DEADLINE = 300.0
#: Orders per kind of change.
PER_GROUP = 4
#: A delivery's attempts before it is parked (DeliveryPolicy.max_attempts).
MAX_ATTEMPTS = 8
NEW_ADDRESS = {"name": "Fault Tester", "line1": "2 Moved Lane", "city": "Hamburg",
               "postal_code": "20095", "country": "DE"}  # fmt: skip
#: The ERP calls an order's events ask fulfilment and returns for.
ERP_EVENTS = ("OrderAmended", "OrderCancelled", "ReturnAuthorized")


class Changes:
    """Amends, cancels and returns through the API as a channel would, and remembers the
    inbound events the API took."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.web = stack.client(stack.keys.web)
        self.inbound: list[tuple[str, str]] = []
        self.returns: dict[str, list[str]] = {}  #: order id -> its return ids, as requested

    def amend(self, order_id: str, body: dict[str, Any]) -> None:
        self._ok(self.web.post(f"/v1/orders/{order_id}/amend", json=body))

    def reduce_to_one(self, op: Operation) -> None:
        sku = op.body["lines"][0]["sku"]
        self.amend(str(op.order_id), {"lines": [{"sku": sku, "quantity": 1}]})

    def cancel(self, order_id: str) -> None:
        answer = self.web.post(
            f"/v1/orders/{order_id}/cancel", json={"reason": "customer changed their mind"}
        )
        self._ok(answer)

    def request_return(self, order_id: str, sku: str) -> None:
        answer = self.web.post(f"/v1/orders/{order_id}/returns",
                               json={"lines": [{"sku": sku, "quantity": 1, "reason": "broken"}]})  # fmt: skip
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "authorized", answer.text
        self.returns.setdefault(order_id, []).append(answer.json()["id"])

    def deliver(self, n: int, op: Operation) -> None:
        line = op.body["lines"][0]
        shipment = {"order_id": op.order_id, "shipment_id": f"S{n}"}
        for event_id, event_type, data in (
            (f"dsp-{n}", "shipment.dispatched", {**shipment, "location": "dc-east", "carrier": "DHL",
             "tracking_number": f"JD{n:04d}", "lines": [{"sku": line["sku"], "quantity": line["quantity"]}]}),
            (f"dlv-{n}", "shipment.delivered", shipment),
        ):  # fmt: skip
            answer = self.stack.inbound("warehouse", event_id, event_type, data)
            assert answer.status_code in (200, 202), answer.text
            self.inbound.append(("warehouse", event_id))

    @staticmethod
    def _ok(answer: httpx.Response) -> None:
        assert answer.status_code == 200, answer.text

    def close(self) -> None:
        self.web.close()


def expected_calls(db_url: str, order_ids: set[str]) -> dict[str, list[str]]:
    """order id -> the ERP calls its recorded events ask for, in the order they were recorded.
    Fulfilment amends with the order as it stands when the amendment is delivered and sends no
    amendment of a cancelled order (`Fulfilment._amended`): an amendment recorded before a
    cancellation, and held back by the outage, is moot."""
    rows = query(db_url, "SELECT aggregate_id, event_type, payload FROM outbox "
                         "ORDER BY aggregate_id, aggregate_version")  # fmt: skip
    calls: dict[str, list[str]] = {}
    for row in rows:
        if row["aggregate_id"] not in order_ids or row["event_type"] not in ERP_EVENTS:
            continue
        mine = calls.setdefault(row["aggregate_id"], [])
        if row["event_type"] == "OrderAmended":
            mine.append("amendment")
        elif row["event_type"] == "OrderCancelled":
            mine[:] = [c for c in mine if c != "amendment"] + ["cancellation"]
        else:
            mine.append(f"return {_payload(row['payload'])['return_id']}")
    return calls


def _payload(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value)


def test_an_erp_outage_during_amendments_cancellations_and_returns_is_ridden_out(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(REMOTE_OUTAGE_HORIZON_SECONDS="21600")  # the product's default horizon
    erp = stack.erp
    channel = Channel(stack.url, stack.keys.web, "C", replay_share=0)
    changes = Changes(stack)

    def place(n: int, quantity: int) -> list[Operation]:
        ops = [channel.place(channel.new_operation(quantity=quantity)) for _ in range(n)]
        assert all(op.accepted for op in ops), [op.status for op in ops]
        return ops

    address, reduce, both = place(PER_GROUP, 1), place(PER_GROUP, 2), place(PER_GROUP, 2)
    cancel, amend_cancel, returned = place(PER_GROUP, 1), place(PER_GROUP, 2), place(PER_GROUP, 2)
    before = [*address, *reduce, *both, *cancel, *amend_cancel, *returned]
    booked = settle(stack.db_url, Expect(before, erp=erp), since=time.monotonic(), timeout=60)
    assert booked.holds, booked.explain()
    for n, op in enumerate(returned):
        changes.deliver(n, op)
    delivered_ids = {op.order_id: "delivered" for op in returned if op.order_id}
    delivered = settle(stack.db_url, Expect(before, status_of=delivered_ids, inbound=changes.inbound,
                       erp=erp), since=time.monotonic(), timeout=60)  # fmt: skip
    assert delivered.holds, delivered.explain()

    erp.down = True
    outage_start = time.monotonic()
    for op in [*address, *both, *amend_cancel]:
        changes.amend(str(op.order_id), {"shipping_address": NEW_ADDRESS})
    for op in reduce:
        changes.reduce_to_one(op)
    for op in cancel:
        changes.cancel(str(op.order_id))
    for op in returned:
        changes.request_return(str(op.order_id), op.body["lines"][0]["sku"])
    # Halfway: the second change of an order, behind a delivery that has been riding out.
    time.sleep(max(0.0, outage_start + OUTAGE_SECONDS / 2 - time.monotonic()))
    for op in both:
        changes.reduce_to_one(op)
    for op in amend_cancel:
        changes.cancel(str(op.order_id))
    for op in returned:
        changes.request_return(str(op.order_id), op.body["lines"][0]["sku"])
    new = place(PER_GROUP, 1)
    time.sleep(max(0.0, outage_start + OUTAGE_SECONDS - time.monotonic()))
    accepted_while_down = sum(len(calls) for calls in erp.accepted_changes().values())
    attempts_during = scalar(stack.db_url, "SELECT max(attempts) FROM deliveries")
    erp.down = False
    back = time.monotonic()
    waiting_at_back = scalar(stack.db_url, UNFINISHED)

    drained_s = drain(stack.db_url, DRAIN_DEADLINE)
    cancelled = {str(op.order_id): "cancelled" for op in [*cancel, *amend_cancel]}
    operations = [*before, *new]
    counts = settle(stack.db_url, Expect(operations, status_of={**delivered_ids, **cancelled},
                    inbound=changes.inbound, erp=erp), since=back, timeout=60)  # fmt: skip
    max_attempts = scalar(stack.db_url, "SELECT max(attempts) FROM deliveries")
    changed = {str(op.order_id) for op in before}
    expected = expected_calls(stack.db_url, changed)
    seen = {oid: [c.label for c in calls] for oid, calls in erp.accepted_changes().items()}
    not_once = {oid: (want, seen.get(oid, [])) for oid, want in expected.items()
                if sorted(want) != sorted(seen.get(oid, []))}  # fmt: skip
    out_of_order = {oid: (want, seen[oid]) for oid, want in expected.items()
                    if oid not in not_once and want != seen[oid]}  # fmt: skip
    moot = sum(1 for op in amend_cancel if "amendment" in seen.get(str(op.order_id), []))
    wrong_versions = _wrong_versions(
        erp.amendments, [*((op, True) for op in [*address, *both]), *((op, False) for op in reduce)]
    )
    drained = f"{drained_s:.1f}s" if drained_s is not None else "NEVER"
    report(
        "8 ERP outage during changes",
        counts,
        f"outage={OUTAGE_SECONDS:.0f}s waiting when back={waiting_at_back} drained in {drained} "
        f"max attempts={max_attempts} (at the end of the outage {attempts_during}, limit "
        f"{MAX_ATTEMPTS}) ERP changes accepted while down={accepted_while_down} expected after="
        f"{sum(map(len, expected.values()))} seen={sum(map(len, seen.values()))} "
        f"not once={len(not_once)} out of order={len(out_of_order)} amendments of cancelled "
        f"orders sent={moot} stale ERP versions={len(wrong_versions)}",
    )
    changes.close()
    channel.close()
    assert counts.holds, counts.explain()
    assert counts.dead == 0
    assert drained_s is not None, f"{scalar(stack.db_url, UNFINISHED)} deliveries unfinished"
    assert accepted_while_down == 0
    assert waiting_at_back > 0
    assert max_attempts < MAX_ATTEMPTS
    assert not not_once, not_once
    assert not out_of_order, out_of_order
    assert not wrong_versions, wrong_versions


def _wrong_versions(
    amendments: dict[str, list[dict[str, Any]]], ops: list[tuple[Operation, bool]]
) -> list[str]:
    """Orders whose last version at the ERP is not the order as amended: one unit each, at the
    new address when it `moved`."""
    wrong = []
    for op, want_moved in ops:
        versions = amendments.get(str(op.order_id), [])
        if not versions:
            wrong.append(f"{op.ref}: never amended at the ERP")
            continue
        last = versions[-1]
        quantity = sum(ln["quantity"] for ln in last["lines"])
        moved = last["shipping_address"]["line1"] == NEW_ADDRESS["line1"]
        if quantity != 1 or moved != want_moved:
            wrong.append(f"{op.ref}: {quantity} units, address {last['shipping_address']['line1']}")
    return wrong
