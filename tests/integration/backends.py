"""One write-side API over the three stores (in-memory fakes, SQLite, PostgreSQL), so that one
contract suite keeps the fakes honest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.ids import RandomIds
from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.sql.schema import outbox, stock_levels
from adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from application.bus import MessageBus
from application.context import HandlerContext
from application.settings import HubSettings
from domain import commands as c
from domain.allocation import LocationPriority
from domain.inventory import StockKey
from domain.order import Order
from ports.unit_of_work import CommandMeta, UnitOfWorkFactory

META = CommandMeta(actor="key:test", correlation_id="corr-1")


@dataclass(frozen=True)
class Row:
    event_type: str
    aggregate_id: str
    aggregate_version: int
    correlation_id: str
    actor: str


class Backend:
    name: str

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

    async def level(self, sku: str, location: str) -> tuple[int, int]:
        raise NotImplementedError


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self) -> None:
        self.store = InMemoryStore()
        clock, ids = FixedClock(), RandomIds()
        super().__init__(InMemoryUnitOfWorkFactory(self.store, clock, ids), clock, ids)

    async def outbox(self) -> list[Row]:
        return [
            Row(e.event_type, e.aggregate_id, e.aggregate_version, e.correlation_id, e.actor)
            for e in self.store.outbox
        ]

    async def level(self, sku: str, location: str) -> tuple[int, int]:
        level = self.store.stock[StockKey(sku, location)]
        return level.on_hand, level.reserved


class SqlBackend(Backend):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.name = engine.dialect.name
        clock, ids = FixedClock(), RandomIds()
        super().__init__(SqlUnitOfWorkFactory(engine, clock, ids), clock, ids)

    async def outbox(self) -> list[Row]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(outbox).order_by(outbox.c.id))
            return [
                Row(r.event_type, r.aggregate_id, r.aggregate_version, r.correlation_id, r.actor)
                for r in rows
            ]

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
