"""What operators watch: the outbox's lag, and workflows stuck past their service level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from ports.clock import Clock
from ports.operations import OperationsReader, Since
from read_models.timeline import CANCEL_REQUESTED_AFTER_SHIPMENT

NOT_BOOKED = ("reserved", "backordered", "on_hold")
NOT_DELIVERED = ("shipped", "partially_shipped")
NOT_REFUNDED = ("received", "inspected", "on_hold")
#: A cancellation the channel asked for after shipping waits for an agent until the order is
#: delivered (then it is a return, not a cancellation, to settle).
STILL_SHIPPING = ("partially_shipped", "shipped")


class StuckKind(StrEnum):
    """Why a workflow is stuck: the step it has waited on past its service level."""

    NOT_BOOKED = "not_booked"
    NOT_DELIVERED = "not_delivered"
    NOT_REFUNDED = "not_refunded"
    CANCEL_REQUESTED_AFTER_SHIPMENT = "cancel_requested_after_shipment"


#: Every kind of stuck workflow, for those who count them.
STUCK_KINDS = tuple(kind.value for kind in StuckKind)


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
    def __init__(self, reader: OperationsReader, clock: Clock, slas: Slas | None = None) -> None:
        self._reader = reader
        self._clock = clock
        self.slas = slas or Slas()

    def now(self) -> datetime:
        return self._clock.now()

    async def outbox(self, now: datetime) -> OutboxStatus:
        backlog = await self._reader.outbox_backlog(now - timedelta(minutes=1))
        oldest = backlog.oldest_unpublished_at
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        return OutboxStatus(backlog.unpublished, max(age, 0.0), backlog.published_since)

    async def stuck(self, now: datetime, limit: int = 100) -> list[Stuck]:
        """Orders not booked, shipments not delivered, returns received but not refunded, each
        past its SLA, and orders the channel cancelled after they shipped (until delivered);
        oldest first per kind."""
        found: list[Stuck] = []
        for kind, statuses, sla, since in (
            ("not_booked", NOT_BOOKED, self.slas.booking, Since.PLACED),
            ("not_delivered", NOT_DELIVERED, self.slas.delivery, Since.LAST_EVENT),
        ):
            waiting = await self._reader.orders_waiting(statuses, since, now - sla, limit)
            found += [
                Stuck(kind, w.order_id, w.channel_order_ref, w.status, w.since,
                      (now - w.since).total_seconds())
                for w in waiting
            ]  # fmt: skip
        found += await self._unrefunded(now, limit)
        found += await self._cancel_requested_after_shipment(now, limit)
        return found

    async def stuck_counts(self, now: datetime) -> dict[str, int]:
        """How many workflows of each of `STUCK_KINDS` `stuck` would find with no limit, each
        counted by the database (for /metrics, which must not stop at a page)."""
        reader, slas = self._reader, self.slas
        return {
            "not_booked": await reader.count_orders_waiting(
                NOT_BOOKED, Since.PLACED, now - slas.booking
            ),
            "not_delivered": await reader.count_orders_waiting(
                NOT_DELIVERED, Since.LAST_EVENT, now - slas.delivery
            ),
            "not_refunded": await reader.count_returns_received_before(
                now - slas.refund, NOT_REFUNDED
            ),
            "cancel_requested_after_shipment": await reader.count_orders_with_entry(
                CANCEL_REQUESTED_AFTER_SHIPMENT, STILL_SHIPPING
            ),
        }

    async def _cancel_requested_after_shipment(self, now: datetime, limit: int) -> list[Stuck]:
        # No SLA: the shop has already cancelled, so an agent must act at once.
        asked = await self._reader.orders_with_entry(
            CANCEL_REQUESTED_AFTER_SHIPMENT, STILL_SHIPPING, limit
        )
        return [
            Stuck("cancel_requested_after_shipment", w.order_id, w.channel_order_ref, w.status,
                  w.since, (now - w.since).total_seconds())
            for w in asked
        ]  # fmt: skip

    async def _unrefunded(self, now: datetime, limit: int) -> list[Stuck]:
        # Most returns received long ago are refunded: read a few times more than asked for.
        received = await self._reader.returns_received_before(now - self.slas.refund, limit * 4)
        stuck = [
            Stuck("not_refunded", r.order_id, r.channel_order_ref, r.return_status,
                  r.received_at, (now - r.received_at).total_seconds(), r.return_id)
            for r in received
            if r.return_status in NOT_REFUNDED
        ]  # fmt: skip
        return stuck[:limit]

    async def counts(self) -> dict[str, int]:
        """Totals for /metrics: dead letters, deliveries waiting, consumer failures."""
        counts = await self._reader.delivery_counts()
        return {
            "dead_letters": counts.dead_letters,
            "deliveries_pending": counts.pending,
            "deliveries_failing": counts.failing,
        }
