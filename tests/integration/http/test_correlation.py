"""One correlation id from the channel's request to the events it wrote and the order's story."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from adapters.sql.schema import outbox
from tests.integration.http import requests
from tests.integration.http.conftest import Api


async def test_the_caller_s_correlation_id_reaches_the_events_and_the_timeline(api: Api) -> None:
    await requests.stock(api)
    placed = await api.client.post(
        "/v1/orders",
        json=requests.order_body(),
        headers={**requests.idempotent(api, "web"), "X-Correlation-Id": "checkout-9f3"},
    )
    assert placed.status_code == 201, placed.text
    assert placed.headers["X-Correlation-Id"] == "checkout-9f3"
    order_id = placed.json()["id"]

    async with api.container.engine().connect() as conn:
        written = (
            (
                await conn.execute(
                    select(outbox.c.correlation_id).where(outbox.c.aggregate_id == order_id)
                )
            )
            .scalars()
            .all()
        )
    assert written
    assert set(written) == {"checkout-9f3"}
    story = await api.client.get(f"/v1/orders/{order_id}/timeline", headers=api.auth("agent"))
    assert {entry["correlation_id"] for entry in story.json()["items"]} == {"checkout-9f3"}


async def test_every_answer_names_its_correlation_id_made_up_when_none_or_a_bad_one_came(
    api: Api,
) -> None:
    made_up = await api.client.get("/v1/inventory/MUG", headers=api.auth("agent"))
    assert uuid.UUID(made_up.headers["X-Correlation-Id"])
    refused = await api.client.get("/v1/orders", headers={"X-Correlation-Id": "a b;<script>"})
    assert refused.status_code == 401
    assert uuid.UUID(refused.headers["X-Correlation-Id"])  # not the caller's unsafe text
    kept = await api.client.get(
        "/v1/inventory/MUG", headers={**api.auth("agent"), "X-Correlation-Id": "desk-7"}
    )
    assert kept.headers["X-Correlation-Id"] == "desk-7"
