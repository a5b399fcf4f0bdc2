"""The projector's side of the read models in SQL: `order_views` (with the columns the searches
index), `order_view_cases`, `order_view_returns` and `timeline_entries`, written in one
transaction per catch-up, on the asyncpg connection on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.errors import translate
from adapters.sql.outbox_store import message_of
from adapters.sql.per_dialect import insert_or_skip, one_of
from adapters.sql.schema import (
    deliveries,
    order_view_cases,
    order_view_returns,
    order_views,
    outbox,
    timeline_entries,
)
from adapters.sql.statements import Statements, transaction
from ports.outbox import Message
from ports.unit_of_work import ConcurrencyConflict
from ports.views import OrderView, TimelineEntry

#: The consumer whose deliveries a catch-up finishes (read_models/projector.py).
PROJECTION = "projection"
_ENTRIES_PER_INSERT = 1000

# The statements run for every delivery are built once (building them per call cost more CPU
# than running them).
_LOCK_ORDER = text("SELECT pg_advisory_xact_lock(:key)")
_VIEW = select(order_views.c.version, order_views.c.document, order_views.c.return_documents).where(
    order_views.c.order_id == bindparam("b_order_id")
)
_EVENTS_AFTER = (
    select(outbox)
    .where(
        outbox.c.aggregate_type == "order",
        outbox.c.aggregate_id == bindparam("b_aggregate_id"),
        outbox.c.aggregate_version > bindparam("b_after"),
    )
    .order_by(outbox.c.aggregate_version)
)
_INSERT_VIEW = insert(order_views)
_MOVE_VIEW_ON = update(order_views).where(
    order_views.c.order_id == bindparam("b_order_id"),
    order_views.c.version == bindparam("b_previous"),
)
_INSERT_ENTRIES = insert(timeline_entries)
#: The projection's deliveries of the events a catch-up applied are done: the message of an
#: order's second event, usually written by the same command, then costs one lookup. (No
#: `processed_at IS NULL` in the WHERE: with it, the conditions match the partial index of due
#: deliveries, and PostgreSQL, before its first ANALYZE of a filling table, scanned all of that
#: index instead of probing the key: ~30 ms per catch-up at 50k deliveries.)
_MARK_APPLIED = {
    dialect: update(deliveries)
    .where(ids, deliveries.c.consumer == PROJECTION, deliveries.c.dead_at.is_(None))
    .values(processed_at=func.coalesce(deliveries.c.processed_at, bindparam("b_now")))
    for dialect, ids in one_of(deliveries.c.event_id, "b_event_ids").items()
}
_INDEX_CASES = insert_or_skip(order_view_cases)
_INDEX_RETURNS = insert_or_skip(order_view_returns)


class _Update:
    def __init__(self, conn: Statements, order_id: UUID) -> None:
        self._conn = conn
        self._order_id = order_id

    async def view(self) -> OrderView | None:
        row = (await self._conn.execute(_VIEW, {"b_order_id": self._order_id})).first()
        if row is None:
            return None
        return OrderView(row.version, row.document["channel"], row.document, row.return_documents)

    async def events_after(self, version: int) -> list[Message]:
        rows = await self._conn.execute(
            _EVENTS_AFTER, {"b_aggregate_id": str(self._order_id), "b_after": version}
        )
        return [message_of(row) for row in rows.all()]

    async def save(
        self,
        previous: int,
        view: OrderView,
        entries: Sequence[TimelineEntry],
        applied: Sequence[UUID],
        now: datetime,
    ) -> None:
        await write_view(self._conn, self._order_id, previous, view)
        await _insert_entries(self._conn, entries)
        await self._conn.execute(
            _MARK_APPLIED[self._conn.dialect.name], {"b_event_ids": list(applied), "b_now": now}
        )


#: What a rebuild deletes of each order it rebuilds, through their keys, before writing it anew.
#: (The indexes of its cases and returns are written insert-or-skip: an order rebuilt from its
#: whole stream has the same ones.)
_REBUILT = (timeline_entries, order_views)


class _Rebuild:
    def __init__(self, conn: Statements) -> None:
        self._conn = conn
        self._entries: list[TimelineEntry] = []

    async def order_events(self, page_size: int) -> AsyncIterator[Message]:
        """A page at a time, by (order, version) keyset: memory stays flat."""
        o = outbox.c
        after: tuple[str, int] = ("", 0)
        while True:
            page = (
                await self._conn.execute(
                    select(outbox)
                    .where(
                        o.aggregate_type == "order",
                        or_(
                            o.aggregate_id > after[0],
                            and_(o.aggregate_id == after[0], o.aggregate_version > after[1]),
                        ),
                    )
                    .order_by(o.aggregate_id, o.aggregate_version)
                    .limit(page_size)
                )
            ).all()
            for row in page:
                yield message_of(row)
            if len(page) < page_size:
                return
            after = (page[-1].aggregate_id, page[-1].aggregate_version)

    async def save(self, view: OrderView, entries: Sequence[TimelineEntry]) -> None:
        order_id = UUID(view.document["id"])
        for table in _REBUILT:
            await self._conn.execute(delete(table).where(table.c.order_id == order_id))
        await write_view(self._conn, order_id, 0, view)
        self._entries += entries
        if len(self._entries) >= _ENTRIES_PER_INSERT:
            await self.flush()

    async def flush(self) -> None:
        await _insert_entries(self._conn, self._entries)
        self._entries = []


class SqlViewStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lock_rows = engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def updating(self, order_id: UUID) -> AsyncIterator[_Update]:
        try:
            async with transaction(self._engine) as conn:
                if self._lock_rows:
                    # One projector at a time per order, even before its view row exists (two
                    # of an order's first events often arrive together). SQLite has one writer.
                    key = int.from_bytes(order_id.bytes[:8], "big", signed=True)
                    await conn.execute(_LOCK_ORDER, {"key": key})
                yield _Update(conn, order_id)
        except Exception as e:
            translated = translate(e)
            if translated is None:
                raise
            raise translated from e

    @asynccontextmanager
    async def rebuilding(self) -> AsyncIterator[_Rebuild]:
        async with self._engine.begin() as conn:
            rebuild = _Rebuild(conn)
            yield rebuild
            await rebuild.flush()


async def write_view(conn: Statements, order_id: UUID, previous: int, view: OrderView) -> None:
    """Insert the view (previous version 0) or move it on from `previous`, and index its cases
    and returns."""
    document = view.document
    values = {
        "version": view.version,
        "channel": view.channel,
        "channel_order_ref": document["channel_order_ref"],
        "status": document["status"],
        "customer_email": document["customer"]["email"].lower(),
        "erp_order_ref": document["erp_order_ref"],
        "created_at": datetime.fromisoformat(document["created_at"]),
        "last_event_at": datetime.fromisoformat(document["updated_at"]),
        "document": document,
        "return_documents": view.returns,
    }
    if previous == 0:
        await conn.execute(_INSERT_VIEW, {"order_id": order_id, **values})
    else:
        done = await conn.execute(
            _MOVE_VIEW_ON, {"b_order_id": order_id, "b_previous": previous, **values}
        )
        if done.rowcount != 1:
            raise ConcurrencyConflict(f"order view {order_id} moved on meanwhile")
    if document["case_ids"]:
        await conn.execute(
            _INDEX_CASES[conn.dialect.name],
            [{"case_id": case_id, "order_id": order_id} for case_id in document["case_ids"]],
        )
    if view.returns:
        await conn.execute(
            _INDEX_RETURNS[conn.dialect.name],
            [{"return_id": UUID(return_id), "order_id": order_id} for return_id in view.returns],
        )


async def _insert_entries(conn: Statements, entries: Sequence[TimelineEntry]) -> None:
    if entries:
        await conn.execute(_INSERT_ENTRIES, [_entry_row(e) for e in entries])


def _entry_row(e: TimelineEntry) -> dict[str, Any]:
    return {
        "order_id": e.order_id, "aggregate_version": e.aggregate_version, "event_id": e.event_id,
        "at": e.at, "source": e.source, "kind": e.kind, "title": e.title, "detail": e.detail,
        "correlation_id": e.correlation_id,
    }  # fmt: skip
