"""Shopify commerce webhooks: signed `orders/create`, `orders/cancelled` and `refunds/create`
deliveries become the hub's place-order, follow-cancellation and record-refund commands."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Final
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter

from adapters.shopify_lifecycle import cancellation_from_shopify, refund_from_shopify
from adapters.shopify_orders import CHANNEL, ShopifyPayloadError, place_order_from_shopify
from adapters.shopify_signature import verify_shopify_hmac
from application.bus import DUPLICATE, MessageBus
from domain.commands import Command
from domain.errors import (
    ChannelOrderNotFound,
    CurrencyMismatch,
    DuplicateOrder,
    FieldIssue,
    RefundExceedsCaptured,
    ValidationFailed,
)
from entrypoints.http.auth import PUBLIC
from entrypoints.http.commands import correlation_id
from entrypoints.http.openapi import EXTRA_PROBLEMS
from entrypoints.http.problems import ApiError
from ports.clock import Clock
from ports.unit_of_work import CommandMeta

logger = logging.getLogger("orderhub.http.shopify")

#: The inbox consumer name under which delivered webhook ids are remembered.
INBOX: Final = "webhook:shopify"
#: How these commands appear on events and in logs.
ACTOR: Final = "webhook:shopify"
TOPIC: Final = "orders/create"
CANCELLED_TOPIC: Final = "orders/cancelled"
REFUND_TOPIC: Final = "refunds/create"

_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,200}")
#: Shopify sends money as strings; should a number slip in, it stays exact.
_JSON: Final = msgspec.json.Decoder(float_hook=Decimal)

Hmac = Annotated[str | None, HeaderParameter(name="X-Shopify-Hmac-Sha256", required=False)]
WebhookId = Annotated[str | None, HeaderParameter(name="X-Shopify-Webhook-Id", required=False)]
Topic = Annotated[str | None, HeaderParameter(name="X-Shopify-Topic", required=False)]
TriggeredAt = Annotated[str | None, HeaderParameter(name="X-Shopify-Triggered-At", required=False)]


@dataclass(frozen=True, slots=True)
class ShopifyWebhooks:
    """What a delivery must satisfy: signed with `secret`, and triggered at most `max_age` ago
    by `clock` when it says when (`X-Shopify-Triggered-At`)."""

    secret: str | None = field(repr=False)
    max_age: timedelta
    clock: Clock


class ShopifyOrderResult(msgspec.Struct, kw_only=True):
    #: The hub's order; null when the delivery's webhook id was already processed.
    order_id: UUID | None
    status: str  #: "created" or "duplicate"


class ShopifyCancellationResult(msgspec.Struct, kw_only=True):
    #: The hub's order; null for a redelivery or an order the hub does not know.
    order_id: UUID | None
    #: "cancelled", "already_cancelled", "cancel_requested_after_shipment", "duplicate" or
    #: "unknown_order".
    status: str


class ShopifyRefundResult(msgspec.Struct, kw_only=True):
    #: The hub's order; null for a redelivery, an unknown order, or a refund without money.
    order_id: UUID | None
    #: "recorded", "duplicate" (this delivery, or this refund id, was recorded already),
    #: "unknown_order" or "nothing_to_record" (no successful refund transaction).
    status: str


class ShopifyWebhookController(Controller):
    """No API key: Shopify signs each delivery with the shared secret instead."""

    path = "/v1/webhooks/shopify"
    tags = ["webhooks"]
    #: The raw body is read and verified by hand: its refusals are not implied by a `data` body.
    opt = {PUBLIC: True, EXTRA_PROBLEMS: (400, 401, 413, 422, 503)}

    @post("/orders-create", status_code=200, summary="Shopify orders/create webhook")
    async def receive_shopify_order_created(
        self,
        request: Request[Any, Any, Any],
        bus: NamedDependency[MessageBus],
        shopify_webhooks: NamedDependency[ShopifyWebhooks],
        hmac_header: Hmac = None,
        webhook_id: WebhookId = None,
        topic: Topic = None,
        triggered_at: TriggeredAt = None,
    ) -> ShopifyOrderResult:
        """Place the order of a Shopify `orders/create` webhook. A redelivery (same webhook id)
        or another delivery of the same Shopify order answers 200 `duplicate` and changes
        nothing; an order short of stock is placed `backordered` (it is paid for already)."""
        payload, delivery = await _received(
            request, shopify_webhooks, TOPIC, hmac_header, webhook_id, topic, triggered_at
        )
        try:
            command = place_order_from_shopify(payload)
            result = await _handle(bus, request, command, delivery)
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

    @post("/orders-cancelled", status_code=200, summary="Shopify orders/cancelled webhook")
    async def receive_shopify_order_cancelled(
        self,
        request: Request[Any, Any, Any],
        bus: NamedDependency[MessageBus],
        shopify_webhooks: NamedDependency[ShopifyWebhooks],
        hmac_header: Hmac = None,
        webhook_id: WebhookId = None,
        topic: Topic = None,
        triggered_at: TriggeredAt = None,
    ) -> ShopifyCancellationResult:
        """Cancel the hub's order of a Shopify `orders/cancelled` webhook. After the first
        shipment the order cannot be cancelled: the answer is still 200 (the shop has cancelled
        already, and a refusal would only be retried), the timeline says so and the order shows
        in `GET /v1/ops/stuck` as `cancel_requested_after_shipment`. An order the hub does not
        know answers 200 `unknown_order`."""
        payload, delivery = await _received(
            request, shopify_webhooks, CANCELLED_TOPIC, hmac_header, webhook_id, topic, triggered_at
        )
        try:
            command = cancellation_from_shopify(payload)
            result = await _handle(bus, request, command, delivery)
        except ChannelOrderNotFound:
            logger.warning(
                "shopify cancelled order %s (webhook %s), unknown here", payload.get("id"), delivery
            )
            return ShopifyCancellationResult(order_id=None, status="unknown_order")
        except ValidationFailed as e:
            logger.warning(
                "shopify cancellation of %s (webhook %s) refused: %s",
                payload.get("id"), delivery, e.detail,
            )  # fmt: skip
            raise
        if result is DUPLICATE:
            return ShopifyCancellationResult(order_id=None, status="duplicate")
        order_id, outcome = result
        if outcome == "cancel_requested_after_shipment":
            logger.warning(
                "shopify cancelled order %s (%s) after it shipped: an agent must settle it",
                payload.get("id"), order_id,
            )  # fmt: skip
        return ShopifyCancellationResult(order_id=order_id, status=str(outcome))

    @post("/refunds-create", status_code=200, summary="Shopify refunds/create webhook")
    async def receive_shopify_refund_created(
        self,
        request: Request[Any, Any, Any],
        bus: NamedDependency[MessageBus],
        shopify_webhooks: NamedDependency[ShopifyWebhooks],
        hmac_header: Hmac = None,
        webhook_id: WebhookId = None,
        topic: Topic = None,
        triggered_at: TriggeredAt = None,
    ) -> ShopifyRefundResult:
        """Record a refund the shop already made: the payment's `refunded` grows by its
        successful refund transactions; no provider is asked to pay it again. The same refund id
        is recorded once, whatever the webhook id. A refund beyond what was captured is 422
        `refund_exceeds_captured` (logged; someone must look)."""
        payload, delivery = await _received(
            request, shopify_webhooks, REFUND_TOPIC, hmac_header, webhook_id, topic, triggered_at
        )
        where = (payload.get("order_id"), payload.get("id"), delivery)
        try:
            command = refund_from_shopify(payload)
            if command is None:
                return ShopifyRefundResult(order_id=None, status="nothing_to_record")
            result = await _handle(bus, request, command, delivery)
        except ChannelOrderNotFound:
            logger.warning(
                "shopify refund of order %s (refund %s, webhook %s), unknown here", *where
            )
            return ShopifyRefundResult(order_id=None, status="unknown_order")
        except (ValidationFailed, CurrencyMismatch, RefundExceedsCaptured) as e:
            logger.warning("shopify refund of order %s (refund %s, webhook %s) refused: %s",
                           *where, e.detail)  # fmt: skip
            if isinstance(e, RefundExceedsCaptured):  # a conflict elsewhere; here nothing to retry
                raise ApiError(422, e.code, e.detail) from e
            raise
        if result is DUPLICATE:
            return ShopifyRefundResult(order_id=None, status="duplicate")
        order_id, recorded = result
        return ShopifyRefundResult(
            order_id=order_id, status="recorded" if recorded else "duplicate"
        )


async def _received(
    request: Request[Any, Any, Any],
    webhooks: ShopifyWebhooks,
    expected: str,
    hmac_header: str | None,
    webhook_id: str | None,
    topic: str | None,
    triggered_at: str | None,
) -> tuple[dict[str, Any], str | None]:
    """A delivery of the `expected` topic, trusted: signed (over the exact bytes received), of
    that topic, recent enough; answers its payload and its webhook id."""
    raw = await request.body()
    _verify(raw, webhooks.secret, hmac_header, topic, expected)
    delivery = _delivery(webhook_id)
    _ensure_fresh(webhooks, triggered_at, delivery, expected)
    return _decode(raw), delivery


def _verify(
    raw: bytes, secret: str | None, hmac_header: str | None, topic: str | None, expected: str
) -> None:
    """Refuse a delivery this hub cannot trust, or one of another topic, before decoding it."""
    if not secret:
        raise ApiError(
            401, "webhook_not_configured", "SHOPIFY_WEBHOOK_SECRET is not set on this hub"
        )
    if not verify_shopify_hmac(secret, raw, hmac_header):
        raise ApiError(401, "invalid_signature", "X-Shopify-Hmac-Sha256 does not sign this body")
    if topic is not None and topic != expected:
        raise ApiError(
            422, "unsupported_topic", f"this endpoint takes {expected} webhooks, not {topic!r}"
        )


def _ensure_fresh(
    webhooks: ShopifyWebhooks, triggered_at: str | None, delivery: str | None, topic: str
) -> None:
    """Refuse a delivery Shopify triggered longer than `max_age` ago. (The header is not signed:
    this bounds stale retries and replayed whole requests; a replayed body is stopped by the
    webhook id, the order reference and the refund id.) A delivery without the header passes."""
    if triggered_at is None:
        return
    try:
        moment = datetime.fromisoformat(triggered_at.strip())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(
            400,
            "invalid_triggered_at",
            "X-Shopify-Triggered-At is not an ISO 8601 time with a zone",
        )
    age = webhooks.clock.now() - moment
    if age > webhooks.max_age:
        logger.warning(
            "shopify %s (webhook %s) refused: triggered at %s, %ss ago, past the %ss window",
            topic, delivery, moment.isoformat(), int(age.total_seconds()),
            int(webhooks.max_age.total_seconds()),
        )  # fmt: skip
        raise ApiError(
            422,
            "webhook_too_old",
            f"this delivery was triggered {int(age.total_seconds())}s ago; this hub takes "
            f"deliveries up to {int(webhooks.max_age.total_seconds())}s old",
        )


def _delivery(webhook_id: str | None) -> str | None:
    return webhook_id if webhook_id and _WEBHOOK_ID.fullmatch(webhook_id) else None


async def _handle(
    bus: MessageBus, request: Request[Any, Any, Any], command: Command, delivery: str | None
) -> Any:
    """Run the command at most once per webhook id (remembered in the inbox with its changes)."""
    meta = CommandMeta(actor=ACTOR, correlation_id=correlation_id(request), causation_id=delivery)
    return await bus.handle(command, meta, once=(INBOX, delivery) if delivery else None)


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        payload = _JSON.decode(raw)
    except msgspec.DecodeError as e:
        raise ApiError(400, "malformed_json", "the request body is not valid JSON") from e
    if not isinstance(payload, dict):
        raise ShopifyPayloadError([FieldIssue("body", "a Shopify order is a JSON object")])
    return payload
