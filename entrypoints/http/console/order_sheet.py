"""Everything the order page shows, from the read models: the order view, its returns, and its
whole story. Shipments and the hold reason are read off the story itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.shipment import Shipment
from entrypoints.http.resources import OrderResource, ReturnResource
from read_models.queries import ReadModels

#: An order's story is read on one page; past this many entries the page says it stops short.
MAX_TIMELINE_ENTRIES = 1000
_TIMELINE_PAGE = 500
#: Timeline kinds that put an order on hold, each with the reason in its detail.
_HOLDS = frozenset({"order.held", "order.rejected", "payment.failed"})


@dataclass(frozen=True, slots=True)
class OrderSheet:
    order: OrderResource
    hold_reason: str | None
    shipments: list[Shipment]
    returns: list[ReturnResource]
    timeline: list[dict[str, Any]]
    timeline_cut_short: bool


async def order_sheet(read_models: ReadModels, order_id: UUID) -> OrderSheet | None:
    """The order's page, or None for an order nobody placed."""
    view = await read_models.order(order_id)
    if view is None:
        return None
    timeline: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(timeline) < MAX_TIMELINE_ENTRIES:
        found = await read_models.timeline(order_id, _TIMELINE_PAGE, cursor)
        if found is None:
            break
        timeline.extend(found.page.items)
        cursor = found.page.next_cursor
        if cursor is None:
            break
    returns = [msgspec.convert(r, ReturnResource) for r in view.returns.values()]
    return OrderSheet(
        order=msgspec.convert(view.document, OrderResource),
        hold_reason=_hold_reason(timeline),
        shipments=_shipments(timeline),
        returns=sorted(returns, key=lambda r: r.created_at),
        timeline=timeline[:MAX_TIMELINE_ENTRIES],
        timeline_cut_short=cursor is not None,
    )


def _hold_reason(timeline: list[dict[str, Any]]) -> str | None:
    """Why the order was last put on hold (the page shows it only while the order is on hold)."""
    holds = [entry for entry in timeline if entry["kind"] in _HOLDS]
    return str(holds[-1]["detail"].get("reason") or "") or None if holds else None


def _shipments(timeline: list[dict[str, Any]]) -> list[Shipment]:
    shipments: dict[str, Shipment] = {}
    for entry in timeline:
        detail = entry["detail"]
        if entry["kind"] == "shipment.dispatched":
            shipments[detail["shipment_id"]] = Shipment(
                id=detail["shipment_id"],
                location=detail["location"],
                carrier=detail["carrier"],
                tracking_number=detail["tracking_number"],
                lines={ln["sku"]: ln["quantity"] for ln in detail["lines"]},
                dispatched_at=datetime.fromisoformat(detail["dispatched_at"]),
            )
        elif entry["kind"] == "shipment.delivered" and detail["shipment_id"] in shipments:
            delivered = datetime.fromisoformat(detail["delivered_at"])
            shipments[detail["shipment_id"]].delivered_at = delivered
    return sorted(shipments.values(), key=lambda s: s.dispatched_at)
