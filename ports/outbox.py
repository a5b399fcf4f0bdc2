"""The outbox: every committed domain event in its envelope, what the relay claims of it, and the
envelope's wire form (a `Message`) that the outbox stores and the broker carries."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class EventEnvelope:
    """One event with what consumers need to order, deduplicate and trace it (PRODUCT.md §2.4)."""

    event_id: UUID
    event_type: str
    schema_version: int
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime
    correlation_id: str
    causation_id: str | None
    actor: str
    payload: DomainEvent


#: An envelope as JSON-ready builtins: the keys of `EventEnvelope`, `event_id` a string,
#: `occurred_at` RFC 3339, `payload` the event's fields (decimals as strings). The relay and the
#: read side work on this form and never decode the event; a consumer gets it decoded.
Message = dict[str, Any]


class UndecodableMessage(Exception):
    """Raised when a message is not an envelope this code can read: a key missing, an unknown
    event type, a field of the wrong shape. No retry can cure it."""


class MessageCodec(Protocol):
    def encode(self, envelope: EventEnvelope) -> Message:
        """The envelope's wire form."""
        ...

    def decode(self, message: Message) -> EventEnvelope:
        """The envelope a message carries. Raises `UndecodableMessage`."""
        ...


#: (event id, consumer name): one delivery of one event to one consumer.
DeliveryKey = tuple[UUID, str]


class ClaimedEvents(Protocol):
    """Unpublished events, oldest first, held for one relay until the batch ends: committed
    when the block ends normally, rolled back (nothing published) when it raises."""

    @property
    def messages(self) -> Sequence[Message]: ...

    async def expect_deliveries(self, deliveries: Sequence[DeliveryKey], due_at: datetime) -> None:
        """Each delivery is now expected to be processed by `due_at`; after that the relay
        publishes it again."""
        ...

    async def mark_published(self, now: datetime) -> None:
        """Every claimed event is published: no relay claims it again."""
        ...


@dataclass(frozen=True, slots=True)
class Overdue:
    """A delivery not processed by its due time."""

    consumer: str
    message: Message
    publications: int  #: how many times the relay published it so far (1: once)


class OverdueDeliveries(Protocol):
    """Deliveries that were published but neither processed nor parked by their due time (the
    broker lost them, or their worker died), held for one relay until the batch ends."""

    @property
    def deliveries(self) -> Sequence[Overdue]:
        """Oldest due first."""
        ...

    async def mark_republished(self, due_at: Sequence[datetime]) -> None:
        """Each was published once more and is now due by its own time (`due_at` in the order of
        `deliveries`)."""
        ...


class OutboxStore(Protocol):
    """The relay's side of the outbox. A claim never selects "ids above the last seen": ids are
    handed out before commit, and a high-water mark skips events that commit late."""

    #: True when batches claimed at the same time get disjoint events (`SKIP LOCKED`), so one
    #: relay may keep several batches in flight.
    concurrent_claims: bool

    def claim(self, limit: int) -> AbstractAsyncContextManager[ClaimedEvents]:
        """Up to `limit` unpublished events that no other open batch holds."""
        ...

    def claim_overdue(
        self, now: datetime, limit: int
    ) -> AbstractAsyncContextManager[OverdueDeliveries]:
        """Up to `limit` deliveries due before `now` that no other open batch holds."""
        ...
