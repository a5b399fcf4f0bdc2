"""POST /v1/webhooks/shopify/orders-create on the real bus and in-memory store, through httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from httpx import ASGITransport, AsyncClient, Response
from limits.aio.storage import MemoryStorage
from litestar import Litestar
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from adapters.memory.api_keys import InMemoryApiKeys
from adapters.shopify_signature import shopify_hmac
from entrypoints.http.auth import ApiKeyAuthentication, Authenticator
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.http.rate_limit import Window
from entrypoints.http.shopify import ShopifyWebhookController, ShopifyWebhooks
from tests.hub import Hub
from tests.unit.shopify.payloads import body, shopify_order

SECRET = "shpss_0123456789abcdef0123456789abcdef"
URL = "/v1/webhooks/shopify/orders-create"
MAX_AGE = timedelta(minutes=10)


def webhook_app(hub: Hub, secret: str | None) -> Litestar:
    """The controller wired as the app factory will wire it: bus, secret, auth, problems."""

    def provide(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    return Litestar(
        route_handlers=[ShopifyWebhookController],
        dependencies={
            "bus": provide(hub.bus),
            "shopify_webhooks": provide(ShopifyWebhooks(secret, MAX_AGE, hub.clock)),
        },
        middleware=[
            DefineMiddleware(
                ApiKeyAuthentication,
                authenticator=Authenticator(
                    InMemoryApiKeys(hub.clock),
                    Window("auth-failures", "20/minute", MemoryStorage()),
                ),
            )
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )


@dataclass
class Shopify:
    """Delivers webhooks the way Shopify does: signed raw body, topic and webhook id headers."""

    client: AsyncClient
    hub: Hub

    async def deliver(
        self,
        raw: bytes,
        webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        *,
        signature: str | None = None,
        **headers: str,
    ) -> Response:
        sent = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": "example-store.myshopify.com",
            "X-Shopify-API-Version": "2024-07",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": shopify_hmac(SECRET, raw) if signature is None else signature,
            **headers,
        }
        return await self.client.post(URL, content=raw, headers=sent)


async def _shopify(hub: Hub, secret: str | None) -> AsyncIterator[Shopify]:
    # httpx types the ASGI app more narrowly than Litestar's (equivalent) signature.
    transport = ASGITransport(app=webhook_app(hub, secret))  # type: ignore[arg-type]
    async with AsyncClient(transport=transport, base_url="http://orderhub.test") as client:
        yield Shopify(client, hub)


@pytest.fixture
async def shopify(hub: Hub) -> AsyncIterator[Shopify]:
    await hub.stock("IPOD2008PINK", "dc-east", 10)
    await hub.stock("CBL-USBC-1M", "dc-east", 10)
    async for built in _shopify(hub, SECRET):
        yield built


def problem_code(response: Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    code: str = response.json()["code"]
    return code


async def test_a_signed_delivery_places_the_order_and_reserves_its_stock(
    shopify: Shopify,
) -> None:
    response = await shopify.deliver(body(shopify_order()))
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "created"
    order = shopify.hub.order(UUID(answer["order_id"]))
    assert (order.channel, order.channel_order_ref, order.status) == (
        "shopify",
        "5612345678901",
        "reserved",
    )
    assert shopify.hub.level("IPOD2008PINK", "dc-east").reserved == 2
    assert shopify.hub.level("CBL-USBC-1M", "dc-east").reserved == 3
    placed = shopify.hub.events(order.id)[0]
    assert (placed.actor, placed.causation_id) == (
        "webhook:shopify",
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    )


async def test_a_delivery_whose_body_was_tampered_with_is_refused(shopify: Shopify) -> None:
    raw = body(shopify_order())
    tampered = raw.replace(b'"451.99"', b'"1.00"')
    response = await shopify.deliver(tampered, signature=shopify_hmac(SECRET, raw))
    assert response.status_code == 401
    assert problem_code(response) == "invalid_signature"
    assert shopify.hub.store.orders == {}


async def test_a_delivery_without_a_signature_is_refused(shopify: Shopify) -> None:
    response = await shopify.deliver(body(shopify_order()), signature="")
    assert response.status_code == 401
    assert problem_code(response) == "invalid_signature"
    assert shopify.hub.store.orders == {}


async def test_a_delivery_signed_with_another_secret_is_refused(shopify: Shopify) -> None:
    raw = body(shopify_order())
    response = await shopify.deliver(raw, signature=shopify_hmac("not-our-secret", raw))
    assert response.status_code == 401
    assert problem_code(response) == "invalid_signature"


async def test_without_a_configured_secret_every_delivery_is_refused(hub: Hub) -> None:
    async for unconfigured in _shopify(hub, None):
        response = await unconfigured.deliver(body(shopify_order()))
        assert response.status_code == 401
        assert problem_code(response) == "webhook_not_configured"
    assert hub.store.orders == {}


async def test_a_redelivery_with_the_same_webhook_id_changes_nothing(shopify: Shopify) -> None:
    raw = body(shopify_order())
    first = await shopify.deliver(raw)
    commits, events = shopify.hub.store.commits, len(shopify.hub.store.outbox)
    again = await shopify.deliver(raw)
    assert again.status_code == 200
    assert again.json() == {"order_id": None, "status": "duplicate"}
    assert len(shopify.hub.store.orders) == 1
    assert (shopify.hub.store.commits, len(shopify.hub.store.outbox)) == (commits, events)
    assert shopify.hub.level("IPOD2008PINK", "dc-east").reserved == 2
    assert first.json()["status"] == "created"


async def test_the_same_shopify_order_under_a_new_webhook_id_is_a_duplicate(
    shopify: Shopify,
) -> None:
    raw = body(shopify_order())
    first = (await shopify.deliver(raw, "first-delivery")).json()
    events = len(shopify.hub.store.outbox)
    response = await shopify.deliver(raw, "second-delivery")
    assert response.status_code == 200
    assert response.json() == {"order_id": first["order_id"], "status": "duplicate"}
    assert len(shopify.hub.store.orders) == 1
    assert len(shopify.hub.store.outbox) == events


async def test_an_untranslatable_order_is_refused_with_the_shopify_field_paths(
    shopify: Shopify,
) -> None:
    payload = shopify_order()
    payload["line_items"][2]["sku"] = None
    payload["line_items"][1]["price"] = "179.00"
    response = await shopify.deliver(body(payload))
    assert response.status_code == 422
    assert problem_code(response) == "validation_error"
    assert [e["field"] for e in response.json()["errors"]] == [
        "line_items[1].price",
        "line_items[2].sku",
    ]
    assert shopify.hub.store.orders == {}


async def test_a_refused_delivery_can_succeed_when_shopify_retries_it(shopify: Shopify) -> None:
    """A 422 records nothing under the webhook id, so a later retry is not mistaken for a
    duplicate (e.g. once the currency or SKU is fixed on our side)."""
    payload = shopify_order()
    payload["currency"] = "XYZ"
    refused = await shopify.deliver(body(payload), "retried-delivery")
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "currency", "message": "unknown currency 'XYZ'"}]
    retried = await shopify.deliver(body(shopify_order()), "retried-delivery")
    assert retried.json()["status"] == "created"


async def test_a_body_that_is_not_json_is_a_bad_request(shopify: Shopify) -> None:
    response = await shopify.deliver(b'{"id": 5612345678901, "line_items": [')
    assert response.status_code == 400
    assert problem_code(response) == "malformed_json"


async def test_a_json_body_that_is_not_an_object_is_refused(shopify: Shopify) -> None:
    response = await shopify.deliver(json.dumps([shopify_order()]).encode())
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "body", "message": "a Shopify order is a JSON object"}
    ]


async def test_another_topic_sent_here_is_refused(shopify: Shopify) -> None:
    raw = body(shopify_order())
    response = await shopify.deliver(raw, **{"X-Shopify-Topic": "orders/updated"})
    assert response.status_code == 422
    assert problem_code(response) == "unsupported_topic"
    assert shopify.hub.store.orders == {}


async def test_an_order_short_of_stock_is_placed_backordered(hub: Hub) -> None:
    async for shopify in _shopify(hub, SECRET):
        response = await shopify.deliver(body(shopify_order()))
        assert response.json()["status"] == "created"
        assert hub.order(UUID(response.json()["order_id"])).status == "backordered"


async def test_the_signature_is_checked_on_the_bytes_as_sent(shopify: Shopify) -> None:
    """Whitespace Shopify did not sign breaks the signature, even if the JSON means the same."""
    raw = body(shopify_order())
    response = await shopify.deliver(raw + b"\n", signature=shopify_hmac(SECRET, raw))
    assert response.status_code == 401


async def test_a_refused_delivery_is_logged_with_its_fields_but_not_the_customers_data(
    shopify: Shopify, caplog: pytest.LogCaptureFixture
) -> None:
    payload = shopify_order()
    payload["line_items"][2]["sku"] = None
    with caplog.at_level("WARNING", logger="orderhub.http.shopify"):
        await shopify.deliver(body(payload), "logged-delivery")
    (record,) = [r for r in caplog.records if r.name == "orderhub.http.shopify"]
    assert "5612345678901" in record.getMessage()
    assert "logged-delivery" in record.getMessage()
    assert "line_items[2].sku" in record.getMessage()
    assert "bob.norman" not in record.getMessage()


def triggered(shopify: Shopify, ago: timedelta) -> str:
    """`X-Shopify-Triggered-At` as Shopify writes it (nanoseconds, `Z`), `ago` before now."""
    moment = shopify.hub.clock.now() - ago
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


async def test_a_delivery_triggered_longer_ago_than_the_window_is_refused(
    shopify: Shopify,
) -> None:
    stale = triggered(shopify, MAX_AGE + timedelta(seconds=1))
    response = await shopify.deliver(body(shopify_order()), **{"X-Shopify-Triggered-At": stale})
    assert response.status_code == 422
    assert problem_code(response) == "webhook_too_old"
    assert shopify.hub.store.orders == {}


async def test_a_retry_inside_the_window_is_placed_and_deduplicated_by_its_webhook_id(
    shopify: Shopify,
) -> None:
    late = {"X-Shopify-Triggered-At": triggered(shopify, MAX_AGE - timedelta(seconds=1))}
    raw = body(shopify_order())
    assert (await shopify.deliver(raw, **late)).json()["status"] == "created"
    assert (await shopify.deliver(raw, **late)).json() == {"order_id": None, "status": "duplicate"}


async def test_a_delivery_with_an_unreadable_trigger_time_is_refused(shopify: Shopify) -> None:
    for unreadable in ("yesterday", "2024-05-14T09:03:00"):  # no zone: no moment at all
        headers = {"X-Shopify-Triggered-At": unreadable}
        response = await shopify.deliver(body(shopify_order()), **headers)
        assert response.status_code == 400
        assert problem_code(response) == "invalid_triggered_at"
    assert shopify.hub.store.orders == {}
