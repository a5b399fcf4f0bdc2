"""Projecting order events into the order view and the timeline, live and from scratch.

Live, an event is delivered to the `projection` consumer at least once and in any order. The
projector never applies an aggregate's events out of order: whatever event arrives, it catches
the view up from the outbox (the store of every event) to the newest event committed, at least to
that event's version, in one transaction, and ignores anything at or below the version it
already has.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.errors import translate
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
from application.consumers import NotYet
from domain.events import EVENT_TYPES, OrderEvent
from outbox.messages import envelope_from_message, message_from_row
from ports.clock import Clock
from ports.outbox import EventEnvelope
from ports.unit_of_work import ConcurrencyConflict
from read_models.order_view import Document, fold
from read_models.return_view import fold_returns
from read_models.timeline import entry

ORDER_EVENTS = frozenset(name for name, cls in EVENT_TYPES.items() if issubclass(cls, OrderEvent))
_BATCH = 1000
PROJECTION = "projection"  #: the consumer's name

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


class OrderProjection:
    """The consumer that keeps `order_views`, `order_view_cases`, `order_view_returns` and
    `timeline_entries`."""

    name = PROJECTION
    subscribes = ORDER_EVENTS
    in_order = False  # it catches up from the outbox itself...
    catches_up = True  # ...so the newest event of an order in a relay batch is enough

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._lock_rows = engine.dialect.name == "postgresql"

    async def handle(self, envelope: EventEnvelope) -> None:
        await self.catch_up(UUID(envelope.aggregate_id), envelope.aggregate_version)

    async def catch_up(self, order_id: UUID, version: int) -> None:
        """Bring the order's view up to `version` at least (to everything committed), from the
        outbox."""
        try:
            await self._project(order_id, version)
        except Exception as e:
            translated = translate(e)
            if translated is None:
                raise
            raise translated from e

    async def _project(self, order_id: UUID, version: int) -> None:
        async with transaction(self._engine) as conn:
            if self._lock_rows:
                # One projector at a time per order, even before its view row exists (two of an
                # order's first events often arrive together).
                key = int.from_bytes(order_id.bytes[:8], "big", signed=True)
                await conn.execute(_LOCK_ORDER, {"key": key})
            row = (await conn.execute(_VIEW, {"b_order_id": order_id})).first()
            current = row.version if row else 0
            if version <= current:
                return  # applied already: a duplicate or a late copy
            # Everything committed after the view, not only up to this event: the deliveries of
            # the order's later events (often written in the same command) then find nothing to
            # do. An order's versions commit in order, so what is visible has no gap.
            missed = await _events(conn, str(order_id), current)
            contiguous = all(e.aggregate_version == current + 1 + i for i, e in enumerate(missed))
            if len(missed) < version - current or not contiguous:
                raise NotYet(f"order {order_id}: events {current + 1}..{version} not all visible")
            document = row.document if row else None
            returns: dict[str, Document] = dict(row.return_documents) if row else {}
            entries = []
            for event in missed:
                document = fold(document, event)
                fold_returns(returns, event)
                entries.append(_entry_row(event))
            assert document is not None
            await write_view(conn, order_id, current, document, returns)
            await _insert_entries(conn, [e for e in entries if e is not None])
            await conn.execute(
                _MARK_APPLIED[conn.dialect.name],
                {"b_event_ids": [e.event_id for e in missed], "b_now": self._clock.now()},
            )


async def rebuild(engine: AsyncEngine, page_size: int = 5000) -> int:
    """Recreate every order view and timeline from the outbox; returns how many orders. Events
    are read `page_size` at a time, so memory stays flat however long the history."""
    async with engine.begin() as conn:
        for table in (timeline_entries, order_view_cases, order_view_returns, order_views):
            await conn.execute(delete(table))
        orders = 0
        current: str | None = None
        document: Document | None = None
        returns: dict[str, Document] = {}
        entries: list[dict[str, Any]] = []
        async for row in _all_order_events(conn, page_size):
            if row.aggregate_id != current:
                if current is not None and document is not None:
                    await write_view(conn, UUID(current), 0, document, returns)
                    orders += 1
                current, document, returns = row.aggregate_id, None, {}
            event = envelope_from_message(message_from_row(row))
            document = fold(document, event)
            fold_returns(returns, event)
            if (timeline_row := _entry_row(event)) is not None:
                entries.append(timeline_row)
            if len(entries) >= _BATCH:
                await _insert_entries(conn, entries)
                entries = []
        if current is not None and document is not None:
            await write_view(conn, UUID(current), 0, document, returns)
            orders += 1
        await _insert_entries(conn, entries)
    return orders


async def _all_order_events(conn: AsyncConnection, page_size: int) -> AsyncIterator[Any]:
    """Every order event in (order, version) order, a page at a time (memory stays flat)."""
    o = outbox.c
    after: tuple[str, int] = ("", 0)
    while True:
        page = (
            await conn.execute(
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
            yield row
        if len(page) < page_size:
            return
        after = (page[-1].aggregate_id, page[-1].aggregate_version)


async def write_view(
    conn: Statements,
    order_id: UUID,
    previous: int,
    document: Document,
    returns: dict[str, Document],
) -> None:
    """Insert the view (previous version 0) or move it on from `previous`, and index its cases
    and returns."""
    values = {
        "version": document["version"],
        "channel": document["channel"],
        "channel_order_ref": document["channel_order_ref"],
        "status": document["status"],
        "customer_email": document["customer"]["email"].lower(),
        "erp_order_ref": document["erp_order_ref"],
        "created_at": datetime.fromisoformat(document["created_at"]),
        "last_event_at": datetime.fromisoformat(document["updated_at"]),
        "document": document,
        "return_documents": returns,
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
    if returns:
        await conn.execute(
            _INDEX_RETURNS[conn.dialect.name],
            [{"return_id": UUID(return_id), "order_id": order_id} for return_id in returns],
        )


async def _events(conn: Statements, aggregate_id: str, after: int) -> list[EventEnvelope]:
    rows = await conn.execute(_EVENTS_AFTER, {"b_aggregate_id": aggregate_id, "b_after": after})
    return [envelope_from_message(message_from_row(row)) for row in rows.all()]


def _entry_row(event: EventEnvelope) -> dict[str, Any] | None:
    data = msgspec.to_builtins(event.payload)
    found = entry(event, data)
    if found is None:
        return None
    return {
        "order_id": UUID(event.aggregate_id),
        "aggregate_version": event.aggregate_version,
        "event_id": event.event_id,
        "at": found.at,
        "source": found.source,
        "kind": found.kind,
        "title": found.title,
        "detail": found.detail,
        "correlation_id": event.correlation_id,
    }


async def _insert_entries(conn: Statements, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if rows:
        await conn.execute(_INSERT_ENTRIES, rows)
