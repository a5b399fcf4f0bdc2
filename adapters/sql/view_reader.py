"""The queries' side of the read models in SQL: a view with its standing against the outbox in one
round trip, an order's timeline page, and the keyset-paginated searches."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import (
    order_returns,
    order_view_cases,
    order_view_returns,
    order_views,
    outbox,
    timeline_entries,
)
from ports.views import Listed, OrderFilter, OrderView, Standing, TimelineEntry

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
_TIMELINE = (
    select(
        _t.aggregate_version, _t.event_id, _t.at, _t.source, _t.kind, _t.title, _t.detail,
        _t.correlation_id,
    )
    .where(_t.order_id == bindparam("b_order_id"), _t.aggregate_version > bindparam("b_after"))
    .order_by(_t.aggregate_version)
    .limit(bindparam("b_limit"))
)  # fmt: skip


def _ids(order_id: UUID) -> dict[str, object]:
    return {"b_order_id": order_id, "b_aggregate_id": str(order_id)}


class SqlViewReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def order(self, order_id: UUID) -> tuple[Standing, OrderView | None]:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_VIEW_AND_LATEST, _ids(order_id))).one()
        standing = Standing.of(row.latest, row.version, row.channel)
        if row.version is None:
            return standing, None
        return standing, OrderView(row.version, row.channel, row.document, row.return_documents)

    async def timeline(
        self, order_id: UUID, after: int, limit: int, *, even_if_behind: bool = False
    ) -> tuple[Standing, list[TimelineEntry] | None]:
        params = {**_ids(order_id), "b_after": after, "b_limit": limit}
        async with self._engine.connect() as conn:
            row = (await conn.execute(_STANDING, params)).one()
            standing = Standing.of(row.latest, row.version, row.channel)
            if standing.latest is None or not (standing.current or even_if_behind):
                return standing, None
            rows = (await conn.execute(_TIMELINE, params)).all()
        return standing, [
            TimelineEntry(
                order_id=order_id, aggregate_version=r.aggregate_version, event_id=r.event_id,
                at=r.at, source=r.source, kind=r.kind, title=r.title, detail=r.detail,
                correlation_id=r.correlation_id,
            )
            for r in rows
        ]  # fmt: skip

    async def search(
        self, where: OrderFilter, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Listed]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(search_query(where, limit, after))).all()
        return [Listed(r.document, r.created_at, r.order_id) for r in rows]

    async def order_of_return(self, return_id: UUID) -> UUID | None:
        known = select(order_view_returns.c.order_id).where(
            order_view_returns.c.return_id == return_id
        )
        new = select(order_returns.c.order_id).where(order_returns.c.return_id == return_id)
        async with self._engine.connect() as conn:
            found: UUID | None = (await conn.execute(known)).scalar() or (
                await conn.execute(new)
            ).scalar()
        return found


def search_query(
    where: OrderFilter, limit: int, after: tuple[datetime, UUID] | None
) -> Select[Any]:
    """The statement behind `SqlViewReader.search` (bench/query_plans.py explains it)."""
    query = select(_v.document, _v.created_at, _v.order_id).order_by(
        _v.created_at.desc(), _v.order_id.desc()
    )
    if where.customer_email is not None:
        query = query.where(_v.customer_email == where.customer_email.lower())
    if where.channel is not None:
        query = query.where(_v.channel == where.channel)
    if where.channel_order_ref is not None:
        query = query.where(_v.channel_order_ref == where.channel_order_ref)
    if where.erp_order_ref is not None:
        query = query.where(_v.erp_order_ref == where.erp_order_ref)
    if where.status is not None:
        query = query.where(_v.status == where.status)
    if where.case_id is not None:
        query = query.join(order_view_cases, order_view_cases.c.order_id == _v.order_id).where(
            order_view_cases.c.case_id == where.case_id
        )
    if after is not None:
        # A row-value comparison, so PostgreSQL starts the index scan at the cursor.
        query = query.where(tuple_(_v.created_at, _v.order_id) < tuple_(*after))
    return query.limit(limit)
