"""What the demo did, counted from the database, and whether every order's events explain it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.order_record import order_from_row
from adapters.sql.schema import dead_letters, deliveries, inbound_deferred, orders, outbox

#: The status an event leaves its order in, when the event says so.
_STATUS_OF_EVENT = {
    "OrderPlaced": "placed",
    "OrderBackordered": "backordered",
    "OrderRejectedByErp": "on_hold",
    "OrderHeld": "on_hold",
    "PaymentFailed": "on_hold",
    "OrderCancelled": "cancelled",
}


@dataclass
class Summary:
    orders_by_status: Counter[str] = field(default_factory=Counter)
    refused_orders: int = 0
    shipments: int = 0
    returns_by_status: Counter[str] = field(default_factory=Counter)
    refunded: Decimal = Decimal(0)
    events_written: int = 0
    events_relayed: int = 0
    deliveries_processed: int = 0
    deliveries_repeated: int = 0
    dead_letters: int = 0
    inbound_waiting: int = 0
    #: outcomes of the back-office events the demo fed in: processed, duplicate, deferred, refused
    inbound: Counter[str] = field(default_factory=Counter)
    unexplained: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return not self.unexplained

    def render(self) -> str:
        lines = [
            "orderhub demo: summary",
            f"  orders        {sum(self.orders_by_status.values())} placed, {self.refused_orders} refused "
            f"({_counts(self.orders_by_status)})",
            f"  shipments     {self.shipments}",
            f"  returns       {sum(self.returns_by_status.values())} ({_counts(self.returns_by_status)})",
            f"  refunds       {self.refunded} EUR",
            f"  events        {self.events_written} written, {self.events_relayed} relayed",
            f"  deliveries    {self.deliveries_processed} processed, {self.deliveries_repeated} delivered more "
            "than once (duplicates suppressed)",
            f"  dead letters  {self.dead_letters}",
            f"  inbound       {sum(self.inbound.values())} back-office events ({_counts(self.inbound)}); "
            f"{self.inbound_waiting} still waiting for what they refer to",
            *[f"  note          {note}" for note in self.notes],
            f"  reconciles    {'yes: every order is in a final or waiting state its events explain' if self.reconciles else 'NO'}",
            *[f"    {problem}" for problem in self.unexplained],
        ]
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(counter.items())) or "none"


async def summarize(engine: AsyncEngine, refused_orders: int) -> Summary:
    summary = Summary(refused_orders=refused_orders)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(orders))).all()
        events = (await conn.execute(
            select(outbox.c.aggregate_id, outbox.c.event_type, outbox.c.payload)
            .where(outbox.c.aggregate_type == "order").order_by(outbox.c.aggregate_id, outbox.c.aggregate_version)
        )).all()  # fmt: skip
        summary.events_written = await _count(conn, select(func.count()).select_from(outbox))
        summary.events_relayed = await _count(
            conn, select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
        )
        summary.deliveries_processed = await _count(
            conn,
            select(func.count())
            .select_from(deliveries)
            .where(deliveries.c.processed_at.is_not(None)),
        )
        summary.deliveries_repeated = await _count(
            conn, select(func.count()).select_from(deliveries).where(deliveries.c.attempts > 1)
        )
        summary.dead_letters = await _count(conn, select(func.count()).select_from(dead_letters))
        summary.inbound_waiting = await _count(
            conn, select(func.count()).select_from(inbound_deferred)
        )
    stream: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for row in events:
        stream.setdefault(row.aggregate_id, []).append((row.event_type, row.payload))
    for row in rows:
        order = order_from_row(row)
        summary.orders_by_status[order.status.value] += 1
        summary.shipments += len(order.shipments)
        for ret in order.returns.values():
            summary.returns_by_status[ret.status.value] += 1
        summary.refunded += order.payment.refunded.amount
        explained = _status_from_events(stream.get(str(order.id), []))
        if explained != order.status.value:
            summary.unexplained.append(
                f"order {order.channel_order_ref}: {order.status.value}, events say {explained}"
            )
    return summary


def _status_from_events(events: list[tuple[str, dict[str, Any]]]) -> str | None:
    status = None
    for event_type, payload in events:
        status = payload.get("order_status") or _STATUS_OF_EVENT.get(event_type, status)
    return status


async def _count(conn: Any, query: Any) -> int:
    return int((await conn.execute(query)).scalar_one())
