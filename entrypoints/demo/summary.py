"""What the demo did, counted from the database, and whether every order's events explain it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.tally import tally

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
    counted = await tally(engine)
    summary = Summary(
        refused_orders=refused_orders,
        events_written=counted.events_written,
        events_relayed=counted.events_relayed,
        deliveries_processed=counted.deliveries_processed,
        deliveries_repeated=counted.deliveries_repeated,
        dead_letters=counted.dead_letters,
        inbound_waiting=counted.inbound_waiting,
    )
    for order in counted.orders:
        summary.orders_by_status[order.status.value] += 1
        summary.shipments += len(order.shipments)
        for ret in order.returns.values():
            summary.returns_by_status[ret.status.value] += 1
        summary.refunded += order.payment.refunded.amount
        explained = _status_from_events(counted.order_events.get(str(order.id), []))
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
