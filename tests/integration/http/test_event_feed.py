"""GET /v1/events: the feed a channel resumes by cursor (PRODUCT.md §8.5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.integration.http.conftest import Api
from tests.integration.http.requests import PROBLEM_JSON, place_order, stock

pytestmark = pytest.mark.usefixtures("stocked")


@pytest.fixture
async def stocked(api: Api) -> None:
    await stock(api, on_hand=100)


async def read(api: Api, who: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get("/v1/events", params=params, headers=api.auth(who))
    assert response.status_code == 200, response.text
    return response.json()


async def read_all(
    api: Api, who: str, after: str | None = None, **params: Any
) -> tuple[list[dict[str, Any]], str]:
    """Every event after `after`, page by page; and the cursor to resume from."""
    items: list[dict[str, Any]] = []
    while True:
        page = await read(api, who, **params, **({"after": after} if after else {}))
        items += page["items"]
        after = page["next_cursor"]
        assert after
        if not page["items"]:
            return items, after


async def test_a_channel_reads_only_its_own_orders_events_and_ops_reads_all(api: Api) -> None:
    web = await place_order(api, "web")
    pos = await place_order(api, "pos")

    web_events, _ = await read_all(api, "web")
    pos_events, _ = await read_all(api, "pos")
    all_events, _ = await read_all(api, "ops")

    assert {e["aggregate_id"] for e in web_events} == {web["id"]}
    assert {e["aggregate_id"] for e in pos_events} == {pos["id"]}
    assert [e["event_type"] for e in web_events] == ["OrderPlaced", "InventoryReserved"]
    # ops also sees the stock's own stream (the snapshot), which belongs to no channel
    assert {e["aggregate_type"] for e in all_events} == {"order", "stock"}
    assert len(all_events) == len({e["event_id"] for e in all_events})
    envelope = web_events[0]
    assert set(envelope) == {
        "event_id", "event_type", "schema_version", "aggregate_type", "aggregate_id",
        "aggregate_version", "occurred_at", "correlation_id", "causation_id", "actor", "payload",
    }  # fmt: skip


async def test_a_reader_resumes_from_its_cursor_and_misses_nothing(api: Api) -> None:
    await place_order(api, "web")
    first, cursor = await read_all(api, "web", limit=1)
    assert len(first) == 2

    again = await read(api, "web", after=cursor)
    assert again["items"] == []
    assert again["next_cursor"]  # always returned, also on an empty page

    second = await place_order(api, "web")
    rest, _ = await read_all(api, "web", after=again["next_cursor"])
    assert {e["aggregate_id"] for e in rest} == {second["id"]}
    assert len(rest) == 2


async def test_the_feed_filters_by_event_type(api: Api) -> None:
    await place_order(api, "web")
    placed, _ = await read_all(api, "ops", types="OrderPlaced, StockSnapshotApplied")
    assert {e["event_type"] for e in placed} <= {"OrderPlaced", "StockSnapshotApplied"}
    assert "OrderPlaced" in {e["event_type"] for e in placed}


async def test_unknown_event_types_are_refused_with_a_problem(api: Api) -> None:
    response = await api.client.get(
        "/v1/events", params={"types": "OrderPlaced,OrderTeleported"}, headers=api.auth("ops")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["code"] == "unknown_event_types"
    assert body["errors"] == [{"field": "types", "message": "unknown: OrderTeleported"}]


async def test_a_cursor_the_feed_never_handed_out_is_refused(api: Api) -> None:
    response = await api.client.get(
        "/v1/events", params={"after": "not-a-cursor"}, headers=api.auth("web")
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


async def test_a_cursor_older_than_the_retention_is_gone(api: Api) -> None:
    await place_order(api, "web")
    _, cursor = await read_all(api, "web")
    api.clock.advance(timedelta(days=29))
    assert (await read(api, "web", after=cursor))["items"] == []  # still good

    api.clock.advance(timedelta(days=2))
    response = await api.client.get("/v1/events", params={"after": cursor}, headers=api.auth("web"))
    assert response.status_code == 410
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "cursor_expired"
    assert "30-day retention" in response.json()["detail"]


async def test_agents_do_not_read_the_feed(api: Api) -> None:
    response = await api.client.get("/v1/events", headers=api.auth("agent"))
    assert response.status_code == 403
