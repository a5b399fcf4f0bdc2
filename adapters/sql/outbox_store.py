"""The relay's side of the outbox in SQL: claims of unpublished events and of overdue deliveries,
each one transaction, on the asyncpg connection on PostgreSQL (adapters/sql/statements.py).

On PostgreSQL a claim locks its rows `FOR UPDATE SKIP LOCKED`, so several relays, and several
batches of one relay, take disjoint rows. SQLite has one writer at a time: claims queue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.per_dialect import insert_or_skip, one_of
from adapters.sql.schema import deliveries, outbox
from adapters.sql.statements import Statements, transaction
from ports.outbox import DeliveryKey, Message, Overdue

d = deliveries.c

_RECORD_PUBLISHED = insert_or_skip(deliveries)
_MARK_PUBLISHED = {
    dialect: update(outbox).where(ids).values(published_at=bindparam("b_now"))
    for dialect, ids in one_of(outbox.c.id, "b_ids").items()
}
_REPUBLISHED = (
    update(deliveries)
    .where(d.event_id == bindparam("b_event_id"), d.consumer == bindparam("b_consumer"))
    .values(due_at=bindparam("b_due_at"), publications=d.publications + 1)
)


def _claim_query(*, skip_locked: bool) -> Any:
    query = (
        select(outbox)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(bindparam("b_limit"))
    )
    return query.with_for_update(skip_locked=True) if skip_locked else query


def _overdue_query(*, skip_locked: bool) -> Any:
    query = (
        select(d.event_id, d.consumer, d.publications, outbox)
        .join(outbox, outbox.c.event_id == d.event_id)
        .where(d.processed_at.is_(None), d.dead_at.is_(None), d.due_at < bindparam("b_now"))
        .order_by(d.due_at)
        .limit(bindparam("b_limit"))
    )
    return query.with_for_update(of=deliveries, skip_locked=True) if skip_locked else query


def message_of(row: Any) -> Message:
    """The message of an outbox row (its payload column is already JSON-ready)."""
    return {
        "event_id": str(row.event_id),
        "event_type": row.event_type,
        "schema_version": row.schema_version,
        "aggregate_type": row.aggregate_type,
        "aggregate_id": row.aggregate_id,
        "aggregate_version": row.aggregate_version,
        "occurred_at": msgspec.to_builtins(row.occurred_at),  # as the codec writes it
        "correlation_id": row.correlation_id,
        "causation_id": row.causation_id,
        "actor": row.actor,
        "payload": row.payload,
    }


class _Claimed:
    def __init__(self, conn: Statements, ids: list[int], messages: list[Message]) -> None:
        self._conn = conn
        self._ids = ids
        self.messages = messages

    async def expect_deliveries(self, deliveries: Sequence[DeliveryKey], due_at: datetime) -> None:
        if deliveries:
            await self._conn.execute(
                _RECORD_PUBLISHED[self._conn.dialect.name],
                [{"event_id": e, "consumer": c, "due_at": due_at} for e, c in deliveries],
            )

    async def mark_published(self, now: datetime) -> None:
        if self._ids:
            await self._conn.execute(
                _MARK_PUBLISHED[self._conn.dialect.name], {"b_ids": self._ids, "b_now": now}
            )


class _Overdue:
    def __init__(self, conn: Statements, deliveries: list[Overdue]) -> None:
        self._conn = conn
        self.deliveries = deliveries

    async def mark_republished(self, due_at: Sequence[datetime]) -> None:
        rows = [
            {"b_event_id": UUID(d.message["event_id"]), "b_consumer": d.consumer, "b_due_at": due}
            for d, due in zip(self.deliveries, due_at, strict=True)
        ]
        if rows:
            await self._conn.execute(_REPUBLISHED, rows)


class SqlOutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.concurrent_claims = engine.dialect.name == "postgresql"
        # Built once, with the limit a parameter: compiled once per process.
        self._claim = _claim_query(skip_locked=self.concurrent_claims)
        self._overdue = _overdue_query(skip_locked=self.concurrent_claims)

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[_Claimed]:
        async with transaction(self._engine) as conn:
            rows = (await conn.execute(self._claim, {"b_limit": limit})).all()
            yield _Claimed(conn, [row.id for row in rows], [message_of(row) for row in rows])

    @asynccontextmanager
    async def claim_overdue(self, now: datetime, limit: int) -> AsyncIterator[_Overdue]:
        async with transaction(self._engine) as conn:
            rows = (await conn.execute(self._overdue, {"b_now": now, "b_limit": limit})).all()
            yield _Overdue(
                conn, [Overdue(row.consumer, message_of(row), row.publications) for row in rows]
            )
