"""The relay's minute tallies in SQL: one `relay_minutes` row per minute, combined into by one
upsert per minute tallied (a relay writes every few seconds, not per event or per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, case, delete, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.per_dialect import insert_or_update
from adapters.sql.schema import relay_minutes
from ports.relay_minutes import RelayMinute

m = relay_minutes.c

#: Counts add up, the lag is the longer: two relays adding to one minute at once lose nothing
#: (the conflicting insert waits for the other's row lock, then adds to what it wrote).
_ADD = insert_or_update(
    relay_minutes,
    {
        "minute": bindparam("b_minute"),
        "published": bindparam("b_published"),
        "commands": bindparam("b_commands"),
        "max_lag_ms": bindparam("b_max_lag_ms"),
    },
    key=["minute"],
    update=lambda new: {
        "published": m.published + new.published,
        "commands": m.commands + new.commands,
        "max_lag_ms": case((new.max_lag_ms > m.max_lag_ms, new.max_lag_ms), else_=m.max_lag_ms),
    },
    where=lambda _: true(),
)


class SqlRelayMinutes:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._add = _ADD[engine.dialect.name]

    async def add(self, minutes: Sequence[RelayMinute]) -> None:
        if not minutes:
            return
        rows = [
            {
                "b_minute": t.minute,
                "b_published": t.published,
                "b_commands": t.commands,
                "b_max_lag_ms": t.max_lag_ms,
            }
            for t in minutes
        ]
        async with self._engine.begin() as conn:
            await conn.execute(self._add, rows)

    async def between(self, start: datetime, end: datetime) -> list[RelayMinute]:
        """Sixty rows at most for an hour, through the primary key."""
        query = select(relay_minutes).where(m.minute >= start, m.minute < end).order_by(m.minute)
        async with self._engine.connect() as conn:
            return [RelayMinute(**row._mapping) for row in await conn.execute(query)]

    async def prune(self, before: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(relay_minutes).where(m.minute < before))
