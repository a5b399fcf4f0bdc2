"""Webhook subscriptions and their sends in memory (unit tests of the webhook consumer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from ports.event_feed import FeedPosition
from ports.webhooks import WebhookSubscription


class InMemoryWebhookSubscriptions:
    def __init__(self, consumer: str = "webhooks") -> None:
        self._consumer = consumer
        self.subscriptions: dict[UUID, WebhookSubscription] = {}
        #: (subscription id, event id) → when the subscriber acknowledged it
        self.sends: dict[tuple[UUID, UUID], datetime] = {}

    async def add(self, subscription: WebhookSubscription) -> None:
        self.subscriptions[subscription.id] = subscription

    async def all(self) -> Sequence[WebhookSubscription]:
        return sorted(self.subscriptions.values(), key=lambda x: (x.created_at, x.id))

    async def get(self, subscription_id: UUID) -> WebhookSubscription | None:
        return self.subscriptions.get(subscription_id)

    async def remove(self, subscription_id: UUID) -> bool:
        self.sends = {k: v for k, v in self.sends.items() if k[0] != subscription_id}
        return self.subscriptions.pop(subscription_id, None) is not None

    async def listening(self) -> frozenset[str]:
        enabled = any(x.disabled_at is None for x in self.subscriptions.values())
        return frozenset({self._consumer}) if enabled else frozenset()

    async def unsent(
        self, event_id: UUID, event_type: str, channel: str | None
    ) -> Sequence[WebhookSubscription]:
        return [
            x
            for x in await self.all()
            if x.hears(event_type, channel) and (x.id, event_id) not in self.sends
        ]

    async def sent(self, subscription_id: UUID, event_id: UUID, now: datetime) -> None:
        self.sends.setdefault((subscription_id, event_id), now)

    async def disable(self, subscription_id: UUID, now: datetime, reason: str) -> None:
        found = self.subscriptions.get(subscription_id)
        if found is not None and found.disabled_at is None:
            self.subscriptions[subscription_id] = replace(
                found, disabled_at=now, disabled_reason=reason
            )

    async def replay(
        self, subscription: WebhookSubscription, after: FeedPosition, now: datetime
    ) -> int:
        """Needs the outbox's positions and delivery records: the SQL store's only (its test is
        tests/integration/webhooks)."""
        raise NotImplementedError("replay is the SQL store's (tests/integration/webhooks)")
