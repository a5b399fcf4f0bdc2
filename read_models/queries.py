"""Queries of the read models: the order list with its filters, and an order's timeline."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import order_view_cases, order_views, timeline_entries


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


class ReadModels:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

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

    async def channel_of(self, order_id: UUID) -> str | None:
        async with self._engine.connect() as conn:
            return (
                await conn.execute(
                    select(order_views.c.channel).where(order_views.c.order_id == order_id)
                )
            ).scalar()

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
