"""Webhook subscriptions (ops): create (the secret shown once), list, delete, replay from a feed
cursor (PRODUCT.md §8.5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta

from adapters.http.webhook_target import TargetRefused, check_target
from adapters.webhook_secrets import SecretBox
from application.webhooks import OFFERED, subscribe
from entrypoints.http.auth import roles
from entrypoints.http.events import feed_problem
from entrypoints.http.openapi import EXTRA_PROBLEMS
from entrypoints.http.problems import ApiError
from entrypoints.http.schemas import NO_NUL, Body
from ports.api_keys import Role
from ports.clock import Clock
from ports.ids import IdGenerator
from ports.webhooks import WebhookSubscription, WebhookSubscriptions
from read_models.event_feed import (
    CursorExpired,
    Feed,
    InvalidCursor,
    UnknownEventTypes,
    event_types,
)

EventType = Annotated[str, Meta(min_length=1, max_length=64, pattern=NO_NUL)]


class SubscriptionBody(Body):
    url: Annotated[str, Meta(min_length=1, max_length=2000, pattern=NO_NUL)]
    event_types: Annotated[list[EventType], Meta(min_length=1, max_length=100)]
    #: Only this channel's orders' events; absent: every event of the types (stock too).
    channel: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)] | None = None


class ReplayBody(Body):
    #: A cursor of GET /v1/events: the events after it are sent again.
    after: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]


class SubscriptionResource(msgspec.Struct, kw_only=True):
    id: UUID
    url: str
    event_types: list[str]
    channel: str | None
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class NewSubscriptionResource(SubscriptionResource, kw_only=True):
    #: The signing secret: shown in this answer only; store it with the receiver.
    secret: str


class SubscriptionPage(msgspec.Struct, kw_only=True):
    items: list[SubscriptionResource]
    next_cursor: str | None


class ReplayResult(msgspec.Struct, kw_only=True):
    replayed: int  #: events that will be sent to the subscription again


@dataclass(frozen=True, slots=True)
class Webhooks:
    """What the routes need, from the container."""

    store: WebhookSubscriptions
    box: SecretBox
    ids: IdGenerator
    clock: Clock
    feed: Feed
    allow_private: bool


def _fields(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "event_types": sorted(subscription.event_types),
        "channel": subscription.channel,
        "created_at": subscription.created_at,
        "disabled_at": subscription.disabled_at,
        "disabled_reason": subscription.disabled_reason,
    }


def _not_found(subscription_id: UUID) -> ApiError:
    return ApiError(
        404, "webhook_subscription_not_found", f"no webhook subscription {subscription_id}"
    )


class WebhookSubscriptionController(Controller):
    path = "/v1/webhook-subscriptions"
    tags = ["webhooks"]
    guards = [roles(Role.OPS)]

    @post("/", status_code=201)
    async def create_webhook_subscription(
        self, data: JSONBody[SubscriptionBody], webhooks: NamedDependency[Webhooks]
    ) -> NewSubscriptionResource:
        """Subscribe a URL to event types (of one channel's orders, when `channel` is given).
        The answer holds the signing `secret`, shown this once. The URL must be http(s); private,
        loopback and link-local targets are refused (422 `webhook_target_refused`) unless
        `WEBHOOK_ALLOW_PRIVATE=true`."""
        if not webhooks.box.configured:
            raise ApiError(
                503, "webhooks_not_configured",
                "WEBHOOK_SECRET_KEY is not set: subscriptions' secrets could not be stored",
            )  # fmt: skip
        try:
            types = event_types(data.event_types)
        except UnknownEventTypes as e:
            raise feed_problem(e) from None
        if internal := sorted(set(data.event_types) - OFFERED):
            raise ApiError(
                422, "event_types_not_offered",
                f"not offered to webhooks (the hub's notes on its integrations): "
                f"{', '.join(internal)}",
                errors=[{"field": "event_types", "message": f"not offered: {t}"} for t in internal],
            )  # fmt: skip
        try:
            await check_target(data.url, allow_private=webhooks.allow_private)
        except TargetRefused as e:
            raise ApiError(
                422, "webhook_target_refused", str(e),
                errors=[{"field": "url", "message": str(e)}],
            ) from None  # fmt: skip
        assert types is not None  # at least one type (the schema's min_length)
        made = await subscribe(
            webhooks.store, webhooks.ids, webhooks.clock,
            url=data.url, event_types=types, channel=data.channel,
        )  # fmt: skip
        return NewSubscriptionResource(**_fields(made), secret=made.secret)

    @get("/")
    async def list_webhook_subscriptions(
        self, webhooks: NamedDependency[Webhooks]
    ) -> SubscriptionPage:
        """Every subscription, oldest first, disabled ones too (a receiver that answered 410 is
        disabled, with the reason); never their secrets."""
        found = await webhooks.store.all()
        return SubscriptionPage(
            items=[SubscriptionResource(**_fields(x)) for x in found], next_cursor=None
        )

    @delete("/{subscription_id:uuid}", status_code=204)
    async def delete_webhook_subscription(
        self, subscription_id: FromPath[UUID], webhooks: NamedDependency[Webhooks]
    ) -> None:
        """Stop sending to the subscription and forget it."""
        if not await webhooks.store.remove(subscription_id):
            raise _not_found(subscription_id)

    @post("/{subscription_id:uuid}/replay", status_code=202, opt={EXTRA_PROBLEMS: (410,)})
    async def replay_webhook_subscription(
        self,
        subscription_id: FromPath[UUID],
        data: JSONBody[ReplayBody],
        webhooks: NamedDependency[Webhooks],
    ) -> Response[ReplayResult]:
        """Send the subscription again every event after the feed cursor `after` that it hears,
        in order per order, through the same delivery as live events (retries, dead letters).
        Other subscriptions get nothing again. 410 `cursor_expired` past the retention."""
        subscription = await webhooks.store.get(subscription_id)
        if subscription is None:
            raise _not_found(subscription_id)
        if subscription.disabled_at is not None:
            raise ApiError(
                409, "webhook_subscription_disabled",
                f"the subscription was disabled ({subscription.disabled_reason}); "
                "subscribe again",
            )  # fmt: skip
        try:
            cursor = webhooks.feed.cursor(data.after)
        except (InvalidCursor, CursorExpired) as e:
            raise feed_problem(e) from None
        replayed = await webhooks.store.replay(subscription, cursor.position, webhooks.clock.now())
        return Response(ReplayResult(replayed=replayed), status_code=202)
