"""A fake Shopify shop: orders with fulfillment orders per location, fulfillments with tracking,
cancellation, note attributes and tags, behind the Admin REST API of one version."""

from __future__ import annotations

import itertools
from typing import Any

from tests.integration.adapters.scripted import Reply, ScriptedApp, Seen

API = "/admin/api/2025-01"


class FakeShopify(ScriptedApp):
    """Keeps orders as Shopify shows them; `add_order` lays out their fulfillment orders."""

    routes = [
        ("GET", rf"{API}/orders/(?P<order_id>\d+)\.json", "get_order"),
        ("PUT", rf"{API}/orders/(?P<order_id>\d+)\.json", "put_order"),
        ("POST", rf"{API}/orders/(?P<order_id>\d+)/cancel\.json", "cancel"),
        ("GET", rf"{API}/orders/(?P<order_id>\d+)/fulfillments\.json", "get_fulfillments"),
        (
            "GET",
            rf"{API}/orders/(?P<order_id>\d+)/fulfillment_orders\.json",
            "get_fulfillment_orders",
        ),
        ("POST", rf"{API}/fulfillments\.json", "create_fulfillment"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.access_token = "shpat_test"
        self.orders: dict[int, dict[str, Any]] = {}
        self.fulfillment_orders: dict[int, dict[str, Any]] = {}
        self.fulfillments: dict[int, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1001)

    def add_order(self, order_id: int, lines_by_location: dict[int, int] | None = None) -> None:
        """An open order with one fulfillment order per location, holding that many lines."""
        self.orders[order_id] = {
            "id": order_id, "cancelled_at": None, "note_attributes": [], "tags": "",
            "fulfillment_status": None,
        }  # fmt: skip
        self.fulfillments[order_id] = []
        for location, lines in (lines_by_location or {1: 2}).items():
            fo_id = next(self._ids)
            self.fulfillment_orders[fo_id] = {
                "id": fo_id, "order_id": order_id, "assigned_location_id": location,
                "status": "open", "supported_actions": ["create_fulfillment", "move"],
                "line_items": [
                    {"id": next(self._ids), "fulfillment_order_id": fo_id, "line_item_id": next(self._ids),
                     "quantity": 1, "fulfillable_quantity": 1}
                    for _ in range(lines)
                ],
            }  # fmt: skip

    def _handle(self, seen: Seen) -> Reply:
        if seen.headers.get("x-shopify-access-token") != self.access_token:
            return Reply(401, {"errors": "[API] Invalid API key or access token"})
        return super()._handle(seen)

    def _order(self, order_id: str) -> dict[str, Any] | None:
        return self.orders.get(int(order_id))

    def get_order(self, seen: Seen, order_id: str) -> Reply:
        order = self._order(order_id)
        if order is None:
            return Reply(404, {"errors": "Not Found"})
        fields = seen.query.get("fields")
        shown = {k: v for k, v in order.items() if not fields or k in fields.split(",")}
        return Reply(200, {"order": shown})

    def put_order(self, seen: Seen, order_id: str) -> Reply:
        order = self._order(order_id)
        if order is None:
            return Reply(404, {"errors": "Not Found"})
        change = (seen.body or {}).get("order") or {}
        if change.get("id") != order["id"]:
            return Reply(400, {"errors": {"order": "id required"}})
        for key in ("note_attributes", "tags"):
            if key in change:
                order[key] = change[key]
        if "tags" in change:  # Shopify normalises tags: sorted, ", "-joined
            order["tags"] = ", ".join(
                sorted(t.strip() for t in change["tags"].split(",") if t.strip())
            )
        return Reply(200, {"order": order})

    def cancel(self, seen: Seen, order_id: str) -> Reply:
        order = self._order(order_id)
        if order is None:
            return Reply(404, {"errors": "Not Found"})
        if order["cancelled_at"]:
            return Reply(422, {"error": "Order has already been cancelled"})
        if self.fulfillments[order["id"]]:
            return Reply(422, {"error": "Cannot cancel an order that has been fulfilled"})
        order["cancelled_at"] = "2026-11-02T09:00:00+00:00"
        order["cancel_reason"] = (seen.body or {}).get("reason")
        return Reply(200, {"order": order})

    def get_fulfillments(self, seen: Seen, order_id: str) -> Reply:
        if self._order(order_id) is None:
            return Reply(404, {"errors": "Not Found"})
        return Reply(200, {"fulfillments": self.fulfillments[int(order_id)]})

    def get_fulfillment_orders(self, seen: Seen, order_id: str) -> Reply:
        if self._order(order_id) is None:
            return Reply(404, {"errors": "Not Found"})
        fos = [fo for fo in self.fulfillment_orders.values() if fo["order_id"] == int(order_id)]
        return Reply(200, {"fulfillment_orders": fos})

    def create_fulfillment(self, seen: Seen) -> Reply:
        request = (seen.body or {}).get("fulfillment") or {}
        wanted = request.get("line_items_by_fulfillment_order") or []
        fos = [self.fulfillment_orders.get(item.get("fulfillment_order_id")) for item in wanted]
        if not fos or any(fo is None for fo in fos):
            return Reply(422, {"errors": ["Fulfillment order does not exist."]})
        if len({fo["assigned_location_id"] for fo in fos if fo}) != 1:
            return Reply(
                422, {"errors": ["All fulfillment orders must be assigned to the same location."]}
            )
        if any(fo["status"] not in {"open", "in_progress"} for fo in fos if fo):
            return Reply(422, {"errors": ["Fulfillment order is not in an actionable state."]})
        tracking = request.get("tracking_info") or {}
        order_id = fos[0]["order_id"] if fos[0] else 0
        fulfillment = {
            "id": next(self._ids), "order_id": order_id, "status": "success",
            "location_id": fos[0]["assigned_location_id"] if fos[0] else None,
            "tracking_company": tracking.get("company"), "tracking_number": tracking.get("number"),
            "tracking_numbers": [tracking["number"]] if tracking.get("number") else [],
            "notify_customer": request.get("notify_customer", False),
            "line_items": [li for fo in fos if fo for li in fo["line_items"]],
        }  # fmt: skip
        for fo in fos:
            if fo:
                fo["status"] = "closed"
                for item in fo["line_items"]:
                    item["fulfillable_quantity"] = 0
        self.fulfillments[order_id].append(fulfillment)
        return Reply(201, {"fulfillment": fulfillment})
