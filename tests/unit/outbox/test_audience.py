"""A consumer that hears events only for someone (`on_demand`, the webhooks consumer) is sent
none while nobody listens: no delivery recorded, no message; once someone listens, it is sent
every event relayed from then on."""

from __future__ import annotations

from typing import ClassVar

from adapters.memory.outbox_store import InMemoryOutboxStore
from adapters.memory.webhook_subscriptions import InMemoryWebhookSubscriptions
from application.consumers import Consumer
from outbox.registry import ConsumerRegistry
from outbox.relay import Relay, RelaySettings
from ports.outbox import EventEnvelope
from read_models.projector import ORDER_EVENTS
from tests.factories import WebhookSubscriptionFactory
from tests.unit.outbox.pipeline import InOrder, RecordingPublisher, build_pipeline


class ForSomeone:
    name: ClassVar[str] = "webhooks"
    subscribes: ClassVar[frozenset[str]] = ORDER_EVENTS
    in_order: ClassVar[bool] = True
    on_demand: ClassVar[bool] = True

    async def handle(self, envelope: EventEnvelope) -> None: ...


async def test_nobody_listening_means_no_delivery_and_no_message_then_every_later_event() -> None:
    pipeline = build_pipeline()
    subscriptions = InMemoryWebhookSubscriptions()
    publisher = RecordingPublisher()
    consumers: tuple[type[Consumer], ...] = (InOrder, ForSomeone)
    relay = Relay(
        InMemoryOutboxStore(pipeline.store, pipeline.codec), publisher,
        ConsumerRegistry(consumers), pipeline.hub.clock, RelaySettings(),
        audience=subscriptions,
    )  # fmt: skip
    await pipeline.hub.stock("MUG", "dc-east", 10)
    before = await pipeline.place_order()

    await relay.relay_once()

    assert publisher.to("webhooks") == []
    assert {consumer for _, consumer in pipeline.store.deliveries} == {"in_order"}
    assert len(publisher.to("in_order")) == 2
    await subscriptions.add(WebhookSubscriptionFactory())
    after = await pipeline.place_order()
    await relay.relay_once()
    assert [m["aggregate_id"] for m in publisher.to("webhooks")] == [str(after)] * 2
    assert str(before) not in {m["aggregate_id"] for m in publisher.to("webhooks")}
