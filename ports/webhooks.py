"""Outbound webhooks (PRODUCT.md §8.5): subscriptions, what each was sent, and the port that
POSTs an event to a subscriber."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from ports.event_feed import FeedPosition
from ports.outbox import EventEnvelope
from ports.remote import RemoteRejected


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSubscription:
    id: UUID
    url: str
    #: The event types it hears (`EventEnvelope.event_type`).
    event_types: frozenset[str]
    #: Only events of this channel's orders; None: every event of its types (stock too).
    channel: str | None
    created_at: datetime
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    #: The signing secret, in clear (stored encrypted); never in a repr, a log or a listing.
    secret: str = field(repr=False)

    def hears(self, event_type: str, channel: str | None) -> bool:
        """Whether an event of `event_type` about an order of `channel` is sent to it."""
        if self.disabled_at is not None or event_type not in self.event_types:
            return False
        return self.channel is None or self.channel == channel


class SubscriptionGone(RemoteRejected):
    """Raised when a subscriber answered 410 Gone: it wants nothing more, ever."""


class WebhookSender(Protocol):
    async def send(self, subscription: WebhookSubscription, envelope: EventEnvelope) -> None:
        """POST the envelope, signed with the subscription's secret, once. Raises
        `SubscriptionGone` (410), `RemoteRejected` (any other refusal, or a target the SSRF guard
        refuses), `RemoteUnavailable` (no answer, 408/425/429, 5xx): later may work."""
        ...


class WebhookSubscriptions(Protocol):
    async def add(self, subscription: WebhookSubscription) -> None: ...

    async def all(self) -> Sequence[WebhookSubscription]:
        """Every subscription, disabled ones too, oldest first."""
        ...

    async def get(self, subscription_id: UUID) -> WebhookSubscription | None: ...

    async def remove(self, subscription_id: UUID) -> bool:
        """Delete it (and what it was sent); False when there was none."""
        ...

    async def unsent(
        self, event_id: UUID, event_type: str, channel: str | None
    ) -> Sequence[WebhookSubscription]:
        """The enabled subscriptions that hear this event and were not sent it yet."""
        ...

    async def sent(self, subscription_id: UUID, event_id: UUID, now: datetime) -> None:
        """Record that the subscriber acknowledged the event (so a retry skips it)."""
        ...

    async def disable(self, subscription_id: UUID, now: datetime, reason: str) -> None: ...

    async def replay(
        self, subscription: WebhookSubscription, after: FeedPosition, now: datetime
    ) -> int:
        """Forget that the subscription was sent the events after `after` that it hears, so that
        they are delivered to it again, in feed order per order, through the outbox's delivery;
        answers how many."""
        ...
