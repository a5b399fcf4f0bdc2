"""Repositories: load and add aggregates. Saving happens when the unit of work commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.inventory import StockKey, StockLevel
from domain.order import Order


class OrderRepository(Protocol):
    def add(self, order: Order) -> None:
        """Track a new order; it is inserted at commit."""
        ...

    async def get(self, order_id: UUID) -> Order:
        """The order, tracked for saving at commit. Raises `OrderNotFound`."""
        ...

    async def get_by_return(self, return_id: UUID) -> Order:
        """The order that owns the return. Raises `ReturnNotFound`."""
        ...

    async def find_by_channel_ref(self, channel: str, channel_order_ref: str) -> UUID | None:
        """The id of the channel's order with that reference, if one exists."""
        ...

    async def backordered_with_sku(self, sku: str, limit: int) -> list[UUID]:
        """Backordered orders that miss `sku`, oldest first."""
        ...

    async def with_holds_expiring_by(self, moment: datetime, limit: int) -> list[UUID]:
        """On-hold orders with a held reservation whose expiry is at or before `moment`."""
        ...

    async def waiting_for_erp(
        self, reserved_before: datetime, limit: int, created_before: datetime | None = None
    ) -> list[UUID]:
        """Orders still `reserved` (not booked) whose last change is older than
        `reserved_before`, optionally only those placed before `created_before`; oldest first."""
        ...


class StockRepository(Protocol):
    async def get_many(self, keys: Iterable[StockKey]) -> dict[StockKey, StockLevel]:
        """A level for every key, tracked for saving; a key never seen starts at zero."""
        ...

    async def for_skus(self, skus: Iterable[str]) -> dict[StockKey, StockLevel]:
        """Every known level of these SKUs, at every location, tracked for saving."""
        ...
