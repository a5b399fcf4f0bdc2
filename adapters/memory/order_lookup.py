"""The order lookup on the in-memory store."""

from __future__ import annotations

import copy
from uuid import UUID

from adapters.memory.store import InMemoryStore
from domain.order import Order
from ports.order_lookup import LocationStock


class InMemoryOrderLookup:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def order(self, order_id: UUID) -> Order | None:
        order = self._store.orders.get(order_id)
        return copy.deepcopy(order) if order else None

    async def channel_of_order(self, order_id: UUID) -> str | None:
        order = self._store.orders.get(order_id)
        return order.channel if order else None

    async def owner_of_return(self, return_id: UUID) -> tuple[UUID, str] | None:
        for order in self._store.orders.values():
            if return_id in order.returns:
                return order.id, order.channel
        return None

    async def stock(self, sku: str) -> list[LocationStock]:
        levels = sorted(
            (level for key, level in self._store.stock.items() if key.sku == sku),
            key=lambda level: level.location,
        )
        return [LocationStock(level.location, level.on_hand, level.reserved) for level in levels]
