"""Inbound back-office events as the hub receives them: the §5 shape, with ids stable per fact."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

ERP = "erp"
WAREHOUSE = "warehouse"
PAYMENT = "payment"
CRM = "crm"

#: An event and the system that reports it: the body to POST to `/v1/inbound/{source}`.
Inbound = tuple[str, dict[str, Any]]

#: Namespace of the simulators' name-based (version 5) UUIDs.
_NAMESPACE = UUID("5d1b6c1e-3f0a-4b8e-9a44-0d0e0b0a0001")


def stable_id(seed: int, *parts: object) -> UUID:
    """The same UUID for the same seed and parts: a redelivered event keeps its id."""
    return uuid5(_NAMESPACE, "/".join(str(part) for part in (seed, *parts)))


def rfc3339(at: datetime) -> str:
    """`at` as RFC 3339 UTC with a `Z`, the way §5.1 writes times."""
    if at.tzinfo is None:
        raise ValueError("simulated events need timezone-aware times")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(amount: Decimal) -> str:
    """A decimal string, the way §5.1 writes money."""
    return format(amount, "f")


def inbound_event(
    *, event_id: UUID, type: str, occurred_at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """`{event_id, type, occurred_at, data}`, JSON-ready (strings, integers, lists, dicts)."""
    return {
        "event_id": str(event_id),
        "type": type,
        "occurred_at": rfc3339(occurred_at),
        "data": data,
    }
