"""The dead-letter store as ops see it: list, and replay once the cause is fixed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ports.clock import Clock
from ports.delivery_log import DeadLetter, DeadLetterStore
from ports.inbound import DeferredInbound, InboundEvent

#: Dead letters of deferred inbound events are filed under `inbound:<source>`.
INBOUND = "inbound:"


class Replay(StrEnum):
    REPLAYED = "replayed"
    NOT_FOUND = "not_found"
    ALREADY_REPLAYED = "already_replayed"


class DeadLetters:
    def __init__(self, store: DeadLetterStore, deferred: DeferredInbound, clock: Clock) -> None:
        self._store = store
        self._deferred = deferred
        self._clock = clock

    async def page(self, limit: int, after: tuple[datetime, UUID] | None) -> list[DeadLetter]:
        return await self._store.page(limit, after)

    async def replay(self, dead_letter_id: UUID) -> Replay:
        """Deliver the message again, counting attempts anew: an outbox event is due for the relay
        at once; an inbound event goes back to the deferred events, due now."""
        letter = await self._store.get(dead_letter_id)
        if letter is None:
            return Replay.NOT_FOUND
        if letter.replayed_at is not None:
            return Replay.ALREADY_REPLAYED
        now = self._clock.now()
        if letter.consumer.startswith(INBOUND) and letter.payload is not None:
            event = InboundEvent(
                source=letter.consumer.removeprefix(INBOUND),
                event_id=letter.message_id,
                type=letter.event_type,
                body=letter.payload,
                actor="ops:replay",
                correlation_id=f"replay:{letter.id}",
            )
            await self._deferred.defer(event, "replayed by ops", now)
            await self._store.mark_replayed(letter.id, now)
        else:
            await self._store.revive(letter, now, due_at=now)
        return Replay.REPLAYED
