"""The committed state of the in-memory fakes: what a database would hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.inventory import StockKey, StockLevel
from domain.order import Order
from ports.circuits import Circuit
from ports.delivery_log import DeadLetter
from ports.outbox import EventEnvelope
from ports.relay_minutes import RelayMinute
from ports.views import OrderView, TimelineEntry


@dataclass
class DeliveryRecord:
    """One (event, consumer) delivery, as the `deliveries` table holds it."""

    due_at: datetime
    attempts: int = 0
    processed_at: datetime | None = None
    dead_at: datetime | None = None
    last_error: str | None = None
    publications: int = 1
    outage_since: datetime | None = None
    running_until: datetime | None = None
    waiting_for: str | None = None
    failing_announced: str | None = None

    @property
    def unfinished(self) -> bool:
        return self.processed_at is None and self.dead_at is None


@dataclass
class InMemoryStore:
    orders: dict[UUID, Order] = field(default_factory=dict)
    stock: dict[StockKey, StockLevel] = field(default_factory=dict)
    outbox: list[EventEnvelope] = field(default_factory=list)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    #: (principal, key) -> IdempotencyRecord
    idempotency: dict[tuple[str, str], Any] = field(default_factory=dict)
    commits: int = 0
    # -- event delivery ----------------------------------------------------------------------
    #: event id -> when the relay published it
    published: dict[UUID, datetime] = field(default_factory=dict)
    deliveries: dict[tuple[UUID, str], DeliveryRecord] = field(default_factory=dict)
    dead_letters: dict[UUID, DeadLetter] = field(default_factory=dict)
    #: Events and deliveries that an open relay batch holds, as a database's row locks: kept
    #: here, not in one `InMemoryOutboxStore`, so that every relay over the store skips them.
    held_events: set[UUID] = field(default_factory=set)
    held_deliveries: set[tuple[UUID, str]] = field(default_factory=set)
    #: remote name -> its circuit, as the `remote_circuits` table holds it
    circuits: dict[str, Circuit] = field(default_factory=dict)
    #: minute -> what the relays published of it, as the `relay_minutes` table holds it
    relay_minutes: dict[datetime, RelayMinute] = field(default_factory=dict)
    # -- the read models ---------------------------------------------------------------------
    views: dict[UUID, OrderView] = field(default_factory=dict)
    #: order id -> its entries in stream order
    timelines: dict[UUID, list[TimelineEntry]] = field(default_factory=dict)

    def events_of(self, aggregate_id: str) -> list[EventEnvelope]:
        return [e for e in self.outbox if e.aggregate_id == aggregate_id]

    def envelope(self, event_id: UUID) -> EventEnvelope | None:
        return next((e for e in self.outbox if e.event_id == event_id), None)
