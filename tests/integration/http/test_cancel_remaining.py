"""`POST /v1/orders/{id}/cancel-remaining` (agent, PRODUCT.md §8.4): a partially shipped order
whose remainder will never ship ends `shipped`; only a partially shipped order can."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain import commands as c
from ports.unit_of_work import CommandMeta
from tests.integration.http.conftest import Api
from tests.integration.http.requests import (
    LOCATION,
    SKU,
    assert_problem,
    idempotent,
    inventory,
    place_order,
    stock,
)


async def partly_shipped(api: Api) -> dict[str, Any]:
    """Two units ordered, one shipped."""
    await stock(api)
    order = await place_order(api)
    bus, meta = api.container.bus(), CommandMeta(actor="system:test", correlation_id="t")
    order_id = UUID(order["id"])
    await bus.handle(c.BookOrder(order_id=order_id, erp_order_ref="ERP-1"), meta)
    await bus.handle(
        c.RecordShipment(
            order_id=order_id, shipment_id="S1", location=LOCATION, carrier="DHL",
            tracking_number="T1", lines=(c.SkuCount(sku=SKU, quantity=1),),
            dispatched_at=api.clock.now(),
        ),
        meta,
    )  # fmt: skip
    return order


async def cancel_remaining(api: Api, order_id: str, who: str = "agent", **body: Any) -> Any:
    return await api.client.post(
        f"/v1/orders/{order_id}/cancel-remaining",
        json=body or {"reason": "the rest is discontinued"},
        headers=idempotent(api, who),
    )


async def test_an_agent_finishes_a_partly_shipped_order_with_what_shipped(api: Api) -> None:
    order = await partly_shipped(api)
    before = await inventory(api)

    answer = await cancel_remaining(api, order["id"])

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "shipped"
    assert [(ln["sku"], ln["quantity"]) for ln in answer.json()["lines"]] == [(SKU, 1)]
    after = await inventory(api)
    assert after["available"] == before["available"] + 1  # the unshipped unit's hold released


async def test_only_a_partly_shipped_order_has_a_remainder_to_cancel(api: Api) -> None:
    await stock(api)
    order = await place_order(api)

    assert_problem(await cancel_remaining(api, order["id"]), 409, "invalid_transition")


async def test_a_channel_cannot_cancel_the_remainder_and_a_reason_is_required(api: Api) -> None:
    order = await partly_shipped(api)

    assert_problem(await cancel_remaining(api, order["id"], who="web"), 403, "forbidden")
    refused = await api.client.post(
        f"/v1/orders/{order['id']}/cancel-remaining", json={}, headers=idempotent(api, "agent")
    )
    assert refused.status_code in (400, 422)
