"""Back-office events over HTTP: each type becomes its command, once; an event that comes before
what it refers to is kept and applied later, never dropped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from entrypoints.http.inbound_events import command_of
from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api


def event(
    event_id: str, event_type: str, data: dict[str, Any], at: str = "2026-11-02T10:00:00Z"
) -> dict[str, Any]:
    return {"event_id": event_id, "type": event_type, "occurred_at": at, "data": data}


async def send(api: Api, source: str, body: dict[str, Any]) -> Any:
    return await api.client.post(f"/v1/inbound/{source}", headers=api.auth("system"), json=body)


async def test_a_delivery_before_its_dispatch_is_kept_and_applied_after_it(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    order = (await place(api, order_body("W-10"), key="k-10")).json()
    oid = order["id"]
    booked = await send(
        api, "erp", event("erp-1", "order.booked", {"order_id": oid, "erp_order_ref": "SO-1"})
    )
    assert booked.json()["status"] == "processed"

    early = await send(
        api,
        "warehouse",
        event("wh-2", "shipment.delivered", {"order_id": oid, "shipment_id": "S1"}),
    )
    assert (early.status_code, early.json()["status"]) == (202, "deferred")

    dispatched = await send(api, "warehouse", event("wh-1", "shipment.dispatched", {
        "order_id": oid, "shipment_id": "S1", "location": "dc-east", "carrier": "DHL",
        "tracking_number": "JD1", "lines": [{"sku": "MUG-1", "quantity": 2}],
    }, at="2026-11-02T09:00:00Z"))  # fmt: skip
    assert dispatched.json()["status"] == "processed"

    api.clock.advance(timedelta(seconds=5))
    assert await api.container.inbound().retry_due(command_of) == 1
    read = (await api.client.get(f"/v1/orders/{oid}", headers=api.auth("web"))).json()
    assert read["status"] == "delivered"
    again = await send(
        api,
        "warehouse",
        event("wh-2", "shipment.delivered", {"order_id": oid, "shipment_id": "S1"}),
    )
    assert again.json()["status"] == "duplicate"


async def test_an_event_for_an_order_that_never_comes_ends_as_a_dead_letter(api: Api) -> None:
    ghost = "6f1b0d55-1d5e-4a43-9b0c-1b2b3c4d5e6f"
    early = await send(
        api, "erp", event("erp-9", "order.booked", {"order_id": ghost, "erp_order_ref": "SO-9"})
    )
    assert early.status_code == 202
    inbound = api.container.inbound()
    # One more try per step: the policy waits out 7 h of tries (the 6 h outage horizon and an
    # hour), about 93 of them, before it gives up.
    for _ in range(100):
        api.clock.advance(timedelta(minutes=10))
        await inbound.retry_due(command_of)
    letters = (await api.client.get("/v1/ops/dead-letters", headers=api.auth("ops"))).json()
    assert [(d["consumer"], d["message_id"], d["event_type"]) for d in letters["items"]] == [
        ("inbound:erp", "erp-9", "order.booked")
    ]
    assert letters["next_cursor"] is None


async def test_each_source_sends_only_its_own_types(api: Api) -> None:
    refused = await send(
        api, "payment", event("p-1", "order.booked", {"order_id": "x", "erp_order_ref": "y"})
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "unsupported_event_type")
    assert "payment.captured" in refused.json()["supported"]


async def test_a_crm_case_update_links_the_case_to_the_order(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    oid = (await place(api, order_body("W-11"), key="k-11")).json()["id"]
    updated = await send(api, "crm", event("crm-1", "case.updated", {
        "case_id": "500X00000000000", "order_id": oid, "status": "Escalated", "note": "customer called twice",
    }))  # fmt: skip
    assert updated.json()["status"] == "processed"
    read = (await api.client.get(f"/v1/orders/{oid}", headers=api.auth("agent"))).json()
    assert read["case_ids"] == ["500X00000000000"]
