"""Integration trouble on the timeline through the real processes' parts (PRODUCT.md §8.3): the
commerce platform away while an order is booked, on PostgreSQL, the relay and a Dramatiq worker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from domain import commands as c
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.delivery.conftest import Pipeline


async def trouble_on_timeline(pipeline: Pipeline, order_id: UUID) -> list[dict[str, Any]]:
    timeline = await pipeline.api.read_models().timeline(order_id, 100, None)
    assert timeline is not None
    return [e for e in timeline.page.items if e["kind"].startswith("integration.")]


async def test_a_shop_away_while_an_order_is_booked_shows_failing_then_recovered_once(
    pipeline: Pipeline,
) -> None:
    commerce = pipeline.worker_side.commerce()
    commerce.down = True
    await pipeline.run(c.ApplyStockSnapshot(sku="MUG", location="dc-east", on_hand=10, sequence=1))
    order_id = await pipeline.run(
        PlaceOrderFactory(lines=(LineSpecFactory(sku="MUG", quantity=1, unit_price=Decimal(9)),))
    )

    async def failing_shown() -> bool:
        return bool(await trouble_on_timeline(pipeline, order_id))

    await pipeline.until(failing_shown)
    commerce.down = False

    async def recovered_shown() -> bool:
        return len(await trouble_on_timeline(pipeline, order_id)) >= 2

    await pipeline.until(recovered_shown)

    shown = await trouble_on_timeline(pipeline, order_id)
    assert [(e["source"], e["kind"], e["title"]) for e in shown] == [
        ("commerce", "integration.failing",
         "We cannot reach the shop to update the order's status right now; it will be tried again automatically"),
        ("commerce", "integration.recovered",
         "The shop is answering again: the order's status is up to date"),
    ]  # fmt: skip
    assert shown[0]["detail"] == {
        "remote": "commerce", "consumer": "fulfilment", "event_type": "OrderBooked",
        "attempts": 1, "error": "RemoteUnavailable: commerce platform is down",
    }  # fmt: skip
    assert any(u.status == "booked" for u in commerce.updates.values())
