"""The warehouse and the ERP as a scenario drives them: inbound events through the API, each
applied at once (an event that came too early would be deferred: a scenario bug here), and the
list of the events the API took for the reconciliation."""

from __future__ import annotations

from typing import Any

from tests.faults.conftest import Stack
from tests.faults.load import Operation


class BackOffice:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        #: (source, event_id) of every inbound event the API applied
        self.taken: list[tuple[str, str]] = []

    def dispatch(self, n: int, op: Operation) -> None:
        """Ship the whole of `op`'s first line from dc-east as shipment `S<n>`."""
        line = op.body["lines"][0]
        self._send("warehouse", f"dsp-{n}", "shipment.dispatched", {
            "order_id": op.order_id, "shipment_id": f"S{n}", "location": "dc-east",
            "carrier": "DHL", "tracking_number": f"JD{n:04d}",
            "lines": [{"sku": line["sku"], "quantity": line["quantity"]}],
        })  # fmt: skip

    def deliver(self, n: int, op: Operation) -> None:
        data = {"order_id": op.order_id, "shipment_id": f"S{n}"}
        self._send("warehouse", f"dlv-{n}", "shipment.delivered", data)

    def receive_and_inspect(self, return_id: str, sku: str) -> None:
        """One unit of `sku` came back and goes back on the shelf."""
        self._send("warehouse", f"rcv-{return_id}", "return.received",
                   {"return_id": return_id, "lines": [{"sku": sku, "quantity": 1}]})  # fmt: skip
        self._send("warehouse", f"insp-{return_id}", "return.inspected",
                   {"return_id": return_id, "lines": [{"sku": sku, "disposition": "restock"}]})  # fmt: skip

    def post_credit_memo(self, return_id: str, amount: Any) -> None:
        self._send("erp", f"cm-{return_id}", "credit_memo.posted",
                   {"return_id": return_id, "credit_memo_ref": f"CM-{return_id[:8]}", "amount": amount})  # fmt: skip

    def _send(self, source: str, event_id: str, event_type: str, data: dict[str, Any]) -> None:
        answer = self.stack.inbound(source, event_id, event_type, data)
        assert answer.status_code == 200, f"{event_type}: {answer.status_code} {answer.text}"
        assert answer.json()["status"] == "processed", f"{event_type}: {answer.text}"
        self.taken.append((source, event_id))
