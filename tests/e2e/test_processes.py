"""A whole order and a whole return through separate API, relay and worker processes on the real
PostgreSQL and Redis, with the simulated ERP, payment, CRM and commerce behind the worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.e2e.processes import Hub, wait_for
from tests.integration.databases import postgres_database

BROKER = "redis://127.0.0.1:6379/11"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    redis.Redis.from_url(BROKER).flushdb()
    with postgres_database() as url:
        running = Hub(url, BROKER, tmp_path)
        try:
            yield running
        finally:
            running.close()
            redis.Redis.from_url(BROKER).flushdb()


def test_an_order_and_a_return_go_through_api_relay_and_worker_processes(hub: Hub) -> None:
    system, web, agent = hub.key("system"), hub.key("channel", "web"), hub.key("agent")
    hub.start_all()
    api = httpx.Client(base_url=hub.url, timeout=10)

    def inbound(
        source: str, event_id: str, event_type: str, data: dict[str, Any]
    ) -> httpx.Response:
        body = {
            "event_id": event_id,
            "type": event_type,
            "occurred_at": "2026-11-23T10:00:00Z",
            "data": data,
        }
        return api.post(
            f"/v1/inbound/{source}", json=body, headers={"Authorization": f"Bearer {system}"}
        )

    def order() -> dict[str, Any]:
        return api.get(
            f"/v1/orders/{order_id}", headers={"Authorization": f"Bearer {agent}"}
        ).json()

    assert (
        inbound(
            "warehouse",
            "wh-1",
            "stock.snapshot",
            {"sku": "MUG-1", "location": "dc-east", "on_hand": 5, "sequence": 1},
        ).status_code
        == 200
    )
    placed = api.post("/v1/orders", headers={"Authorization": f"Bearer {web}", "Idempotency-Key": "e2e-1"}, json={
        "channel_order_ref": "E2E-1", "customer": {"email": "ann@example.com", "name": "Ann Lee"},
        "shipping_address": {"name": "Ann Lee", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        "currency": "EUR", "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "12.50"}],
        "payment": {"reference": "pay-e2e-1", "amount": "25.00"},
    })  # fmt: skip
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    booked = wait_for(
        lambda: order()["erp_order_ref"] and order(), timeout=60, what="the ERP booking"
    )
    assert booked["status"] == "booked"

    assert inbound("warehouse", "wh-2", "shipment.dispatched", {
        "order_id": order_id, "shipment_id": "S1", "location": "dc-east", "carrier": "DHL",
        "tracking_number": "JD0001", "lines": [{"sku": "MUG-1", "quantity": 2}],
    }).status_code == 200  # fmt: skip
    assert (
        inbound(
            "warehouse", "wh-3", "shipment.delivered", {"order_id": order_id, "shipment_id": "S1"}
        ).status_code
        == 200
    )
    delivered = wait_for(
        lambda: order()["payment"]["status"] == "captured" and order(),
        timeout=60,
        what="the capture",
    )
    assert delivered["status"] == "delivered"

    requested = api.post(f"/v1/orders/{order_id}/returns", headers={"Authorization": f"Bearer {web}"},
                         json={"lines": [{"sku": "MUG-1", "quantity": 1, "reason": "chipped"}]})  # fmt: skip
    assert requested.status_code == 201, requested.text
    return_id = requested.json()["id"]
    assert (
        inbound(
            "warehouse",
            "wh-4",
            "return.received",
            {"return_id": return_id, "lines": [{"sku": "MUG-1", "quantity": 1}]},
        ).status_code
        == 200
    )
    assert (
        inbound(
            "warehouse",
            "wh-5",
            "return.inspected",
            {"return_id": return_id, "lines": [{"sku": "MUG-1", "disposition": "restock"}]},
        ).status_code
        == 200
    )
    refund = api.get(
        f"/v1/returns/{return_id}", headers={"Authorization": f"Bearer {agent}"}
    ).json()["refund_amount"]
    assert (
        inbound(
            "erp",
            "erp-9",
            "credit_memo.posted",
            {"return_id": return_id, "credit_memo_ref": "CM-1", "amount": refund},
        ).status_code
        == 200
    )

    def closed() -> bool:
        ret = api.get(
            f"/v1/returns/{return_id}", headers={"Authorization": f"Bearer {agent}"}
        ).json()
        return ret["status"] == "closed"

    wait_for(closed, timeout=60, what="the return to close")
    final = order()
    assert (final["payment"]["refunded"], final["payment"]["status"]) == (
        "12.50",
        "partially_refunded",
    )
    stock = api.get("/v1/inventory/MUG-1", headers={"Authorization": f"Bearer {agent}"}).json()
    assert stock["locations"] == [
        {"location": "dc-east", "on_hand": 4, "reserved": 0, "available": 4}
    ]

    def story() -> list[tuple[str, str]]:
        entries = api.get(
            f"/v1/orders/{order_id}/timeline", headers={"Authorization": f"Bearer {agent}"}
        ).json()
        kinds = [(e["source"], e["kind"]) for e in entries.get("items", [])]
        return kinds if ("hub", "return.closed") in kinds else []

    timeline = wait_for(story, timeout=60, what="the timeline to tell the whole story")
    assert timeline[:3] == [
        ("channel", "order.placed"),
        ("hub", "inventory.reserved"),
        ("erp", "order.booked"),
    ]
    assert {("warehouse", "shipment.dispatched"), ("payment", "payment.captured"), ("warehouse", "return.received"),
            ("payment", "refund.issued")} <= set(timeline)  # fmt: skip
    found = api.get(
        "/v1/orders?customer_email=ann@example.com", headers={"Authorization": f"Bearer {agent}"}
    ).json()
    assert [o["id"] for o in found["items"]] == [order_id]
    assert "Traceback" not in hub.log("worker") + hub.log("relay") + hub.log("api")
