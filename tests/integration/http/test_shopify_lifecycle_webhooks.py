"""POST /v1/webhooks/shopify/orders-cancelled and /refunds-create: signed and deduplicated like
orders-create; on the in-memory hub, and on the whole app where stuck workflows are read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shopify_signature import shopify_hmac
from domain import commands as c
from domain.events import PaymentVoided
from tests.hub import CHANNEL, Hub
from tests.integration.http.channel import stock
from tests.integration.http.conftest import Api, make_api
from tests.integration.http.test_read_side import project
from tests.integration.http.test_shopify_webhook import (
    MAX_AGE,
    SECRET,
    problem_code,
    webhook_app,
)
from tests.unit.shopify.payloads import body, shopify_cancelled_order, shopify_order, shopify_refund

CANCELLED = ("/v1/webhooks/shopify/orders-cancelled", "orders/cancelled")
REFUND = ("/v1/webhooks/shopify/refunds-create", "refunds/create")
ORDER = ("/v1/webhooks/shopify/orders-create", "orders/create")


async def deliver(
    client: AsyncClient,
    endpoint: tuple[str, str],
    payload: dict[str, Any],
    webhook_id: str,
    *,
    signature: str | None = None,
    **headers: str,
) -> Response:
    url, topic = endpoint
    raw = body(payload)
    return await client.post(
        url,
        content=raw,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": shopify_hmac(SECRET, raw) if signature is None else signature,
            **headers,
        },
    )


@pytest.fixture
async def shop(hub: Hub) -> AsyncIterator[AsyncClient]:
    await hub.stock("IPOD2008PINK", "dc-east", 10)
    await hub.stock("CBL-USBC-1M", "dc-east", 10)
    transport = ASGITransport(app=webhook_app(hub, SECRET))  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://orderhub.test") as client:
        yield client


async def placed(client: AsyncClient) -> UUID:
    response = await deliver(client, ORDER, shopify_order(), "create-1")
    return UUID(response.json()["order_id"])


async def shipped_and_captured(hub: Hub, order_id: UUID, *, capture: bool = True) -> None:
    await hub.run(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"))
    await hub.run(
        c.RecordShipment(
            order_id=order_id, shipment_id="S1", location="dc-east", carrier="UPS",
            tracking_number="1Z", lines=(c.SkuCount(sku="CBL-USBC-1M", quantity=3),),
            dispatched_at=hub.clock.now(),
        ), CHANNEL,
    )  # fmt: skip
    if capture:
        await hub.run(c.CapturePayment(order_id=order_id))


# -- orders/cancelled ------------------------------------------------------------------------------


async def test_a_signed_cancellation_cancels_the_order_and_voids_its_payment(
    shop: AsyncClient, hub: Hub
) -> None:
    order_id = await placed(shop)
    response = await deliver(shop, CANCELLED, shopify_cancelled_order(), "cancel-1")
    assert response.status_code == 200
    assert response.json() == {"order_id": str(order_id), "status": "cancelled"}
    order = hub.order(order_id)
    assert (order.status, order.payment.status) == ("cancelled", "voided")
    assert hub.level("IPOD2008PINK", "dc-east").reserved == 0
    assert hub.level("CBL-USBC-1M", "dc-east").reserved == 0
    cancelled = [e for e in hub.events(order_id) if e.event_type == "OrderCancelled"]
    assert cancelled[0].payload.reason == "cancelled on Shopify: customer"  # type: ignore[attr-defined]
    assert (cancelled[0].actor, cancelled[0].causation_id) == ("webhook:shopify", "cancel-1")
    assert any(isinstance(e.payload, PaymentVoided) for e in hub.events(order_id))


async def test_a_cancellation_with_a_bad_signature_changes_nothing(
    shop: AsyncClient, hub: Hub
) -> None:
    order_id = await placed(shop)
    payload = shopify_cancelled_order()
    response = await deliver(
        shop, CANCELLED, payload, "cancel-1", signature=shopify_hmac("other", body(payload))
    )
    assert response.status_code == 401
    assert problem_code(response) == "invalid_signature"
    assert hub.order(order_id).status == "reserved"


async def test_a_cancellation_on_another_topic_is_refused(shop: AsyncClient, hub: Hub) -> None:
    order_id = await placed(shop)
    response = await deliver(shop, (CANCELLED[0], "orders/updated"), shopify_cancelled_order(), "x")
    assert response.status_code == 422
    assert problem_code(response) == "unsupported_topic"
    assert hub.order(order_id).status == "reserved"


async def test_a_redelivered_cancellation_changes_nothing(shop: AsyncClient, hub: Hub) -> None:
    await placed(shop)
    await deliver(shop, CANCELLED, shopify_cancelled_order(), "cancel-1")
    commits, events = hub.store.commits, len(hub.store.outbox)
    again = await deliver(shop, CANCELLED, shopify_cancelled_order(), "cancel-1")
    assert again.json() == {"order_id": None, "status": "duplicate"}
    assert (hub.store.commits, len(hub.store.outbox)) == (commits, events)


async def test_a_cancellation_of_an_order_already_cancelled_is_answered_as_such(
    shop: AsyncClient, hub: Hub
) -> None:
    """The hub's own cancellation, pushed to the shop, comes back as its orders/cancelled."""
    order_id = await placed(shop)
    await hub.run(c.CancelOrder(order_id=order_id, reason="agent"))
    events = len(hub.store.outbox)
    response = await deliver(shop, CANCELLED, shopify_cancelled_order(), "echo")
    assert response.json() == {"order_id": str(order_id), "status": "already_cancelled"}
    assert len(hub.store.outbox) == events


async def test_a_cancellation_after_shipment_is_answered_200_and_only_recorded(
    shop: AsyncClient, hub: Hub
) -> None:
    order_id = await placed(shop)
    await shipped_and_captured(hub, order_id)
    response = await deliver(shop, CANCELLED, shopify_cancelled_order(), "cancel-late")
    assert response.status_code == 200
    assert response.json() == {
        "order_id": str(order_id),
        "status": "cancel_requested_after_shipment",
    }
    assert hub.order(order_id).status == "partially_shipped"
    assert hub.event_types(order_id)[-1] == "CancelRequestedAfterShipment"


async def test_a_cancellation_of_an_unknown_order_is_answered_200_and_logged(
    shop: AsyncClient, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="orderhub.http.shopify"):
        response = await deliver(shop, CANCELLED, shopify_cancelled_order(), "cancel-1")
    assert response.status_code == 200
    assert response.json() == {"order_id": None, "status": "unknown_order"}
    assert "5612345678901" in caplog.text
    assert hub.store.orders == {}


# -- refunds/create --------------------------------------------------------------------------------


async def test_a_refund_the_shop_made_is_recorded_once(shop: AsyncClient, hub: Hub) -> None:
    order_id = await placed(shop)
    await shipped_and_captured(hub, order_id)
    await hub.drain()
    response = await deliver(shop, REFUND, shopify_refund(), "refund-1")
    assert response.status_code == 200
    assert response.json() == {"order_id": str(order_id), "status": "recorded"}
    payment = hub.order(order_id).payment
    assert (payment.refunded.amount, payment.status) == (Decimal("13.77"), "partially_refunded")
    events = len(hub.store.outbox)

    redelivered = await deliver(shop, REFUND, shopify_refund(), "refund-1")
    assert redelivered.json() == {"order_id": None, "status": "duplicate"}
    same_refund = await deliver(shop, REFUND, shopify_refund(), "refund-1-resent")
    assert same_refund.json() == {"order_id": str(order_id), "status": "duplicate"}
    assert hub.order(order_id).payment.refunded.amount == Decimal("13.77")
    assert len(hub.store.outbox) == events
    assert hub.event_types(order_id)[-1] == "RefundRecorded"
    assert await hub.drain() == []  # nothing reacts with a payment call


async def test_a_refund_above_what_was_captured_is_refused_and_logged(
    shop: AsyncClient, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    order_id = await placed(shop)
    await shipped_and_captured(hub, order_id)
    captured = hub.order(order_id).payment.captured.amount
    payload = shopify_refund()
    payload["transactions"][0]["amount"] = str(captured)
    assert (await deliver(shop, REFUND, payload, "refund-all")).json()["status"] == "recorded"
    payload["id"] = 929361463
    payload["transactions"][0]["amount"] = "0.01"
    with caplog.at_level("WARNING", logger="orderhub.http.shopify"):
        response = await deliver(shop, REFUND, payload, "refund-big-2")
    assert response.status_code == 422
    assert problem_code(response) == "refund_exceeds_captured"
    assert "929361463" in caplog.text
    assert hub.order(order_id).payment.refunded.amount == captured


async def test_a_refund_before_the_capture_is_refused(shop: AsyncClient, hub: Hub) -> None:
    order_id = await placed(shop)
    response = await deliver(shop, REFUND, shopify_refund(), "refund-early")
    assert response.status_code == 422
    assert problem_code(response) == "refund_exceeds_captured"
    assert hub.order(order_id).payment.refunded.amount == 0
    retried = await deliver(shop, REFUND, shopify_refund(), "refund-early")
    assert retried.status_code == 422  # nothing was remembered under the webhook id


async def test_a_refund_with_a_bad_signature_is_refused(shop: AsyncClient, hub: Hub) -> None:
    order_id = await placed(shop)
    await shipped_and_captured(hub, order_id)
    response = await deliver(shop, REFUND, shopify_refund(), "refund-1", signature="bad")
    assert response.status_code == 401
    assert hub.order(order_id).payment.refunded.amount == 0


async def test_a_refund_without_money_or_for_an_unknown_order_is_answered_200(
    shop: AsyncClient,
) -> None:
    unknown = await deliver(shop, REFUND, shopify_refund(), "refund-1")
    assert unknown.json() == {"order_id": None, "status": "unknown_order"}
    restock_only = shopify_refund()
    restock_only["transactions"] = []
    nothing = await deliver(shop, REFUND, restock_only, "refund-2")
    assert nothing.json() == {"order_id": None, "status": "nothing_to_record"}


# -- the whole app: timeline and stuck workflows -------------------------------------------------


@pytest.fixture
async def shop_api(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    async for built in make_api(sqlite_engine, shopify_webhook_secret=SECRET):
        yield built


async def test_a_late_cancellation_shows_on_the_timeline_and_among_stuck_workflows(
    shop_api: Api,
) -> None:
    api, bus = shop_api, shop_api.container.bus()
    for sku in ("IPOD2008PINK", "CBL-USBC-1M"):
        await stock(api, sku, "dc-east", 10)
    order_id = await placed(api.client)
    meta = CHANNEL
    await bus.handle(c.BookOrder(order_id=order_id, erp_order_ref="SO-1"), meta)
    await bus.handle(
        c.RecordShipment(
            order_id=order_id, shipment_id="S1", location="dc-east", carrier="UPS",
            tracking_number="1Z", lines=(c.SkuCount(sku="CBL-USBC-1M", quantity=3),),
            dispatched_at=api.clock.now(),
        ), meta,
    )  # fmt: skip
    response = await deliver(api.client, CANCELLED, shopify_cancelled_order(), "cancel-late")
    assert response.json()["status"] == "cancel_requested_after_shipment"
    api.clock.advance(timedelta(minutes=5))
    await project(api)

    timeline = await api.client.get(f"/v1/orders/{order_id}/timeline", headers=api.auth("agent"))
    late = [
        e for e in timeline.json()["items"] if e["kind"] == "order.cancel_requested_after_shipment"
    ]
    assert [(e["source"], e["title"]) for e in late] == [
        (
            "channel",
            "The channel cancelled the order after it shipped; it was not cancelled here, "
            "an agent must settle it: cancelled on Shopify: customer",
        )
    ]
    stuck = (await api.client.get("/v1/ops/stuck", headers=api.auth("ops"))).json()["items"]
    assert [(s["kind"], s["order_id"], s["status"]) for s in stuck] == [
        ("cancel_requested_after_shipment", str(order_id), "partially_shipped")
    ]


@pytest.mark.parametrize(
    ("endpoint", "payload"),
    [(CANCELLED, shopify_cancelled_order()), (REFUND, shopify_refund())],
    ids=["orders-cancelled", "refunds-create"],
)
async def test_a_cancellation_or_refund_triggered_before_the_window_is_refused(
    shop: AsyncClient, hub: Hub, endpoint: tuple[str, str], payload: dict[str, Any]
) -> None:
    order_id = await placed(shop)
    events = len(hub.events(order_id))
    stale = (hub.clock.now() - MAX_AGE - timedelta(seconds=1)).isoformat()
    response = await deliver(shop, endpoint, payload, "late-1", **{"X-Shopify-Triggered-At": stale})
    assert response.status_code == 422
    assert problem_code(response) == "webhook_too_old"
    assert len(hub.events(order_id)) == events
