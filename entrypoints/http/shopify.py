"""Shopify commerce webhooks: a signed `orders/create` delivery becomes a place-order command."""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter

from adapters.shopify_orders import CHANNEL, ShopifyPayloadError, place_order_from_shopify
from adapters.shopify_signature import verify_shopify_hmac
from application.bus import DUPLICATE, MessageBus
from domain.errors import DuplicateOrder, FieldIssue, ValidationFailed
from entrypoints.http.auth import PUBLIC
from entrypoints.http.commands import correlation_id
from entrypoints.http.problems import ApiError
from ports.unit_of_work import CommandMeta

logger = logging.getLogger("orderhub.http.shopify")

#: The inbox consumer name under which delivered webhook ids are remembered.
INBOX: Final = "webhook:shopify"
#: How these commands appear on events and in logs.
ACTOR: Final = "webhook:shopify"
TOPIC: Final = "orders/create"

_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,200}")
#: Shopify sends money as strings; should a number slip in, it stays exact.
_JSON: Final = msgspec.json.Decoder(float_hook=Decimal)

Hmac = Annotated[str | None, HeaderParameter(name="X-Shopify-Hmac-Sha256", required=False)]
WebhookId = Annotated[str | None, HeaderParameter(name="X-Shopify-Webhook-Id", required=False)]
Topic = Annotated[str | None, HeaderParameter(name="X-Shopify-Topic", required=False)]


class ShopifyOrderResult(msgspec.Struct, kw_only=True):
    #: The hub's order; null when the delivery's webhook id was already processed.
    order_id: UUID | None
    status: str  #: "created" or "duplicate"


class ShopifyWebhookController(Controller):
    """No API key: Shopify signs each delivery with the shared secret instead."""

    path = "/v1/webhooks/shopify"
    tags = ["webhooks"]
    opt = {PUBLIC: True}

    @post("/orders-create", status_code=200, summary="Shopify orders/create webhook")
    async def orders_create(
        self,
        request: Request[Any, Any, Any],
        bus: NamedDependency[MessageBus],
        shopify_secret: NamedDependency[str | None],
        hmac_header: Hmac = None,
        webhook_id: WebhookId = None,
        topic: Topic = None,
    ) -> ShopifyOrderResult:
        """Place the order of a Shopify `orders/create` webhook. A redelivery (same webhook id)
        or another delivery of the same Shopify order answers 200 `duplicate` and changes
        nothing; an order short of stock is placed `backordered` (it is paid for already)."""
        raw = await request.body()  # the signature covers these exact bytes
        if not shopify_secret:
            raise ApiError(
                401, "webhook_not_configured", "SHOPIFY_WEBHOOK_SECRET is not set on this hub"
            )
        if not verify_shopify_hmac(shopify_secret, raw, hmac_header):
            raise ApiError(
                401, "invalid_signature", "X-Shopify-Hmac-Sha256 does not sign this body"
            )
        if topic is not None and topic != TOPIC:
            raise ApiError(
                422, "unsupported_topic", f"this endpoint takes {TOPIC} webhooks, not {topic!r}"
            )
        delivery = webhook_id if webhook_id and _WEBHOOK_ID.fullmatch(webhook_id) else None
        payload = _decode(raw)
        meta = CommandMeta(
            actor=ACTOR, correlation_id=correlation_id(request), causation_id=delivery
        )
        try:
            command = place_order_from_shopify(payload)
            result = await bus.handle(command, meta, once=(INBOX, delivery) if delivery else None)
        except DuplicateOrder as e:
            return ShopifyOrderResult(order_id=e.existing_id, status="duplicate")
        except ValidationFailed as e:
            # Shopify retries a 422 for hours: someone must see why (fields only, no customer data).
            logger.warning(
                "shopify order %s (webhook %s) refused: %s", payload.get("id"), delivery, e.detail
            )
            raise
        if result is DUPLICATE:
            return ShopifyOrderResult(order_id=None, status="duplicate")
        logger.info("%s order %s placed as %s", CHANNEL, payload.get("id"), result)
        return ShopifyOrderResult(order_id=result, status="created")


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        payload = _JSON.decode(raw)
    except msgspec.DecodeError as e:
        raise ApiError(400, "malformed_json", "the request body is not valid JSON") from e
    if not isinstance(payload, dict):
        raise ShopifyPayloadError([FieldIssue("body", "a Shopify order is a JSON object")])
    return payload
