"""Outbound webhooks (PRODUCT.md §8.5): subscribing, and the consumer that POSTs each event to
every subscription that hears it, with the guarantees of every outbox consumer."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection
from uuid import UUID

from application.consumers import NotYet
from domain.events import EVENT_TYPES, IntegrationEvent
from ports.clock import Clock
from ports.ids import IdGenerator
from ports.order_lookup import OrderLookup
from ports.outbox import EventEnvelope
from ports.remote import RemoteRejected, RemoteUnavailable
from ports.webhooks import (
    SubscriptionGone,
    WebhookSender,
    WebhookSubscription,
    WebhookSubscriptions,
)

logger = logging.getLogger(__name__)

#: The event types a subscription may ask for: every domain event but the hub's own notes on
#: its integrations' trouble (they exist for the agents' timeline, PRODUCT.md §8.3; a webhook
#: about a failing webhook would also loop).
OFFERED: frozenset[str] = frozenset(
    name for name, cls in EVENT_TYPES.items() if not issubclass(cls, IntegrationEvent)
)
#: How many random bytes a signing secret has (64 hex digits).
SECRET_BYTES = 32
_ORDER = "order"


async def subscribe(
    store: WebhookSubscriptions,
    ids: IdGenerator,
    clock: Clock,
    *,
    url: str,
    event_types: Collection[str],
    channel: str | None,
) -> WebhookSubscription:
    """A new subscription with a fresh secret (the caller shows it once). The URL has passed the
    SSRF guard already; `event_types` are known types."""
    subscription = WebhookSubscription(
        id=ids.new_id(),
        url=url,
        event_types=frozenset(event_types),
        channel=channel,
        created_at=clock.now(),
        secret=secrets.token_hex(SECRET_BYTES),
    )
    await store.add(subscription)
    return subscription


class WebhookDeliveries:
    """Hears every event; sends it to each enabled subscription of its type (and channel) that
    has not acknowledged it yet. A subscription that acknowledged is recorded at once, so when
    another fails and the delivery is retried, nothing is sent twice. A 410 disables the
    subscription for good. In order per order: an order's next event waits until this one has
    reached every subscriber (or was given up), so a subscriber that is away holds back the
    order's later events for every subscriber until it returns or the horizon passes."""

    name = "webhooks"
    subscribes = OFFERED
    in_order = True
    #: Sent events only while a subscription is enabled (`ports.audience`): a hub nobody
    #: subscribes to pays no delivery per event for it.
    on_demand = True

    def __init__(
        self,
        subscriptions: WebhookSubscriptions,
        sender: WebhookSender,
        lookup: OrderLookup,
        clock: Clock,
    ) -> None:
        self._subscriptions = subscriptions
        self._sender = sender
        self._lookup = lookup
        self._clock = clock

    async def handle(self, envelope: EventEnvelope) -> None:
        channel = await self._channel(envelope)
        waiting = await self._subscriptions.unsent(envelope.event_id, envelope.event_type, channel)
        failures: list[Exception] = []
        for subscription in waiting:
            try:
                await self._sender.send(subscription, envelope)
            except SubscriptionGone as e:
                await self._subscriptions.disable(subscription.id, self._clock.now(), str(e))
                logger.warning("webhook subscription %s disabled: %s", subscription.id, e)
                continue
            except (RemoteUnavailable, RemoteRejected) as e:
                failures.append(e)
                continue
            await self._subscriptions.sent(subscription.id, envelope.event_id, self._clock.now())
        # Retry later while any subscriber was away; give up (a dead letter, replayable) only
        # when every failure was a refusal.
        for failure in failures:
            if isinstance(failure, RemoteUnavailable):
                raise failure
        if failures:
            raise failures[0]

    async def _channel(self, envelope: EventEnvelope) -> str | None:
        if envelope.aggregate_type != _ORDER:
            return None
        channel = await self._lookup.channel_of_order(UUID(envelope.aggregate_id))
        if channel is None:  # read before its order committed? (never expected): try later
            raise NotYet(f"order {envelope.aggregate_id} not found")
        return channel
