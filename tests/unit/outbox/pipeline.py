"""Event delivery on the in-memory ports: the hub's write side, the relay with a recording
publisher, the delivery of a message to recording consumers and the projection, all on one
`InMemoryStore`, under a clock that moves only when a test moves it."""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, cast
from uuid import UUID

from adapters.memory.delivery_log import InMemoryDeadLetters, InMemoryDeliveryLog
from adapters.memory.outbox_store import InMemoryOutboxStore
from adapters.memory.relay_minutes import InMemoryRelayMinutes
from adapters.memory.store import DeliveryRecord, InMemoryStore
from adapters.memory.views import InMemoryViewReader, InMemoryViewStore
from adapters.message_codec import MsgspecCodec
from application.bus import MessageBus
from application.consumers import Consumer
from application.integration_trouble import TroubleReporter
from domain import commands as c
from outbox.dead_letters import DeadLetters
from outbox.delivery import Delivery, Observer, Result
from outbox.policy import DeliveryPolicy
from outbox.registry import ConsumerRegistry
from outbox.relay import Relay, RelaySettings
from ports.delivery_log import DeadLetter
from ports.inbound import InboundEvent
from ports.outbox import EventEnvelope, Message
from read_models.projector import ORDER_EVENTS, PROJECTION, OrderProjection
from read_models.queries import ReadModels
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.hub import Hub

#: The stock event the hub's own reactions hear of (besides every order event).
STOCK_SNAPSHOT = "StockSnapshotApplied"


class WorkerKilled(BaseException):
    """Raised by a consumer to stand for its worker dying mid-message: not an `Exception`, so
    `Delivery` neither finishes nor postpones the attempt, as a killed process would not."""


class RecordingConsumer:
    """A consumer that keeps every envelope it was handed and every one it handled, and fails
    with the exceptions it was told to, one per delivery, before it handles anything again."""

    name: ClassVar[str]
    subscribes: ClassVar[frozenset[str]]
    in_order: ClassVar[bool]

    def __init__(self) -> None:
        self.received: list[EventEnvelope] = []
        self.handled: list[EventEnvelope] = []
        self._failures: list[BaseException] = []
        self._failing_for_good: BaseException | None = None
        self._gate: asyncio.Event | None = None

    def block_until(self, gate: asyncio.Event) -> None:
        """The next delivery runs until `gate` is set before it handles anything."""
        self._gate = gate

    def fail_with(self, error: BaseException, times: int = 1) -> None:
        """The next `times` deliveries raise `error`."""
        self._failures += [error] * times

    def fail_until_fixed(self, error: BaseException) -> None:
        """Every delivery raises `error` until `fixed`."""
        self._failing_for_good = error

    def fixed(self) -> None:
        self._failures.clear()
        self._failing_for_good = None

    async def handle(self, envelope: EventEnvelope) -> None:
        self.received.append(envelope)
        if self._gate is not None:
            gate, self._gate = self._gate, None
            await gate.wait()
        if self._failures:
            raise self._failures.pop(0)
        if self._failing_for_good is not None:
            raise self._failing_for_good
        self.handled.append(envelope)

    def versions(self) -> list[int]:
        """The aggregate versions it handled, in the order it handled them."""
        return [e.aggregate_version for e in self.handled]


class InOrder(RecordingConsumer):
    """Like fulfilment: an aggregate's events in stream order."""

    name = "in_order"
    subscribes = ORDER_EVENTS
    in_order = True


class AsTheyCome(RecordingConsumer):
    """Like the hub's reactions: events as they come, stock events too."""

    name = "as_they_come"
    subscribes = ORDER_EVENTS | {STOCK_SNAPSHOT}
    in_order = False


#: Every consumer of the pipeline, in registration order (the relay publishes in this order).
CONSUMER_CLASSES = cast(tuple[type[Consumer], ...], (InOrder, AsTheyCome, OrderProjection))


class RecordingPublisher:
    """The broker as the relay sees it: keeps a copy of every (consumer, message) it was given,
    in order; while `down` is set it refuses every batch, as a broker that cannot be reached."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Message]] = []
        self.down: Exception | None = None

    def publish(self, outgoing: Sequence[tuple[str, Message]]) -> None:
        if self.down is not None:
            raise self.down
        self.sent += [(consumer, copy.deepcopy(message)) for consumer, message in outgoing]

    def to(self, consumer: str) -> list[Message]:
        return [m for name, m in self.sent if name == consumer]

    def take(self) -> list[tuple[str, Message]]:
        """What was sent since the last `take`, as a worker would pull it off the queues."""
        taken, self.sent = self.sent, []
        return taken


class RecordingDeferred:
    """The deferred inbound events (`ports.inbound.DeferredInbound`): what was deferred, by event
    id, with the error and when it is due."""

    def __init__(self) -> None:
        self.deferred: dict[str, tuple[InboundEvent, str, datetime]] = {}

    async def defer(self, event: InboundEvent, error: str, next_attempt_at: datetime) -> None:
        self.deferred[event.event_id] = (event, error, next_attempt_at)

    async def due(self, now: datetime, limit: int) -> list[InboundEvent]:
        return [e for e, _, at in self.deferred.values() if at <= now][:limit]

    async def postpone(self, event: InboundEvent, error: str, next_attempt_at: datetime) -> None:
        self.deferred[event.event_id] = (event, error, next_attempt_at)

    async def done(self, event: InboundEvent) -> None:
        self.deferred.pop(event.event_id, None)

    async def bury(self, event: InboundEvent, error: str, now: datetime) -> None:
        self.deferred.pop(event.event_id, None)


@dataclass
class Pipeline:
    """The write side, the relay and the worker's delivery on one in-memory store."""

    hub: Hub
    policy: DeliveryPolicy
    publisher: RecordingPublisher
    relay: Relay
    delivery: Delivery
    in_order: InOrder
    as_they_come: AsTheyCome
    projection: OrderProjection
    views: InMemoryViewStore
    read_models: ReadModels
    dead_letters: DeadLetters
    deferred: RecordingDeferred
    registry: ConsumerRegistry
    codec: MsgspecCodec = field(default_factory=MsgspecCodec)

    @property
    def store(self) -> InMemoryStore:
        return self.hub.store

    @property
    def now(self) -> datetime:
        return self.hub.clock.now()

    def advance(self, delta: timedelta) -> None:
        self.hub.clock.advance(delta)

    async def run(self, command: c.Command) -> Any:
        return await self.hub.run(command)

    async def place_order(self, sku: str = "MUG") -> UUID:
        """An order placed and reserved: OrderPlaced, then InventoryReserved."""
        order_id: UUID = await self.hub.run(
            PlaceOrderFactory(
                lines=(LineSpecFactory(sku=sku, quantity=1, unit_price=Decimal("9.00")),)
            )
        )
        return order_id

    async def relay_until_quiet(self) -> int:
        relayed = 0
        while taken := await self.relay.relay_once():
            relayed += taken
        return relayed

    async def deliver(self, consumer: str, message: Message) -> Result:
        return await self.delivery.deliver(consumer, message)

    def messages(self, order_id: UUID) -> list[Message]:
        """The order's events in stream order, as the outbox stores them."""
        return self.hub.messages(order_id)

    def record(self, message: Message, consumer: str) -> DeliveryRecord:
        """The delivery of `message` to `consumer`, as the relay recorded it."""
        return self.store.deliveries[(UUID(message["event_id"]), consumer)]

    def letters(self) -> list[DeadLetter]:
        return sorted(self.store.dead_letters.values(), key=lambda d: d.died_at)


def build_pipeline(
    policy: DeliveryPolicy | None = None,
    settings: RelaySettings | None = None,
    seed: int = 7,
    trouble_of: frozenset[str] = frozenset(),
    trouble_bus: MessageBus | None = None,
    observe: Observer | None = None,
    on_batch: Callable[[int], None] | None = None,
    on_republished: Callable[[int], None] | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> Pipeline:
    """`trouble_of`: the consumers whose integration trouble goes on the order's timeline,
    recorded through `trouble_bus` (the hub's own bus unless given). `observe`, `on_batch` and
    `on_republished` hear what the delivery and the relay tell the metrics."""
    hub = Hub()
    codec = MsgspecCodec()
    policy = policy or DeliveryPolicy()
    publisher = RecordingPublisher()
    registry = ConsumerRegistry(CONSUMER_CLASSES)
    views = InMemoryViewStore(hub.store, codec)
    projection = OrderProjection(views, hub.clock)
    in_order, as_they_come = InOrder(), AsTheyCome()
    consumers: dict[str, Consumer] = {
        in_order.name: in_order,
        as_they_come.name: as_they_come,
        PROJECTION: cast(Consumer, projection),
    }
    deferred = RecordingDeferred()
    return Pipeline(
        hub=hub,
        policy=policy,
        publisher=publisher,
        relay=Relay(
            InMemoryOutboxStore(hub.store, codec),
            publisher,
            registry,
            hub.clock,
            settings or RelaySettings(redelivery_timeout=policy.redelivery_timeout),
            minutes=InMemoryRelayMinutes(hub.store),
            on_batch=on_batch,
            on_republished=on_republished,
        ),
        delivery=Delivery(
            consumers,
            InMemoryDeliveryLog(hub.store),
            codec,
            hub.clock,
            policy,
            random.Random(seed),
            trouble=TroubleReporter(trouble_bus or hub.bus, trouble_of) if trouble_of else None,
            observe=observe,
            timer=timer,
        ),
        in_order=in_order,
        as_they_come=as_they_come,
        projection=projection,
        views=views,
        read_models=ReadModels(InMemoryViewReader(hub.store), projection),
        dead_letters=DeadLetters(InMemoryDeadLetters(hub.store), deferred, hub.clock),
        deferred=deferred,
        registry=registry,
        codec=codec,
    )
