"""Envelopes as broker messages: JSON-ready dicts, and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from outbox.codec import event_from, payload_of
from ports.outbox import EventEnvelope


def envelope_to_message(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "event_id": str(envelope.event_id),
        "event_type": envelope.event_type,
        "schema_version": envelope.schema_version,
        "aggregate_type": envelope.aggregate_type,
        "aggregate_id": envelope.aggregate_id,
        "aggregate_version": envelope.aggregate_version,
        "occurred_at": envelope.occurred_at.isoformat(),
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "actor": envelope.actor,
        "payload": payload_of(envelope.payload),
    }


def message_from_row(row: Any) -> dict[str, Any]:
    """The message for an outbox row (its payload column is already JSON-ready)."""
    return {
        "event_id": str(row.event_id),
        "event_type": row.event_type,
        "schema_version": row.schema_version,
        "aggregate_type": row.aggregate_type,
        "aggregate_id": row.aggregate_id,
        "aggregate_version": row.aggregate_version,
        "occurred_at": row.occurred_at.isoformat(),
        "correlation_id": row.correlation_id,
        "causation_id": row.causation_id,
        "actor": row.actor,
        "payload": row.payload,
    }


#: Key of a message to a catching-up consumer: ids of the earlier events of its aggregate, from the
#: same relay batch, that it stands for (outbox/relay.py, `_coalesce`).
COVERS = "covers"


def envelope_from_message(message: dict[str, Any]) -> EventEnvelope:
    """Raises KeyError, ValueError or UnknownEventType for a message that is not an envelope."""
    return EventEnvelope(
        event_id=UUID(message["event_id"]),
        event_type=message["event_type"],
        schema_version=int(message["schema_version"]),
        aggregate_type=message["aggregate_type"],
        aggregate_id=message["aggregate_id"],
        aggregate_version=int(message["aggregate_version"]),
        occurred_at=datetime.fromisoformat(message["occurred_at"]),
        correlation_id=message["correlation_id"],
        causation_id=message["causation_id"],
        actor=message["actor"],
        payload=event_from(message["event_type"], message["payload"]),
    )
