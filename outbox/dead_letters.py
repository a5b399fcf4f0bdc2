"""The dead-letter store as ops see it: list, and replay once the cause is fixed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.deferred_inbound import SqlDeferredInbound
from adapters.sql.schema import dead_letters
from outbox.deliveries import DeadLetter, Deliveries
from ports.clock import Clock
from ports.inbound import InboundEvent


class Replay(StrEnum):
    REPLAYED = "replayed"
    NOT_FOUND = "not_found"
    ALREADY_REPLAYED = "already_replayed"


class DeadLetters:
    def __init__(
        self,
        engine: AsyncEngine,
        deliveries: Deliveries,
        deferred: SqlDeferredInbound,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._deliveries = deliveries
        self._deferred = deferred
        self._clock = clock

    async def page(self, limit: int, after: tuple[datetime, UUID] | None) -> list[DeadLetter]:
        return await self._deliveries.dead_letters(limit, after)

    async def replay(self, dead_letter_id: UUID) -> Replay:
        """Deliver the message again, counting attempts anew: an outbox event is due for the relay
        at once; an inbound event goes back to the deferred events, due now."""
        found = await self._deliveries.dead_letter(dead_letter_id)
        if found is None:
            return Replay.NOT_FOUND
        letter = found
        if letter.replayed_at is not None:
            return Replay.ALREADY_REPLAYED
        now = self._clock.now()
        if letter.consumer.startswith("inbound:") and letter.payload is not None:
            source = letter.consumer.removeprefix("inbound:")
            event = InboundEvent(
                source=source,
                event_id=letter.message_id,
                type=letter.event_type,
                body=letter.payload,
                actor="ops:replay",
                correlation_id=f"replay:{letter.id}",
            )
            await self._deferred.defer(event, "replayed by ops", now)
            async with self._engine.begin() as conn:
                await conn.execute(
                    update(dead_letters)
                    .where(dead_letters.c.id == letter.id)
                    .values(replayed_at=now)
                )
        else:
            await self._deliveries.revive(
                letter.id, UUID(letter.message_id), letter.consumer, now, due_at=now
            )
        return Replay.REPLAYED
