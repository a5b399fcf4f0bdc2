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

from sqlalchemy import Select, bindparam, func, select, tuple_
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


_v = order_views.c
_t = timeline_entries.c
#: The newest version of the order the outbox holds, and the view beside it (if any): whether the
#: view is current, in the same round trip as the view.
_LATEST = (
    select(func.max(outbox.c.aggregate_version).label("latest"))
    .where(
        outbox.c.aggregate_type == "order",
        outbox.c.aggregate_id == bindparam("b_aggregate_id"),
    )
    .subquery("latest")
)
_VIEWED = _LATEST.outerjoin(order_views, _v.order_id == bindparam("b_order_id"))
_VIEW_AND_LATEST = select(
    _LATEST.c.latest, _v.version, _v.channel, _v.document, _v.return_documents
).select_from(_VIEWED)
#: The same check without the documents, for reads that only need to know who may see the order.
_STANDING = select(_LATEST.c.latest, _v.version, _v.channel).select_from(_VIEWED)
_VIEW = select(_v.version, _v.channel, _v.document, _v.return_documents).where(
    _v.order_id == bindparam("b_order_id")
)
_TIMELINE = (
    select(_t.aggregate_version, _t.at, _t.source, _t.kind, _t.title, _t.detail, _t.correlation_id)
    .where(_t.order_id == bindparam("b_order_id"), _t.aggregate_version > bindparam("b_after"))
    .order_by(_t.aggregate_version)
    .limit(bindparam("b_limit"))
)


def _ids(order_id: UUID) -> dict[str, object]:
    return {"b_order_id": order_id, "b_aggregate_id": str(order_id)}


@dataclass(frozen=True, slots=True)
class Timeline:
    channel: str  #: the order's, for the visibility check
    page: Page


class ReadModels:
    def __init__(self, engine: AsyncEngine, projection: OrderProjection) -> None:
        self._engine = engine
        self._projection = projection

    async def order(self, order_id: UUID) -> OrderView | None:
        """The order's view, with every event committed so far applied."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(_VIEW_AND_LATEST, _ids(order_id))).one()
        if row.latest is None:
            return None
        if row.version is not None and row.version >= row.latest:
            return OrderView(row.version, row.channel, row.document, row.return_documents)
        await self._catch_up(order_id, row.latest)
        async with self._engine.connect() as conn:
            return await _view(conn, order_id)

    async def _catch_up(self, order_id: UUID, latest: int) -> None:
        with suppress(ConcurrencyConflict, NotYet):  # another projector moved it on meanwhile
            await self._projection.catch_up(order_id, latest)

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

    async def timeline(self, order_id: UUID, limit: int, cursor: str | None) -> Timeline | None:
        """The order's story, oldest first, every event committed so far included (None: no such
        order). One round trip to check the view is current, one for the page; the documents
        are not read."""
        params = {**_ids(order_id), "b_after": 0 if cursor is None else _version(cursor),
                  "b_limit": limit + 1}  # fmt: skip
        async with self._engine.connect() as conn:
            standing = (await conn.execute(_STANDING, params)).one()
            if standing.latest is None:
                return None
            current = standing.version is not None and standing.version >= standing.latest
            rows = (await conn.execute(_TIMELINE, params)).all() if current else None
        if rows is None:
            await self._catch_up(order_id, standing.latest)
            async with self._engine.connect() as conn:
                standing = (await conn.execute(_STANDING, params)).one()
                rows = (await conn.execute(_TIMELINE, params)).all()
            if standing.channel is None:
                return None  # not projectable yet (an event is missing): as if not there
        page = rows[:limit]
        items = [
            {"at": r.at, "source": r.source, "kind": r.kind, "title": r.title, "detail": r.detail,
             "correlation_id": r.correlation_id}
            for r in page
        ]  # fmt: skip
        more = len(rows) > limit
        next_cursor = _encode_version(page[-1].aggregate_version) if more else None
        return Timeline(standing.channel, Page(items, next_cursor))


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
    row = (await conn.execute(_VIEW, {"b_order_id": order_id})).first()
    return OrderView(row.version, row.channel, row.document, row.return_documents) if row else None
