"""Truly concurrent HTTP requests against the app on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.integration.http.channel import order_body, place, stock
from tests.integration.http.conftest import Api


async def test_a_hundred_concurrent_orders_for_the_last_five_units_over_http(pg_api: Api) -> None:
    await stock(pg_api, "LAST-1", "dc-east", 5)
    responses = await asyncio.gather(
        *(
            place(pg_api, order_body(f"R-{i}", sku="LAST-1", quantity=1), key=f"k-{i}")
            for i in range(100)
        )
    )
    outcomes = Counter((r.status_code, r.json().get("code")) for r in responses)
    print(f"100 concurrent orders for 5 units: {dict(outcomes)}")
    assert outcomes == {(201, None): 5, (409, "insufficient_stock"): 95}, outcomes
    inventory = (await pg_api.client.get("/v1/inventory/LAST-1", headers=pg_api.auth("web"))).json()
    assert inventory["locations"] == [
        {"location": "dc-east", "on_hand": 5, "reserved": 5, "available": 0}
    ]


async def test_concurrent_requests_with_one_key_place_one_order(pg_api: Api) -> None:
    await stock(pg_api, "MUG-1", "dc-east", 100)
    body = order_body("SAME-1")
    responses = await asyncio.gather(*(place(pg_api, body, key="same-key") for _ in range(20)))
    statuses = Counter(
        (r.status_code, r.headers.get("Idempotent-Replayed"), r.json().get("code"))
        for r in responses
    )
    print(f"20 concurrent requests with one key: {dict(statuses)}")
    created = statuses[(201, None, None)]
    replayed = statuses[(201, "true", None)]
    in_progress = statuses[(409, None, "request_in_progress")]
    assert created == 1, statuses
    assert replayed + in_progress == 19, statuses
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    inventory = (await pg_api.client.get("/v1/inventory/MUG-1", headers=pg_api.auth("web"))).json()
    assert inventory["locations"][0]["reserved"] == 2
