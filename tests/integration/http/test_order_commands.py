"""A channel places, amends, cancels and reads its orders over HTTP."""

from __future__ import annotations

from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api


async def test_a_channel_places_amends_cancels_and_reads_an_order(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    placed = await place(api, order_body("W-1", quantity=3), key="k-1")
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["status"], order["version"], order["total"]) == ("reserved", 2, "37.50")
    assert placed.headers["ETag"] == '"2"'
    assert placed.headers["Location"] == f"/v1/orders/{order['id']}"

    amended = await api.client.post(
        f"/v1/orders/{order['id']}/amend",
        headers={**api.auth("web"), "If-Match": placed.headers["ETag"]},
        json={"lines": [{"sku": "MUG-1", "quantity": 1}]},
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["lines"][0] | {"unit_price": None} == {
        "sku": "MUG-1", "quantity": 1, "unit_price": None, "tax_amount": "0.00", "reserved": 1,
        "shipped": 0, "returned": 0,
    }  # fmt: skip
    assert amended.json()["total"] == "12.50"

    cancelled = await api.client.post(
        f"/v1/orders/{order['id']}/cancel", headers=api.auth("web"), json={"reason": "changed mind"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["payment"]["status"] == "voided"

    read = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth("web"))
    assert read.json()["status"] == "cancelled"
    assert read.headers["ETag"] == f'"{read.json()["version"]}"'
    inventory = await api.client.get("/v1/inventory/MUG-1", headers=api.auth("web"))
    assert inventory.json() == {
        "sku": "MUG-1",
        "available": 10,
        "locations": [{"location": "dc-east", "on_hand": 10, "reserved": 0, "available": 10}],
    }


async def test_a_retry_with_the_same_key_gets_the_first_answer_and_places_nothing_more(
    api: Api,
) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    first = await place(api, order_body("W-2"), key="retry-me")
    again = await place(api, order_body("W-2"), key="retry-me")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.content == first.content
    inventory = (await api.client.get("/v1/inventory/MUG-1", headers=api.auth("web"))).json()
    assert inventory["locations"][0]["reserved"] == 2


async def test_a_refused_request_stores_nothing_under_its_key(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 1)
    refused = await place(api, order_body("W-3", quantity=2), key="k-3")
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
    await stock(api, "MUG-1", "dc-east", 5, sequence=2)
    accepted = await place(api, order_body("W-3", quantity=2), key="k-3")
    assert accepted.status_code == 201, accepted.text


async def test_a_channel_cannot_see_or_touch_another_channel_s_order(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    order = (await place(api, order_body("W-4"), key="k-4")).json()
    for method, path in [
        ("GET", f"/v1/orders/{order['id']}"),
        ("POST", f"/v1/orders/{order['id']}/cancel"),
        ("POST", f"/v1/orders/{order['id']}/resume"),
    ]:
        response = await api.client.request(method, path, headers=api.auth("pos"))
        assert (response.status_code, response.json()["code"]) == (404, "order_not_found"), path
    seen_by_agent = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth("agent"))
    assert seen_by_agent.status_code == 200
    untouched = await api.client.get(f"/v1/orders/{order['id']}", headers=api.auth("web"))
    assert untouched.json()["status"] == "reserved"


async def test_an_agent_places_for_a_named_channel_and_holds_and_resumes(api: Api) -> None:
    await stock(api, "MUG-1", "dc-east", 10)
    placed = await place(api, order_body("PHONE-1", channel="web"), key="a-1", who="agent")
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    held = await api.client.post(
        f"/v1/orders/{order_id}/hold", headers=api.auth("agent"), json={"reason": "fraud check"}
    )
    assert held.json()["status"] == "on_hold"
    resumed = await api.client.post(f"/v1/orders/{order_id}/resume", headers=api.auth("agent"))
    assert resumed.json()["status"] == "reserved"
    linked = await api.client.post(
        f"/v1/orders/{order_id}/case",
        headers=api.auth("agent"),
        json={"case_id": "500ABC000000000"},
    )
    assert linked.json()["case_ids"] == ["500ABC000000000"]


async def test_the_same_inbound_event_applies_once(api: Api) -> None:
    event = {
        "event_id": "adj-1",
        "type": "stock.adjusted",
        "occurred_at": "2026-11-02T09:00:00Z",
        "data": {"sku": "MUG-1", "location": "dc-east", "delta": 4, "reason": "found in aisle 3"},
    }
    first = await api.client.post("/v1/inbound/warehouse", headers=api.auth("system"), json=event)
    again = await api.client.post("/v1/inbound/warehouse", headers=api.auth("system"), json=event)
    assert (first.json()["status"], again.json()["status"]) == ("processed", "duplicate")
    inventory = (await api.client.get("/v1/inventory/MUG-1", headers=api.auth("agent"))).json()
    assert inventory["available"] == 4


async def test_health_and_schema_need_no_key_but_lookalike_paths_do(api: Api) -> None:
    assert (await api.client.get("/health/live")).status_code == 200
    assert (await api.client.get("/health/ready")).json() == {
        "status": "ok",
        "checks": {"database": "ok", "schema": "ok", "broker": "ok (in process)"},
    }
    assert (await api.client.get("/schema/openapi.json")).status_code == 200
    assert (await api.client.get("/v1/inventory/health")).status_code == 401
    assert (await api.client.get("/v1/inventory/schema")).status_code == 401
