"""The inbox in SQL: a row per (consumer, message) processed, inserted with the effect."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from adapters.sql.schema import inbox
from adapters.sql.statements import Statements
from ports.clock import Clock

_SEEN = select(inbox.c.consumer).where(
    inbox.c.consumer == bindparam("b_consumer"), inbox.c.message_id == bindparam("b_message_id")
)
_INSERT = insert(inbox)


class SqlInbox:
    def __init__(self, connection: Statements, clock: Clock) -> None:
        self._conn = connection
        self._clock = clock
        self._pending: list[tuple[str, str]] = []

    async def seen(self, consumer: str, message_id: str) -> bool:
        params = {"b_consumer": consumer, "b_message_id": message_id}
        return (await self._conn.execute(_SEEN, params)).first() is not None

    def add(self, consumer: str, message_id: str) -> None:
        self._pending.append((consumer, message_id))

    async def flush(self) -> None:
        if self._pending:
            now = self._clock.now()
            await self._conn.execute(
                _INSERT,
                [{"consumer": c, "message_id": m, "processed_at": now} for c, m in self._pending],
            )
