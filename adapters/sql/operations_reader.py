"""What operators watch, read in SQL from the outbox, the deliveries and the read models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import dead_letters, deliveries, order_views, outbox, timeline_entries
from ports.operations import (
    DeliveryCounts,
    OutboxBacklog,
    ReceivedReturn,
    Since,
    WaitingOrder,
)


class SqlOperationsReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._status_of_return = _STATUS_OF_RETURN[engine.dialect.name]

    async def outbox_backlog(self, published_since: datetime) -> OutboxBacklog:
        o = outbox.c
        async with self._engine.connect() as conn:
            unpublished, oldest = (
                await conn.execute(
                    select(func.count(), func.min(o.occurred_at)).where(o.published_at.is_(None))
                )
            ).one()
            published = (
                await conn.execute(select(func.count()).where(o.published_at >= published_since))
            ).scalar_one()
        return OutboxBacklog(
            int(unpublished), _aware(oldest) if oldest is not None else None, int(published)
        )

    async def orders_waiting(
        self, statuses: Sequence[str], since: Since, before: datetime, limit: int
    ) -> list[WaitingOrder]:
        v = order_views.c
        moment = v.created_at if since is Since.PLACED else v.last_event_at
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(v.order_id, v.channel_order_ref, v.status, moment.label("since"))
                .where(v.status.in_(statuses), moment < before)
                .order_by(moment)
                .limit(limit)
            )
            return [
                WaitingOrder(r.order_id, r.channel_order_ref, r.status, _aware(r.since))
                for r in rows
            ]

    async def returns_received_before(self, before: datetime, limit: int) -> list[ReceivedReturn]:
        t, v = timeline_entries.c, order_views.c
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(t.order_id, t.at, t.detail, v.channel_order_ref, v.document)
                .join(order_views, v.order_id == t.order_id)
                .where(t.kind == "return.received", t.at < before)
                .order_by(t.at)
                .limit(limit)
            )
            found = []
            for r in rows:
                return_id = r.detail.get("return_id")
                status = next(
                    (ret["status"] for ret in r.document["returns"] if ret["id"] == return_id), None
                )
                found.append(
                    ReceivedReturn(
                        order_id=r.order_id,
                        channel_order_ref=r.channel_order_ref,
                        return_id=return_id,
                        return_status=status,
                        received_at=_aware(r.at),
                    )
                )
            return found

    async def orders_with_entry(
        self, kind: str, statuses: Sequence[str], limit: int
    ) -> list[WaitingOrder]:
        t, v = timeline_entries.c, order_views.c
        first = func.min(t.at).label("since")
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(v.order_id, v.channel_order_ref, v.status, first)
                .join(timeline_entries, t.order_id == v.order_id)
                .where(t.kind == kind, v.status.in_(statuses))
                .group_by(v.order_id, v.channel_order_ref, v.status)
                .order_by(first)
                .limit(limit)
            )
            return [
                WaitingOrder(r.order_id, r.channel_order_ref, r.status, _aware(r.since))
                for r in rows
            ]

    async def count_orders_waiting(
        self, statuses: Sequence[str], since: Since, before: datetime
    ) -> int:
        v = order_views.c
        moment = v.created_at if since is Since.PLACED else v.last_event_at
        return await self._count(
            select(func.count()).where(v.status.in_(statuses), moment < before)
        )

    async def count_returns_received_before(self, before: datetime, statuses: Sequence[str]) -> int:
        """The return's status now is read from its order's view (`return_documents`, keyed by
        return id) in the statement: no row comes back but the count."""
        t, v = timeline_entries.c, order_views.c
        return await self._count(
            select(func.count())
            .select_from(timeline_entries)
            .join(order_views, v.order_id == t.order_id)
            .where(
                t.kind == "return.received",
                t.at < before,
                self._status_of_return(v.return_documents, t.detail).in_(statuses),
            )
        )

    async def count_orders_with_entry(self, kind: str, statuses: Sequence[str]) -> int:
        t, v = timeline_entries.c, order_views.c
        return await self._count(
            select(func.count(distinct(v.order_id)))
            .select_from(order_views)
            .join(timeline_entries, t.order_id == v.order_id)
            .where(t.kind == kind, v.status.in_(statuses))
        )

    async def _count(self, statement: Any) -> int:
        async with self._engine.connect() as conn:
            return int((await conn.execute(statement)).scalar_one())

    async def delivery_counts(self) -> DeliveryCounts:
        d = deliveries.c
        unfinished = (d.processed_at.is_(None), d.dead_at.is_(None))
        async with self._engine.connect() as conn:
            dead = (await conn.execute(select(func.count()).select_from(dead_letters))).scalar_one()
            pending = (await conn.execute(select(func.count()).where(*unfinished))).scalar_one()
            failing = (
                await conn.execute(
                    select(func.count()).where(*unfinished, d.last_error.is_not(None))
                )
            ).scalar_one()
        return DeliveryCounts(int(dead), int(pending), int(failing))

    async def waiting_for_remotes(self) -> dict[str, int]:
        """Walks the unfinished deliveries (the partial index `ix_deliveries_due` covers them),
        as `delivery_counts` does."""
        d = deliveries.c
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(d.waiting_for, func.count())
                .where(d.processed_at.is_(None), d.dead_at.is_(None), d.outage_since.is_not(None))
                .group_by(d.waiting_for)
            )
            return {str(remote): int(count) for remote, count in rows if remote is not None}


def _postgres_status_of_return(
    documents: ColumnElement[Any], detail: ColumnElement[Any]
) -> ColumnElement[Any]:
    return func.jsonb_extract_path_text(
        documents, func.jsonb_extract_path_text(detail, "return_id"), "status"
    )


def _sqlite_status_of_return(
    documents: ColumnElement[Any], detail: ColumnElement[Any]
) -> ColumnElement[Any]:
    path = func.printf('$."%s".status', func.json_extract(detail, "$.return_id"))
    return func.json_extract(documents, path)


#: `return_documents[detail.return_id].status`, by dialect.
_STATUS_OF_RETURN = {
    "postgresql": _postgres_status_of_return,
    "sqlite": _sqlite_status_of_return,
}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
