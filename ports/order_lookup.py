"""Reads of the write side's own state, where a view would be too late: who owns an order or a
return (the channel-isolation check before a command), stock per location (availability must be
current, docs/read-side.md), and an order as it stands (the demo's and the tests' checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from domain.order import Order


@dataclass(frozen=True, slots=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class OrderLookup(Protocol):
    async def order(self, order_id: UUID) -> Order | None:
        """The order as last committed (not tracked: changes to it are not saved)."""
        ...

    async def channel_of_order(self, order_id: UUID) -> str | None: ...

    async def owner_of_return(self, return_id: UUID) -> tuple[UUID, str] | None:
        """(order id, channel) of the order a return belongs to."""
        ...

    async def stock(self, sku: str) -> list[LocationStock]:
        """The SKU's stock at every location that has a level, by location name."""
        ...
