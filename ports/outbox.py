"""The envelope in which every domain event is written to the outbox and travels to consumers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
