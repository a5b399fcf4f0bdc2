"""The `WebhookSubscriptions` contract (all but replay, which needs the SQL outbox:
tests/integration/webhooks), on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from adapters.memory.webhook_subscriptions import InMemoryWebhookSubscriptions
from adapters.sql.webhook_subscriptions import SqlWebhookAudience
from ports.audience import Audience
from tests.factories import WebhookSubscriptionFactory
from tests.integration.backends import Backend, SqlBackend

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def test_a_subscription_reads_back_as_added_secret_included(backend: Backend) -> None:
    made = WebhookSubscriptionFactory(channel=None, event_types=frozenset({"OrderBooked"}))
    await backend.webhook_subscriptions.add(made)
    assert await backend.webhook_subscriptions.get(made.id) == made
    assert await backend.webhook_subscriptions.all() == [made]
    assert await backend.webhook_subscriptions.get(uuid.uuid4()) is None


async def test_unsent_are_the_enabled_subscriptions_of_the_type_and_channel_not_sent_yet(
    backend: Backend,
) -> None:
    store = backend.webhook_subscriptions
    web = WebhookSubscriptionFactory(channel="web", event_types=frozenset({"OrderBooked"}))
    every = WebhookSubscriptionFactory(channel=None, event_types=frozenset({"OrderBooked"}))
    pos = WebhookSubscriptionFactory(channel="pos", event_types=frozenset({"OrderBooked"}))
    other_type = WebhookSubscriptionFactory(channel="web", event_types=frozenset({"OrderHeld"}))
    for subscription in (web, every, pos, other_type):
        await store.add(subscription)
    event = uuid.uuid4()

    assert {x.id for x in await store.unsent(event, "OrderBooked", "web")} == {web.id, every.id}
    await store.sent(web.id, event, NOW)
    await store.sent(web.id, event, NOW)  # twice: harmless
    assert [x.id for x in await store.unsent(event, "OrderBooked", "web")] == [every.id]
    await store.disable(every.id, NOW, "410 Gone")
    assert await store.unsent(event, "OrderBooked", "web") == []
    assert {x.id for x in await store.unsent(event, "OrderBooked", None)} == set()
    disabled = await store.get(every.id)
    assert disabled is not None
    assert (disabled.disabled_at, disabled.disabled_reason) == (NOW, "410 Gone")


async def test_a_removed_subscription_is_gone_with_what_it_was_sent(backend: Backend) -> None:
    store = backend.webhook_subscriptions
    made = WebhookSubscriptionFactory()
    await store.add(made)
    event = uuid.uuid4()
    await store.sent(made.id, event, NOW)

    assert await store.remove(made.id) is True
    assert await store.remove(made.id) is False
    assert await store.all() == []
    await store.add(made)  # the same id again hears the event afresh
    assert [x.id for x in await store.unsent(event, "OrderBooked", "web")] == [made.id]


def audience_of(backend: Backend) -> Audience:
    if isinstance(backend, SqlBackend):
        return SqlWebhookAudience(backend.engine, "webhooks")
    assert isinstance(backend.webhook_subscriptions, InMemoryWebhookSubscriptions)
    return backend.webhook_subscriptions


async def test_the_webhooks_consumer_is_listened_to_while_a_subscription_is_enabled(
    backend: Backend,
) -> None:
    store, audience = backend.webhook_subscriptions, audience_of(backend)
    assert await audience.listening() == frozenset()
    first, second = WebhookSubscriptionFactory(), WebhookSubscriptionFactory()
    await store.add(first)
    await store.add(second)
    assert await audience.listening() == frozenset({"webhooks"})
    await store.disable(first.id, NOW, "410 Gone")
    assert await audience.listening() == frozenset({"webhooks"})
    await store.remove(second.id)
    assert await audience.listening() == frozenset()
