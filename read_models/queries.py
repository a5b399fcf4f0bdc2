"""Queries of the read models: an order and its returns, the order list with its filters, and an
order's timeline.

An order's own reads (its resource, its returns, its timeline) are read-your-writes: when the
outbox holds events of that order that its view lacks (one index lookup), they are projected
first, through the projector itself, so a channel sees its command's effect at once. Lists and
searches read the views as the projection left them."""

from __future__ import annotations

import base64
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.schema import (
    order_returns,
    order_view_cases,
    order_view_returns,
    order_views,
    outbox,
    timeline_entries,
)
from application.consumers import NotYet
from ports.unit_of_work import ConcurrencyConflict
from read_models.projector import OrderProjection


class BadCursor(ValueError):
    """Raised for a cursor this API did not hand out."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilter:
    customer_email: str | None = None
    channel: str | None = None
    channel_order_ref: str | None = None
    erp_order_ref: str | None = None
    case_id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class OrderView:
    version: int
    channel: str
    document: dict[str, Any]  #: the order resource
    returns: dict[str, dict[str, Any]]  #: return resources by return id


class ReadModels:
    def __init__(self, engine: AsyncEngine, projection: OrderProjection) -> None:
        self._engine = engine
        self._projection = projection

    async def order(self, order_id: UUID) -> OrderView | None:
        """The order's view, with every event committed so far applied."""
        async with self._engine.connect() as conn:
            view = await _view(conn, order_id)
            latest = (
                await conn.execute(
                    select(func.max(outbox.c.aggregate_version)).where(
                        outbox.c.aggregate_type == "order",
                        outbox.c.aggregate_id == str(order_id),
                    )
                )
            ).scalar()
        if latest is None:
            return None
        if view is not None and view.version >= latest:
            return view
        with suppress(ConcurrencyConflict, NotYet):  # another projector moved it on meanwhile
            await self._projection.catch_up(order_id, latest)
        async with self._engine.connect() as conn:
            return await _view(conn, order_id)

    async def order_of_return(self, return_id: UUID) -> OrderView | None:
        """The view of the order a return belongs to. A return so new that the views do not
        know it yet is found by the write side's key alone, and its order's view caught up."""
        known = select(order_view_returns.c.order_id).where(
            order_view_returns.c.return_id == return_id
        )
        new = select(order_returns.c.order_id).where(order_returns.c.return_id == return_id)
        async with self._engine.connect() as conn:
            order_id = (await conn.execute(known)).scalar() or (await conn.execute(new)).scalar()
        if order_id is None:
            return None
        view = await self.order(order_id)
        return view if view is not None and str(return_id) in view.returns else None

    async def orders(self, where: OrderFilter, limit: int, cursor: str | None) -> Page:
        """Order documents, newest first."""
        query = orders_query(where, limit, cursor)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        page = rows[:limit]
        more = len(rows) > limit
        return Page(
            [r.document for r in page],
            _encode(page[-1].created_at, page[-1].order_id) if more else None,
        )

    async def timeline(self, order_id: UUID, limit: int, cursor: str | None) -> Page:
        """The order's story, oldest first."""
        t = timeline_entries.c
        query = (
            select(t.aggregate_version, t.at, t.source, t.kind, t.title, t.detail, t.correlation_id)
            .where(t.order_id == order_id)
            .order_by(t.aggregate_version)
        )
        if cursor is not None:
            query = query.where(t.aggregate_version > _version(cursor))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        page = rows[:limit]
        items = [
            {"at": r.at, "source": r.source, "kind": r.kind, "title": r.title, "detail": r.detail,
             "correlation_id": r.correlation_id}
            for r in page
        ]  # fmt: skip
        more = len(rows) > limit
        return Page(items, _encode_version(page[-1].aggregate_version) if more else None)


def orders_query(where: OrderFilter, limit: int, cursor: str | None) -> Select[Any]:
    """The statement behind `ReadModels.orders`: one row more than `limit`, to know if more follow."""
    v = order_views.c
    query = select(v.document, v.created_at, v.order_id).order_by(
        v.created_at.desc(), v.order_id.desc()
    )
    if where.customer_email is not None:
        query = query.where(v.customer_email == where.customer_email.lower())
    if where.channel is not None:
        query = query.where(v.channel == where.channel)
    if where.channel_order_ref is not None:
        query = query.where(v.channel_order_ref == where.channel_order_ref)
    if where.erp_order_ref is not None:
        query = query.where(v.erp_order_ref == where.erp_order_ref)
    if where.status is not None:
        query = query.where(v.status == where.status)
    if where.case_id is not None:
        query = query.join(order_view_cases, order_view_cases.c.order_id == v.order_id).where(
            order_view_cases.c.case_id == where.case_id
        )
    if cursor is not None:
        created_at, order_id = _decode(cursor)
        # A row-value comparison, so PostgreSQL starts the index scan at the cursor.
        query = query.where(tuple_(v.created_at, v.order_id) < tuple_(created_at, order_id))
    return query.limit(limit + 1)


def _encode(created_at: datetime, order_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{order_id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, UUID]:
    try:
        created_at, _, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created_at), UUID(order_id)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadCursor(cursor) from e


def _encode_version(version: int) -> str:
    return base64.urlsafe_b64encode(f"v{version}".encode()).decode()


def _version(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith("v") or not text[1:].isdigit() or len(text) > 12:
            raise ValueError(text)
        return int(text[1:])
    except (ValueError, UnicodeDecodeError) as e:
        raise BadCursor(cursor) from e


async def _view(conn: AsyncConnection, order_id: UUID) -> OrderView | None:
    v = order_views.c
    query = select(v.version, v.channel, v.document, v.return_documents).where(
        v.order_id == order_id
    )
    row = (await conn.execute(query)).first()
    return OrderView(row.version, row.channel, row.document, row.return_documents) if row else None
