"""What operators watch, as stored: the outbox's backlog, orders and returns waiting at a step,
and the delivery counts. The rules (which step, how long is too long) are `read_models/`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    unpublished: int
    oldest_unpublished_at: datetime | None
    published_since: int  #: events published at or after the moment asked about


class Since(StrEnum):
    """Which moment of an order's view a wait is measured from."""

    PLACED = "placed"  #: the order's creation
    LAST_EVENT = "last_event"  #: its latest event


@dataclass(frozen=True, slots=True)
class WaitingOrder:
    order_id: UUID
    channel_order_ref: str
    status: str
    since: datetime


@dataclass(frozen=True, slots=True)
class ReceivedReturn:
    """A return the warehouse received, with its status now (from the order's view)."""

    order_id: UUID
    channel_order_ref: str
    return_id: str | None
    return_status: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    dead_letters: int
    pending: int  #: published, neither processed nor parked
    failing: int  #: pending, and the last attempt failed


class OperationsReader(Protocol):
    async def outbox_backlog(self, published_since: datetime) -> OutboxBacklog: ...

    async def orders_waiting(
        self, statuses: Sequence[str], since: Since, before: datetime, limit: int
    ) -> list[WaitingOrder]:
        """Orders in one of `statuses` whose `since` moment is before `before`, oldest first."""
        ...

    async def returns_received_before(self, before: datetime, limit: int) -> list[ReceivedReturn]:
        """Returns received before `before`, oldest first, whatever their status now."""
        ...

    async def orders_with_entry(
        self, kind: str, statuses: Sequence[str], limit: int
    ) -> list[WaitingOrder]:
        """Orders now in one of `statuses` whose timeline has an entry of `kind`, each since its
        first such entry, oldest first."""
        ...

    async def count_orders_waiting(
        self, statuses: Sequence[str], since: Since, before: datetime
    ) -> int:
        """How many orders `orders_waiting` would list without a limit."""
        ...

    async def count_returns_received_before(self, before: datetime, statuses: Sequence[str]) -> int:
        """How many of the returns `returns_received_before` would list without a limit are now
        in one of `statuses`."""
        ...

    async def count_orders_with_entry(self, kind: str, statuses: Sequence[str]) -> int:
        """How many orders `orders_with_entry` would list without a limit."""
        ...

    async def delivery_counts(self) -> DeliveryCounts: ...

    async def waiting_for_remotes(self) -> dict[str, int]:
        """Per remote, the deliveries waiting out its outage: neither processed nor parked, and
        ridden out at least once (`DeliveryLog.ride_out`), counted under the remote they last
        waited for. Remotes no delivery waits for are absent."""
        ...
