"""What operators watch: the outbox's lag, and workflows stuck past their service level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import dead_letters, deliveries, order_views, outbox, timeline_entries
from ports.clock import Clock

NOT_BOOKED = ("reserved", "backordered", "on_hold")
NOT_DELIVERED = ("shipped", "partially_shipped")
NOT_REFUNDED = ("received", "inspected", "on_hold")


@dataclass(frozen=True, slots=True, kw_only=True)
class Slas:
    """How long each step may take before the workflow is stuck (PRODUCT.md §5 defaults)."""

    booking: timedelta = timedelta(minutes=15)
    delivery: timedelta = timedelta(days=10)
    refund: timedelta = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    unpublished: int
    oldest_unpublished_age_seconds: float
    published_last_minute: int


@dataclass(frozen=True, slots=True)
class Stuck:
    kind: str
    order_id: UUID
    channel_order_ref: str
    status: str
    since: datetime
    age_seconds: float
    return_id: str | None = None


class Operations:
    def __init__(self, engine: AsyncEngine, clock: Clock, slas: Slas | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self.slas = slas or Slas()

    def now(self) -> datetime:
        return self._clock.now()

    async def outbox(self, now: datetime) -> OutboxStatus:
        o = outbox.c
        async with self._engine.connect() as conn:
            unpublished, oldest = (
                await conn.execute(
                    select(func.count(), func.min(o.occurred_at)).where(o.published_at.is_(None))
                )
            ).one()
            last_minute = (
                await conn.execute(
                    select(func.count()).where(o.published_at >= now - timedelta(minutes=1))
                )
            ).scalar_one()
        age = (now - _aware(oldest)).total_seconds() if oldest is not None else 0.0
        return OutboxStatus(int(unpublished), max(age, 0.0), int(last_minute))

    async def stuck(self, now: datetime, limit: int = 100) -> list[Stuck]:
        """Orders not booked, shipments not delivered, returns received but not refunded, each
        past its SLA; oldest first per kind."""
        v = order_views.c
        found: list[Stuck] = []
        async with self._engine.connect() as conn:
            for kind, statuses, sla, since in (
                ("not_booked", NOT_BOOKED, self.slas.booking, v.created_at),
                ("not_delivered", NOT_DELIVERED, self.slas.delivery, v.last_event_at),
            ):
                rows = await conn.execute(
                    select(v.order_id, v.channel_order_ref, v.status, since.label("since"))
                    .where(v.status.in_(statuses), since < now - sla)
                    .order_by(since)
                    .limit(limit)
                )
                found += [
                    Stuck(
                        kind,
                        r.order_id,
                        r.channel_order_ref,
                        r.status,
                        _aware(r.since),
                        (now - _aware(r.since)).total_seconds(),
                    )
                    for r in rows
                ]
            found += await self._unrefunded(conn, now, limit)
        return found

    async def _unrefunded(self, conn: Any, now: datetime, limit: int) -> list[Stuck]:
        t, v = timeline_entries.c, order_views.c
        rows = await conn.execute(
            select(t.order_id, t.at, t.detail, v.channel_order_ref, v.document)
            .join(order_views, v.order_id == t.order_id)
            .where(t.kind == "return.received", t.at < now - self.slas.refund)
            .order_by(t.at)
            .limit(limit * 4)
        )
        stuck = []
        for r in rows:
            return_id = r.detail.get("return_id")
            status = next(
                (ret["status"] for ret in r.document["returns"] if ret["id"] == return_id), None
            )
            if status in NOT_REFUNDED:
                at = _aware(r.at)
                stuck.append(
                    Stuck(
                        "not_refunded",
                        r.order_id,
                        r.channel_order_ref,
                        status,
                        at,
                        (now - at).total_seconds(),
                        return_id,
                    )
                )
        return stuck[:limit]

    async def counts(self) -> dict[str, int]:
        """Totals for /metrics: dead letters, deliveries waiting, consumer failures."""
        d = deliveries.c
        async with self._engine.connect() as conn:
            dead = (await conn.execute(select(func.count()).select_from(dead_letters))).scalar_one()
            pending = (
                await conn.execute(
                    select(func.count()).where(d.processed_at.is_(None), d.dead_at.is_(None))
                )
            ).scalar_one()
            failing = (
                await conn.execute(
                    select(func.count()).where(
                        d.processed_at.is_(None), d.dead_at.is_(None), d.last_error.is_not(None)
                    )
                )
            ).scalar_one()
        return {
            "dead_letters": int(dead),
            "deliveries_pending": int(pending),
            "deliveries_failing": int(failing),
        }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
