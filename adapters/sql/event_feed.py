"""The event feed in SQL: outbox rows in (txid, id) order, never past a transaction that may
still commit.

Ids come from a sequence before commit, so "id greater than the last seen" skips a row whose
transaction took id 10 and committed after the one that took id 11 (PRODUCT.md §4.1). On
PostgreSQL each row carries the id of the transaction that wrote it (`txid`, a server default),
and a read returns only rows of transactions older than its snapshot's `xmin`, the oldest
transaction still running: every transaction below it has ended, so no row can appear there
later, and a row that commits later has a txid at or above it, after any position handed out.
The price: the feed is as fresh as the oldest running transaction (a transaction left open
holds the feed back until it ends). On SQLite writers take turns, ids are handed out in commit
order, and `txid` is 0."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.outbox_store import message_of
from adapters.sql.schema import outbox
from ports.event_feed import FeedItem, FeedPosition

o = outbox.c
#: The oldest transaction still running when the statement's snapshot was taken.
_HORIZON: ColumnElement[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger
)


class SqlEventFeed:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def read(
        self,
        after: FeedPosition,
        limit: int,
        *,
        types: Collection[str] | None = None,
        channel: str | None = None,
    ) -> Sequence[FeedItem]:
        query: Any = (
            select(outbox)
            .where(tuple_(o.txid, o.id) > tuple_(after.txid, after.id))
            .order_by(o.txid, o.id)
            .limit(limit)
        )
        if self._postgres:
            query = query.where(o.txid < _HORIZON)
        if types is not None:
            query = query.where(o.event_type.in_(sorted(types)))
        if channel is not None:
            query = query.where(o.channel == channel)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [FeedItem(FeedPosition(row.txid, row.id), message_of(row)) for row in rows]
