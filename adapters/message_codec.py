"""The envelope's wire form (`ports.outbox.Message`), written and read by msgspec: what the outbox
stores and the broker carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.events import EVENT_TYPES
from ports.outbox import EventEnvelope, Message, UndecodableMessage


class MsgspecCodec:
    """Encodes an envelope's event by its fields and decodes it by `event_type`
    (`domain/events.py`, `EVENT_TYPES`)."""

    def encode(self, envelope: EventEnvelope) -> Message:
        """Every field as JSON gives it back: ids and decimals as strings, times RFC 3339,
        sequences as lists (what the outbox stores and the broker carries, to the type)."""
        message: Message = msgspec.json.decode(msgspec.json.encode(envelope))
        return message

    def decode(self, message: Message) -> EventEnvelope:
        try:
            return _decode(message)
        except (KeyError, ValueError, TypeError, msgspec.ValidationError) as e:
            raise UndecodableMessage(f"{type(e).__name__}: {e}") from e


def _decode(message: dict[str, Any]) -> EventEnvelope:
    event_type = message["event_type"]
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UndecodableMessage(f"unknown event type {event_type!r}")
    return EventEnvelope(
        event_id=UUID(message["event_id"]),
        event_type=event_type,
        schema_version=int(message["schema_version"]),
        aggregate_type=message["aggregate_type"],
        aggregate_id=message["aggregate_id"],
        aggregate_version=int(message["aggregate_version"]),
        occurred_at=datetime.fromisoformat(message["occurred_at"]),
        correlation_id=message["correlation_id"],
        causation_id=message["causation_id"],
        actor=message["actor"],
        payload=msgspec.convert(message["payload"], type=cls, strict=False),
    )
