"""The document's examples look like what the server really answers (same members, same forms)."""

from __future__ import annotations

import uuid

from entrypoints.http.examples import EVENT_PAGE_EXAMPLE, ORDER_EXAMPLE
from tests.integration.http.conftest import Api
from tests.integration.http.requests import inbound_event, order_body, snapshot


async def test_the_order_and_event_examples_have_the_members_and_forms_of_real_answers(
    api: Api,
) -> None:
    await api.client.post(
        "/v1/inbound/warehouse", json=snapshot(on_hand=10), headers=api.auth("system")
    )
    placed = await api.client.post(
        "/v1/orders",
        json=order_body(),
        headers={**api.auth("web"), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order.keys() == ORDER_EXAMPLE.keys()
    assert order["payment"].keys() == ORDER_EXAMPLE["payment"].keys()
    assert order["lines"][0].keys() == ORDER_EXAMPLE["lines"][0].keys()
    sent = inbound_event("order.booked", {"order_id": order["id"], "erp_order_ref": "SO-1"})
    booked = await api.client.post("/v1/inbound/erp", json=sent, headers=api.auth("system"))
    assert booked.status_code == 200, booked.text
    feed = (await api.client.get("/v1/events", headers=api.auth("ops"))).json()
    (event,) = [e for e in feed["items"] if e["event_type"] == "OrderBooked"]
    (example,) = EVENT_PAGE_EXAMPLE["items"]
    assert event.keys() == example.keys()
    assert event["payload"].keys() == example["payload"].keys()
    assert event["causation_id"] == sent["event_id"]  # as the example's comment says
    assert event["actor"].split(":")[0] == example["actor"].split(":")[0]
    assert event["aggregate_type"] == example["aggregate_type"]
