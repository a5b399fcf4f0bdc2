"""One API over the three stores (in-memory fakes, SQLite, PostgreSQL): the write side, and every
port the relay, the delivery bookkeeping and the read side use, so that one contract suite keeps
the fakes honest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.ids import RandomIds
from adapters.memory.circuit_board import InMemoryCircuitBoard
from adapters.memory.delivery_log import InMemoryDeadLetters, InMemoryDeliveryLog
from adapters.memory.operations_reader import InMemoryOperationsReader
from adapters.memory.order_lookup import InMemoryOrderLookup
from adapters.memory.outbox_store import InMemoryOutboxStore
from adapters.memory.relay_minutes import InMemoryRelayMinutes
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.views import InMemoryViewReader, InMemoryViewStore
from adapters.memory.webhook_subscriptions import InMemoryWebhookSubscriptions
from adapters.message_codec import MsgspecCodec
from adapters.sql.circuit_board import SqlCircuitBoard
from adapters.sql.delivery_log import SqlDeadLetters, SqlDeliveryLog
from adapters.sql.operations_reader import SqlOperationsReader
from adapters.sql.order_lookup import SqlOrderLookup
from adapters.sql.outbox_store import SqlOutboxStore
from adapters.sql.relay_minutes import SqlRelayMinutes
from adapters.sql.schema import outbox, stock_levels
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.sql.view_reader import SqlViewReader
from adapters.sql.view_store import SqlViewStore
from adapters.sql.webhook_subscriptions import SqlWebhookSubscriptions
from adapters.webhook_secrets import SecretBox
from application.bus import MessageBus
from application.context import HandlerContext
from application.settings import HubSettings
from domain import commands as c
from domain.allocation import LocationPriority
from domain.inventory import StockKey
from domain.order import Order
from ports.circuits import CircuitBoard
from ports.clock import Clock
from ports.delivery_log import DeadLetterStore, DeliveryLog
from ports.ids import IdGenerator
from ports.operations import OperationsReader
from ports.order_lookup import OrderLookup
from ports.outbox import EventEnvelope, OutboxStore
from ports.relay_minutes import RelayMinutes
from ports.unit_of_work import CommandMeta, UnitOfWorkFactory
from ports.views import ViewReader, ViewStore
from ports.webhooks import WebhookSubscriptions

META = CommandMeta(actor="key:test", correlation_id="corr-1")


@dataclass(frozen=True)
class Row:
    event_type: str
    aggregate_id: str
    aggregate_version: int
    correlation_id: str
    actor: str


class Backend:
    """The write side on a store; `MemoryBackend` and `SqlBackend` add the store's other ports."""

    name: str
    outbox_store: OutboxStore
    delivery_log: DeliveryLog
    dead_letters: DeadLetterStore
    view_store: ViewStore
    view_reader: ViewReader
    operations: OperationsReader
    lookup: OrderLookup
    circuit_board: CircuitBoard
    relay_minutes: RelayMinutes
    webhook_subscriptions: WebhookSubscriptions

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: FixedClock, ids: RandomIds) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.ids = ids
        self.settings = HubSettings(location_priority=LocationPriority(("dc-east", "dc-west")))
        self.context = HandlerContext(clock=clock, ids=ids, settings=self.settings)
        self.bus = MessageBus(uow_factory, self.context)

    async def run(self, command: c.Command) -> Any:
        return await self.bus.handle(command, META)

    async def stock(self, sku: str, location: str, on_hand: int, sequence: int = 1) -> None:
        await self.run(
            c.ApplyStockSnapshot(sku=sku, location=location, on_hand=on_hand, sequence=sequence)
        )

    async def order(self, order_id: UUID) -> Order:
        async with self.uow_factory(META) as uow:
            return await uow.orders.get(order_id)

    async def outbox(self) -> list[Row]:
        raise NotImplementedError

    async def envelopes(self) -> list[EventEnvelope]:
        """Every envelope the units of work committed, in commit order, as they wrote them."""
        raise NotImplementedError

    def another_outbox_store(self) -> OutboxStore:
        """Another relay's `OutboxStore` over the same storage (in production, another
        process's)."""
        raise NotImplementedError

    async def level(self, sku: str, location: str) -> tuple[int, int]:
        raise NotImplementedError


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self) -> None:
        self.store = InMemoryStore()
        clock, ids = FixedClock(), RandomIds()
        super().__init__(InMemoryUnitOfWorkFactory(self.store, clock, ids), clock, ids)
        self.codec = codec = MsgspecCodec()
        self.outbox_store = InMemoryOutboxStore(self.store, codec)
        self.delivery_log = InMemoryDeliveryLog(self.store)
        self.dead_letters = InMemoryDeadLetters(self.store)
        self.view_store = InMemoryViewStore(self.store, codec)
        self.view_reader = InMemoryViewReader(self.store)
        self.operations = InMemoryOperationsReader(self.store)
        self.lookup = InMemoryOrderLookup(self.store)
        self.circuit_board = InMemoryCircuitBoard(self.store)
        self.relay_minutes = InMemoryRelayMinutes(self.store)
        self.webhook_subscriptions = InMemoryWebhookSubscriptions()

    async def outbox(self) -> list[Row]:
        return [
            Row(e.event_type, e.aggregate_id, e.aggregate_version, e.correlation_id, e.actor)
            for e in self.store.outbox
        ]

    async def envelopes(self) -> list[EventEnvelope]:
        return list(self.store.outbox)

    def another_outbox_store(self) -> OutboxStore:
        return InMemoryOutboxStore(self.store, self.codec)

    async def level(self, sku: str, location: str) -> tuple[int, int]:
        level = self.store.stock[StockKey(sku, location)]
        return level.on_hand, level.reserved


class _RecordingSqlUnitOfWork(SqlUnitOfWork):
    """A SQL unit of work that keeps the envelopes it committed (the in-memory store keeps them
    as they are; the outbox table keeps only their columns)."""

    def __init__(
        self,
        written: list[EventEnvelope],
        engine: AsyncEngine,
        meta: CommandMeta,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        super().__init__(engine, meta, clock, ids)
        self._written = written

    async def _commit(self, envelopes: list[EventEnvelope]) -> None:
        await super()._commit(envelopes)
        self._written.extend(envelopes)


class _RecordingSqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, clock: Clock, ids: IdGenerator) -> None:
        self.engine = engine
        self._clock = clock
        self._ids = ids
        self.written: list[EventEnvelope] = []

    def __call__(self, meta: CommandMeta) -> SqlUnitOfWork:
        return _RecordingSqlUnitOfWork(self.written, self.engine, meta, self._clock, self._ids)


class SqlBackend(Backend):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.name = engine.dialect.name
        clock, ids = FixedClock(), RandomIds()
        self._uows = _RecordingSqlUnitOfWorkFactory(engine, clock, ids)
        super().__init__(self._uows, clock, ids)
        self.outbox_store = SqlOutboxStore(engine)
        self.delivery_log = SqlDeliveryLog(engine)
        self.dead_letters = SqlDeadLetters(engine)
        self.view_store = SqlViewStore(engine)
        self.view_reader = SqlViewReader(engine)
        self.operations = SqlOperationsReader(engine)
        self.lookup = SqlOrderLookup(engine)
        self.circuit_board = SqlCircuitBoard(engine)
        self.relay_minutes = SqlRelayMinutes(engine)
        #: A fresh key per backend: a contract test never depends on one.
        self.webhook_subscriptions = SqlWebhookSubscriptions(
            engine, SecretBox(Fernet.generate_key().decode()), "webhooks"
        )

    async def outbox(self) -> list[Row]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(outbox).order_by(outbox.c.id))
            return [
                Row(r.event_type, r.aggregate_id, r.aggregate_version, r.correlation_id, r.actor)
                for r in rows
            ]

    async def envelopes(self) -> list[EventEnvelope]:
        return list(self._uows.written)

    def another_outbox_store(self) -> OutboxStore:
        return SqlOutboxStore(self.engine)

    async def level(self, sku: str, location: str) -> tuple[int, int]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(stock_levels.c.on_hand, stock_levels.c.reserved).where(
                        stock_levels.c.sku == sku, stock_levels.c.location == location
                    )
                )
            ).one()
            return row.on_hand, row.reserved
