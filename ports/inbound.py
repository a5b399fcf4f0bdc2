"""Inbound events that came too early (before the order, return or shipment they refer to): kept
and tried again later, never dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundEvent:
    """An event as a back-office system sent it: `body` is `{event_id, type, occurred_at, data}`."""

    source: str
    event_id: str
    type: str
    body: dict[str, Any]
    actor: str
    correlation_id: str
    attempts: int = 0


class DeferredInbound(Protocol):
    async def defer(self, event: InboundEvent, error: str, next_attempt_at: datetime) -> None:
        """Keep the event for a later attempt (the same event again keeps its attempt count)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[InboundEvent]:
        """Deferred events whose next attempt is due, oldest first."""
        ...

    async def postpone(self, event: InboundEvent, error: str, next_attempt_at: datetime) -> None:
        """Count a failed attempt and try again at `next_attempt_at`."""
        ...

    async def done(self, event: InboundEvent) -> None: ...

    async def bury(self, event: InboundEvent, error: str, now: datetime) -> None:
        """Give up: the event moves to the dead-letter store, where ops can replay it."""
        ...
