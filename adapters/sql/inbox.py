"""The inbox in SQL: a row per (consumer, message) processed, inserted with the effect."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql.schema import inbox
from ports.clock import Clock


class SqlInbox:
    def __init__(self, connection: AsyncConnection, clock: Clock) -> None:
        self._conn = connection
        self._clock = clock
        self._pending: list[tuple[str, str]] = []

    async def seen(self, consumer: str, message_id: str) -> bool:
        query = select(inbox.c.consumer).where(
            inbox.c.consumer == consumer, inbox.c.message_id == message_id
        )
        return (await self._conn.execute(query)).first() is not None

    def add(self, consumer: str, message_id: str) -> None:
        self._pending.append((consumer, message_id))

    async def flush(self) -> None:
        if self._pending:
            now = self._clock.now()
            await self._conn.execute(
                insert(inbox),
                [{"consumer": c, "message_id": m, "processed_at": now} for c, m in self._pending],
            )
