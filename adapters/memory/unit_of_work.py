"""The in-memory unit of work: optimistic checks at commit, then state and outbox in one step."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from types import TracebackType

from adapters.memory.idempotency import InMemoryIdempotencyLog
from adapters.memory.inbox import InMemoryInbox
from adapters.memory.repositories import (
    InMemoryOrderRepository,
    InMemoryStockRepository,
    fingerprint,
)
from adapters.memory.store import InMemoryStore
from domain.aggregate import Aggregate
from domain.errors import DuplicateOrder
from domain.order import Order
from ports.clock import Clock
from ports.ids import IdGenerator
from ports.outbox import EventEnvelope
from ports.unit_of_work import CommandMeta, ConcurrencyConflict, UnitOfWork


class InMemoryUnitOfWork(UnitOfWork):
    """Nothing reaches the store before `commit`, and `commit` has no await inside, so on one
    event loop it is atomic: either every change and event lands, or none does."""

    orders: InMemoryOrderRepository
    stock: InMemoryStockRepository
    idempotency: InMemoryIdempotencyLog
    inbox: InMemoryInbox

    def __init__(
        self, store: InMemoryStore, meta: CommandMeta, clock: Clock, ids: IdGenerator
    ) -> None:
        super().__init__(meta, clock, ids)
        self._store = store
        self.orders = InMemoryOrderRepository(store)
        self.stock = InMemoryStockRepository(store)
        self.idempotency = InMemoryIdempotencyLog()
        self.inbox = InMemoryInbox(store)
        self.committed = False

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.orders.seen.clear()
        self.stock.seen.clear()

    def _tracked(self) -> Iterable[Aggregate]:
        return [*self.orders.seen.values(), *self.stock.seen.values()]

    async def _commit(self, envelopes: list[EventEnvelope]) -> None:
        self._ensure_nothing_changed_underneath()
        self.idempotency.ensure_claims_held(self._store)
        self.inbox.ensure_new()
        for order in self.orders.seen.values():
            self._store.orders[order.id] = copy.deepcopy(order)
        for key, level in self.stock.seen.items():
            self._store.stock[key] = copy.deepcopy(level)
        self._store.outbox.extend(envelopes)
        self.idempotency.flush(self._store)
        self.inbox.flush()
        self._store.commits += 1
        self.committed = True

    def _ensure_nothing_changed_underneath(self) -> None:
        for order_id, order in self.orders.seen.items():
            stored = self._store.orders.get(order_id)
            if order_id not in self.orders.loaded_versions:  # a new order
                if stored is not None:
                    raise ConcurrencyConflict(f"order {order_id} exists")
                self._ensure_unique_channel_ref(order)
            elif stored is None or stored.version != self.orders.loaded_versions[order_id]:
                raise ConcurrencyConflict(f"order {order_id} changed underneath")
        for key in self.stock.seen:
            stored_level = self._store.stock.get(key)
            now = fingerprint(stored_level) if stored_level else None
            if now != self.stock.loaded[key]:
                raise ConcurrencyConflict(f"stock {key} changed underneath")

    def _ensure_unique_channel_ref(self, order: Order) -> None:
        for other in self._store.orders.values():
            if (other.channel, other.channel_order_ref) == (order.channel, order.channel_order_ref):
                raise DuplicateOrder(order.channel, order.channel_order_ref, other.id)


class InMemoryUnitOfWorkFactory:
    def __init__(self, store: InMemoryStore, clock: Clock, ids: IdGenerator) -> None:
        self.store = store
        self._clock = clock
        self._ids = ids

    def __call__(self, meta: CommandMeta) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, meta, self._clock, self._ids)
