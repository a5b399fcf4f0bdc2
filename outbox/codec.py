"""Encoding of domain events to JSON-ready payloads and back, by `event_type`."""

from __future__ import annotations

from typing import Any

import msgspec

from domain.events import EVENT_TYPES, DomainEvent


class UnknownEventType(Exception):
    """Raised when an envelope names an event type this code does not know."""


def encode_json(value: Any) -> str:
    """JSON text for events, dicts, Decimals (as strings), UUIDs and datetimes."""
    return msgspec.json.encode(value).decode()


def decode_json(text: str | bytes) -> Any:
    return msgspec.json.decode(text)


def payload_of(event: DomainEvent) -> dict[str, Any]:
    """The event's fields as JSON-ready builtins."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    return data


def event_from(event_type: str, payload: dict[str, Any]) -> DomainEvent:
    """Rebuild the domain event of an envelope."""
    try:
        cls = EVENT_TYPES[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None
    return msgspec.convert(payload, type=cls, strict=False)
