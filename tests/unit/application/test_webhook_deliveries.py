"""The webhook consumer on in-memory fakes: who is sent what, once; refusals, outages, 410."""

from __future__ import annotations

from uuid import UUID

import pytest

from adapters.memory.order_lookup import InMemoryOrderLookup
from adapters.memory.webhook_subscriptions import InMemoryWebhookSubscriptions
from application.webhooks import WebhookDeliveries, subscribe
from ports.outbox import EventEnvelope
from ports.remote import RemoteRejected, RemoteUnavailable
from ports.webhooks import SubscriptionGone, WebhookSubscription
from tests.factories import LineSpecFactory, PlaceOrderFactory, WebhookSubscriptionFactory
from tests.hub import Hub


class Receivers:
    """A `WebhookSender` whose receivers answer as told: what each acknowledged, in order."""

    def __init__(self) -> None:
        self.received: list[tuple[UUID, UUID]] = []  # (subscription, event)
        self.answers: dict[UUID, Exception] = {}

    async def send(self, subscription: WebhookSubscription, envelope: EventEnvelope) -> None:
        if (error := self.answers.get(subscription.id)) is not None:
            raise error
        self.received.append((subscription.id, envelope.event_id))


class World:
    def __init__(self) -> None:
        self.hub = Hub()
        self.store = InMemoryWebhookSubscriptions()
        self.receivers = Receivers()
        self.consumer = WebhookDeliveries(
            self.store, self.receivers, InMemoryOrderLookup(self.hub.store), self.hub.clock
        )

    async def subscribe(self, **fields: object) -> WebhookSubscription:
        subscription = WebhookSubscriptionFactory(**fields)
        await self.store.add(subscription)
        return subscription

    async def place(self, channel: str) -> list[EventEnvelope]:
        """Place an order of `channel`; its events."""
        before = len(self.hub.store.outbox)
        await self.hub.stock("SKU-1", "dc-east", 100)
        line = LineSpecFactory(sku="SKU-1")
        await self.hub.run(PlaceOrderFactory(channel=channel, lines=(line,)))
        return [e for e in self.hub.store.outbox[before:] if e.aggregate_type == "order"]

    async def deliver(self, events: list[EventEnvelope]) -> None:
        for envelope in events:
            await self.consumer.handle(envelope)


@pytest.fixture
def world() -> World:
    return World()


async def test_each_event_goes_to_the_subscriptions_of_its_type_and_channel(world: World) -> None:
    web = await world.subscribe(channel="web", event_types=frozenset({"OrderPlaced"}))
    every = await world.subscribe(channel=None, event_types=frozenset({"OrderPlaced"}))
    await world.subscribe(channel="pos")

    web_events = await world.place("web")
    await world.deliver(web_events)

    placed = next(e for e in web_events if e.event_type == "OrderPlaced")
    assert sorted(world.receivers.received) == sorted(
        [(web.id, placed.event_id), (every.id, placed.event_id)]
    )


async def test_stock_events_go_only_to_subscriptions_of_no_channel(world: World) -> None:
    every = await world.subscribe(channel=None, event_types=frozenset({"StockSnapshotApplied"}))
    await world.subscribe(channel="web", event_types=frozenset({"StockSnapshotApplied"}))
    await world.hub.stock("SKU-9", "dc-east", 5)
    snapshot = world.hub.store.outbox[-1]

    await world.consumer.handle(snapshot)

    assert world.receivers.received == [(every.id, snapshot.event_id)]


async def test_a_retry_after_one_subscriber_was_away_sends_nothing_twice(world: World) -> None:
    up = await world.subscribe()
    down = await world.subscribe()
    world.receivers.answers[down.id] = RemoteUnavailable("503", remote="webhook")
    placed = (await world.place("web"))[0]

    with pytest.raises(RemoteUnavailable):
        await world.consumer.handle(placed)
    del world.receivers.answers[down.id]
    await world.consumer.handle(placed)  # the delivery, retried
    await world.consumer.handle(placed)  # and a duplicate of it

    assert world.receivers.received == [(up.id, placed.event_id), (down.id, placed.event_id)]


async def test_a_refusal_fails_the_delivery_only_once_nobody_is_merely_away(world: World) -> None:
    refusing = await world.subscribe()
    away = await world.subscribe()
    world.receivers.answers[refusing.id] = RemoteRejected("400", remote="webhook")
    world.receivers.answers[away.id] = RemoteUnavailable("timeout", remote="webhook")
    placed = (await world.place("web"))[0]

    with pytest.raises(RemoteUnavailable):  # retried: the one away may come back
        await world.consumer.handle(placed)
    del world.receivers.answers[away.id]
    with pytest.raises(RemoteRejected):  # now only the refusal is left: a dead letter
        await world.consumer.handle(placed)
    assert world.receivers.received == [(away.id, placed.event_id)]


async def test_a_receiver_answering_410_is_disabled_and_hears_nothing_more(world: World) -> None:
    gone = await world.subscribe()
    staying = await world.subscribe()
    world.receivers.answers[gone.id] = SubscriptionGone("410 Gone", remote="webhook")
    first, second = (await world.place("web"))[:2]

    await world.consumer.handle(first)  # no error: nothing to retry
    del world.receivers.answers[gone.id]
    await world.consumer.handle(second)

    disabled = await world.store.get(gone.id)
    assert disabled is not None
    assert disabled.disabled_at == world.hub.clock.now()
    assert disabled.disabled_reason == "410 Gone"
    assert world.receivers.received == [
        (staying.id, first.event_id), (staying.id, second.event_id)
    ]  # fmt: skip


async def test_a_new_subscription_has_a_fresh_secret_never_shown_in_its_repr(world: World) -> None:
    made = await subscribe(
        world.store, world.hub.ids, world.hub.clock,
        url="https://example.com/hooks", event_types={"OrderPlaced"}, channel="pos",
    )  # fmt: skip
    again = await subscribe(
        world.store, world.hub.ids, world.hub.clock,
        url="https://example.com/hooks", event_types={"OrderPlaced"}, channel="pos",
    )  # fmt: skip

    assert len(made.secret) == 64
    assert made.secret != again.secret
    assert made.secret not in repr(made)
    assert await world.store.get(made.id) == made
