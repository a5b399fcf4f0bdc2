"""Deferred inbound events in SQL, and their dead letters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import dead_letters, inbound_deferred
from ports.inbound import InboundEvent

t = inbound_deferred.c


class SqlDeferredInbound:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite

    async def defer(self, event: InboundEvent, error: str, next_attempt_at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                self._dialect.insert(inbound_deferred)
                .values(
                    source=event.source,
                    event_id=event.event_id,
                    event_type=event.type,
                    body=event.body,
                    actor=event.actor,
                    correlation_id=event.correlation_id,
                    attempts=1,
                    next_attempt_at=next_attempt_at,
                    last_error=error[:4000],
                    received_at=next_attempt_at,
                )
                .on_conflict_do_nothing()
            )

    async def due(self, now: datetime, limit: int) -> list[InboundEvent]:
        query = (
            select(inbound_deferred)
            .where(t.next_attempt_at <= now)
            .order_by(t.next_attempt_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            InboundEvent(
                source=r.source, event_id=r.event_id, type=r.event_type, body=r.body,
                actor=r.actor, correlation_id=r.correlation_id, attempts=r.attempts,
            )
            for r in rows
        ]  # fmt: skip

    async def postpone(self, event: InboundEvent, error: str, next_attempt_at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(inbound_deferred)
                .where(t.source == event.source, t.event_id == event.event_id)
                .values(
                    attempts=t.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    last_error=error[:4000],
                )
            )

    async def done(self, event: InboundEvent) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(inbound_deferred).where(
                    t.source == event.source, t.event_id == event.event_id
                )
            )

    async def bury(self, event: InboundEvent, error: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(dead_letters).values(
                    id=uuid.uuid4(),
                    message_id=event.event_id,
                    consumer=f"inbound:{event.source}",
                    event_type=event.type[:64],
                    aggregate_id=_subject(event)[:200],
                    attempts=event.attempts + 1,
                    reason="too_early_for_too_long",
                    error=error[:4000],
                    payload=event.body,
                    died_at=now,
                )
            )
            await conn.execute(
                delete(inbound_deferred).where(
                    t.source == event.source, t.event_id == event.event_id
                )
            )


def _subject(event: InboundEvent) -> str:
    data = event.body.get("data") or {}
    return str(data.get("order_id") or data.get("return_id") or data.get("sku") or "?")
