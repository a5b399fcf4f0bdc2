"""A filter value outside its set is refused (422 problem+json), never answered with an empty page."""

from __future__ import annotations

from typing import Any

from tests.integration.http.conftest import Api
from tests.integration.http.requests import PROBLEM_JSON, order_body, snapshot


async def _refused(response: Any, code: str, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["code"] == code
    assert [e["field"] for e in problem["errors"]] == [field]


async def test_an_unknown_order_status_filter_is_refused(api: Api) -> None:
    response = await api.client.get(
        "/v1/orders", params={"status": "bogus"}, headers=api.auth("agent")
    )
    await _refused(response, "validation_error", "status")


async def test_a_known_order_status_filter_still_filters(api: Api) -> None:
    await api.client.post(
        "/v1/inbound/warehouse", json=snapshot(on_hand=10), headers=api.auth("system")
    )
    placed = await api.client.post(
        "/v1/orders", json=order_body(), headers={**api.auth("web"), "Idempotency-Key": "k-1"}
    )
    assert placed.status_code == 201, placed.text
    # Reading the order brings its view up to date (the list is served from the views).
    assert (
        await api.client.get(f"/v1/orders/{placed.json()['id']}", headers=api.auth("agent"))
    ).status_code == 200
    reserved = await api.client.get(
        "/v1/orders", params={"status": "reserved"}, headers=api.auth("agent")
    )
    cancelled = await api.client.get(
        "/v1/orders", params={"status": "cancelled"}, headers=api.auth("agent")
    )
    assert [o["id"] for o in reserved.json()["items"]] == [placed.json()["id"]]
    assert cancelled.json()["items"] == []


async def test_an_unknown_event_type_filter_on_the_feed_is_refused(api: Api) -> None:
    response = await api.client.get(
        "/v1/events", params={"types": "OrderPlaced,Bogus"}, headers=api.auth("ops")
    )
    await _refused(response, "unknown_event_types", "types")


async def test_an_unknown_event_type_in_a_dead_letter_replay_filter_is_refused(api: Api) -> None:
    response = await api.client.post(
        "/v1/ops/dead-letters/replay", json={"event_type": "Bogus"}, headers=api.auth("ops")
    )
    await _refused(response, "unknown_event_types", "event_type")
    known = await api.client.post(
        "/v1/ops/dead-letters/replay", json={"event_type": "OrderPlaced"}, headers=api.auth("ops")
    )
    assert known.json() == {"replayed": 0}
