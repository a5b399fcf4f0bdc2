"""Retention's deletes in SQL (`ports.retention`): each batch one short transaction; on
PostgreSQL the rows a batch takes are locked `SKIP LOCKED`, so relays running the job at once
take disjoint batches and never wait for each other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import dead_letters, deliveries, inbox, outbox
from ports.retention import Kept

d, o = deliveries.c, outbox.c
_BEFORE: Any = bindparam("before")
_LIMIT: Any = bindparam("limit")


def _events_query(skip_locked: bool) -> Any:
    """The oldest published events none of whose deliveries is unfinished, dead, or finished
    at or after the cutoff (through the index on `published_at` and the deliveries' key)."""
    kept_delivery = exists().where(
        d.event_id == o.event_id,
        or_(d.processed_at.is_(None), d.processed_at >= _BEFORE),
    )
    query = (
        select(o.id, o.event_id)
        .where(o.published_at < _BEFORE, ~kept_delivery)
        .order_by(o.published_at)
        .limit(_LIMIT)
    )
    return query.with_for_update(of=outbox, skip_locked=True) if skip_locked else query


class SqlRetentionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._events = _events_query(skip_locked=engine.dialect.name == "postgresql")

    async def purge(self, kept: Kept, before: datetime, limit: int) -> int:
        params = {"before": before, "limit": limit}
        async with self._engine.begin() as conn:
            if kept is Kept.EVENTS:
                rows = (await conn.execute(self._events, params)).all()
                if not rows:
                    return 0
                await conn.execute(
                    delete(deliveries).where(d.event_id.in_([r.event_id for r in rows]))
                )
                await conn.execute(delete(outbox).where(o.id.in_([r.id for r in rows])))
                return len(rows)
            if kept is Kept.INBOX:
                old = select(inbox.c.consumer, inbox.c.message_id).where(
                    inbox.c.processed_at < before
                )
                statement = delete(inbox).where(
                    tuple_(inbox.c.consumer, inbox.c.message_id).in_(old.limit(limit))
                )
            else:
                old_letters = select(dead_letters.c.id).where(
                    and_(
                        dead_letters.c.replayed_at.is_not(None), dead_letters.c.replayed_at < before
                    )
                )
                statement = delete(dead_letters).where(
                    dead_letters.c.id.in_(old_letters.limit(limit))
                )
            return (await conn.execute(statement)).rowcount
