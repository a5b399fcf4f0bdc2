"""The committed state of the in-memory fakes: what a database would hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.inventory import StockKey, StockLevel
from domain.order import Order
from ports.outbox import EventEnvelope


@dataclass
class InMemoryStore:
    orders: dict[UUID, Order] = field(default_factory=dict)
    stock: dict[StockKey, StockLevel] = field(default_factory=dict)
    outbox: list[EventEnvelope] = field(default_factory=list)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    #: (principal, key) -> IdempotencyRecord
    idempotency: dict[tuple[str, str], Any] = field(default_factory=dict)
    commits: int = 0

    def events_of(self, aggregate_id: str) -> list[EventEnvelope]:
        return [e for e in self.outbox if e.aggregate_id == aggregate_id]
