"""Everything the order page shows: the order as it stands, its returns, and its whole story."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.shipment import Shipment
from entrypoints.http.resources import (
    OrderResource,
    ReturnResource,
    order_resource,
    return_resource,
)
from read_models.order_lookup import OrderLookup
from read_models.queries import ReadModels

#: An order's story is read on one page; past this many entries the page says it stops short.
MAX_TIMELINE_ENTRIES = 1000
_TIMELINE_PAGE = 500


@dataclass(frozen=True, slots=True)
class OrderSheet:
    order: OrderResource
    hold_reason: str | None
    shipments: list[Shipment]
    returns: list[ReturnResource]
    timeline: list[dict[str, Any]]
    timeline_cut_short: bool


async def order_sheet(
    lookup: OrderLookup, read_models: ReadModels, order_id: UUID
) -> OrderSheet | None:
    """The order's page, or None for an order nobody placed."""
    order = await lookup.order(order_id)
    if order is None:
        return None
    timeline: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(timeline) < MAX_TIMELINE_ENTRIES:
        page = await read_models.timeline(order_id, _TIMELINE_PAGE, cursor)
        timeline.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return OrderSheet(
        order=order_resource(order),
        hold_reason=order.hold_reason,
        shipments=sorted(order.shipments.values(), key=lambda s: s.dispatched_at),
        returns=[
            return_resource(r) for r in sorted(order.returns.values(), key=lambda r: r.created_at)
        ],
        timeline=timeline[:MAX_TIMELINE_ENTRIES],
        timeline_cut_short=cursor is not None,
    )
