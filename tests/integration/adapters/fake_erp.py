"""A fake ERP that speaks docs/erp-rest-contract.md and remembers what it was told."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tests.integration.adapters.scripted import Reply, ScriptedApp, Seen

_UUID = r"[0-9a-f-]{36}"
_ORDER_FIELDS = {
    "order_id", "channel", "channel_order_ref", "customer_email", "shipping_address",
    "currency", "lines", "total",
}  # fmt: skip


class FakeErp(ScriptedApp):
    """Books each order id once (the first submission wins), rejects orders with a SKU in
    `rejected_skus`, and answers repeats with what it answered first."""

    routes = [
        ("PUT", rf"/orders/(?P<order_id>{_UUID})", "put_order"),
        ("PUT", rf"/orders/(?P<order_id>{_UUID})/amendment", "put_amendment"),
        ("POST", rf"/orders/(?P<order_id>{_UUID})/cancellation", "post_cancellation"),
        ("PUT", rf"/returns/(?P<return_id>{_UUID})", "put_return"),
        ("PUT", rf"/returns/(?P<return_id>{_UUID})/credit-memo-request", "put_credit_memo"),
    ]

    def __init__(self, api_key: str = "erp-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.rejected_skus: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self.decisions: dict[str, Reply] = {}
        self._bookings = 0  # counted, not recounted per order: the bench books thousands
        self.amendments: dict[str, list[dict[str, Any]]] = {}
        self.cancellations: dict[str, dict[str, Any]] = {}
        self.cancellation_keys: dict[str, Reply] = {}
        self.returns: dict[str, dict[str, Any]] = {}
        self.credit_memo_requests: dict[str, dict[str, Any]] = {}

    def _handle(self, seen: Seen) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply(401, {"title": "unauthorized"})
        return super()._handle(seen)

    def put_order(self, seen: Seen, order_id: str) -> Reply:
        if order_id in self.decisions:
            first = self.decisions[order_id]
            return Reply(200 if first.status == 201 else first.status, first.body)
        problems = order_problems(seen.body, order_id)
        if problems:
            return Reply(422, {"title": "invalid order", "errors": problems})
        rejected = sorted(
            {ln["sku"] for ln in seen.body["lines"] if ln["sku"] in self.rejected_skus}
        )
        if rejected:
            reply = Reply(
                422, {"status": "rejected", "reason": f"unknown items {', '.join(rejected)}"}
            )
        else:
            self._bookings += 1
            ref = f"ERP-{self._bookings:06d}"
            reply = Reply(201, {"erp_order_ref": ref, "status": "booked"})
        self.orders[order_id] = seen.body
        self.decisions[order_id] = reply
        return reply

    def booked(self) -> dict[str, str]:
        return {
            oid: r.body["erp_order_ref"] for oid, r in self.decisions.items() if r.status == 201
        }

    def put_amendment(self, seen: Seen, order_id: str) -> Reply:
        decision = self.decisions.get(order_id)
        if decision is None or decision.status != 201:
            return Reply(404, {"title": "no such booked order"})
        if seen.body.get("erp_order_ref") != decision.body["erp_order_ref"]:
            return Reply(409, {"title": "erp_order_ref does not match"})
        if order_problems(seen.body.get("order"), order_id):
            return Reply(422, {"title": "invalid order"})
        rejected = sorted(
            {ln["sku"] for ln in seen.body["order"]["lines"] if ln["sku"] in self.rejected_skus}
        )
        if rejected:
            reason = f"unknown items {', '.join(rejected)}"
            return Reply(422, {"status": "rejected", "reason": reason})
        versions = self.amendments.setdefault(order_id, [])
        if not versions or versions[-1] != seen.body["order"]:
            versions.append(seen.body["order"])
        return Reply(200, {"status": "amended"})

    def post_cancellation(self, seen: Seen, order_id: str) -> Reply:
        key = seen.headers.get("idempotency-key")
        if not key:
            return Reply(400, {"title": "Idempotency-Key required"})
        if key in self.cancellation_keys:
            return self.cancellation_keys[key]
        if order_id not in self.decisions:
            return Reply(404, {"title": "no such order"})
        self.cancellations[order_id] = seen.body
        self.cancellation_keys[key] = Reply(202, {"status": "cancelled"})
        return self.cancellation_keys[key]

    def put_return(self, seen: Seen, return_id: str) -> Reply:
        if return_id in self.returns:
            return Reply(200, {"status": "authorized"})
        if not seen.body.get("rma_number") or not seen.body.get("lines"):
            return Reply(422, {"title": "invalid return"})
        self.returns[return_id] = seen.body
        return Reply(201, {"status": "authorized"})

    def put_credit_memo(self, seen: Seen, return_id: str) -> Reply:
        if return_id not in self.returns:
            return Reply(404, {"title": "no such return"})
        first = self.credit_memo_requests.setdefault(return_id, seen.body)
        if first != seen.body:
            return Reply(409, {"title": "a different credit memo was already requested"})
        return Reply(202, {"status": "requested"})


def order_problems(body: Any, order_id: str) -> list[str]:
    """What the ERP finds wrong with an order document (the contract's shape)."""
    if not isinstance(body, dict):
        return ["body must be an object"]
    problems = [f"missing {name}" for name in sorted(_ORDER_FIELDS - body.keys())]
    if body.get("order_id") != order_id:
        problems.append("order_id must match the path")
    for where, value in [("total", body.get("total"))] + [
        (f"lines[{i}].unit_price", ln.get("unit_price"))
        for i, ln in enumerate(body.get("lines", []))
    ]:
        if not _is_decimal_string(value):
            problems.append(f"{where} must be a decimal string")
    return problems


def _is_decimal_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return "e" not in value.lower()
