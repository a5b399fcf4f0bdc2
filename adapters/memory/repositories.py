"""In-memory repositories with an identity map: one object per aggregate per unit of work."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from adapters.memory.store import InMemoryStore
from domain.errors import OrderNotFound, ReturnNotFound
from domain.inventory import StockKey, StockLevel
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.reservation import ReservationStatus


class InMemoryOrderRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.seen: dict[UUID, Order] = {}
        self.loaded_versions: dict[UUID, int] = {}

    def add(self, order: Order) -> None:
        self.seen[order.id] = order

    async def get(self, order_id: UUID) -> Order:
        if order_id in self.seen:
            return self.seen[order_id]
        stored = self._store.orders.get(order_id)
        if stored is None:
            raise OrderNotFound(order_id)
        order = copy.deepcopy(stored)
        self.seen[order_id] = order
        self.loaded_versions[order_id] = order.version
        return order

    async def get_by_return(self, return_id: UUID) -> Order:
        for order in [*self.seen.values(), *self._store.orders.values()]:
            if return_id in order.returns:
                return await self.get(order.id)
        raise ReturnNotFound(return_id)

    async def find_by_channel_ref(self, channel: str, channel_order_ref: str) -> UUID | None:
        for order in [*self.seen.values(), *self._store.orders.values()]:
            if (order.channel, order.channel_order_ref) == (channel, channel_order_ref):
                return order.id
        return None

    async def backordered_with_sku(self, sku: str, limit: int) -> list[UUID]:
        waiting = [
            o
            for o in self._store.orders.values()
            if o.status is OrderStatus.BACKORDERED
            and any(ln.sku == sku and ln.unshipped > o.reserved(sku) for ln in o.lines)
        ]
        return [o.id for o in sorted(waiting, key=lambda o: (o.created_at, o.id))][:limit]

    async def waiting_for_erp(
        self, reserved_before: datetime, limit: int, created_before: datetime | None = None
    ) -> list[UUID]:
        waiting = [
            o
            for o in self._store.orders.values()
            if o.status is OrderStatus.RESERVED
            and o.updated_at < reserved_before
            and (created_before is None or o.created_at < created_before)
        ]
        return [o.id for o in sorted(waiting, key=lambda o: (o.created_at, o.id))][:limit]

    async def with_holds_expiring_by(self, moment: datetime, limit: int) -> list[UUID]:
        due = [
            o.id
            for o in self._store.orders.values()
            if o.status is OrderStatus.ON_HOLD
            and any(
                r.status is ReservationStatus.HELD and r.expires_at and r.expires_at <= moment
                for r in o.reservations
            )
        ]
        return due[:limit]


class InMemoryStockRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.seen: dict[StockKey, StockLevel] = {}
        self.loaded: dict[StockKey, tuple[int, int, int | None, int] | None] = {}

    async def get_many(self, keys: Iterable[StockKey]) -> dict[StockKey, StockLevel]:
        return {key: self._load(key) for key in sorted(set(keys))}

    async def for_skus(self, skus: Iterable[str]) -> dict[StockKey, StockLevel]:
        wanted = set(skus)
        keys = {k for k in [*self._store.stock, *self.seen] if k.sku in wanted}
        return await self.get_many(keys)

    def _load(self, key: StockKey) -> StockLevel:
        if key in self.seen:
            return self.seen[key]
        stored = self._store.stock.get(key)
        level = copy.deepcopy(stored) if stored else StockLevel(key.sku, key.location)
        self.loaded[key] = fingerprint(stored) if stored else None
        self.seen[key] = level
        return level


def fingerprint(level: StockLevel) -> tuple[int, int, int | None, int]:
    """What must not have changed underneath for a stock level to be saved."""
    return (level.on_hand, level.reserved, level.last_sequence, level.version)
