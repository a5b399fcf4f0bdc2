"""What an agent types into the search box, and the orders it finds.

An email (it has an `@`) finds the customer's orders, a page at a time. Anything else is tried
as a channel's order reference, an ERP reference and a CRM case id at once: an agent on the phone
rarely knows which of the three the customer is reading out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ports.views import OrderFilter
from read_models.queries import ReadModels

#: Orders per page of an email search; a reference or case matches a handful at most.
PAGE_SIZE = 50
#: Longer input is no reference or email any system here hands out.
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Hit:
    order: dict[str, Any]  #: the order resource document of the read model
    matched_on: str


@dataclass(frozen=True, slots=True)
class Found:
    searched_by: str
    hits: list[Hit]
    next_cursor: str | None = None


def order_id_in(query: str) -> UUID | None:
    """An order id pasted into the box goes straight to the order."""
    try:
        return UUID(query.strip())
    except ValueError:
        return None


async def find_orders(read_models: ReadModels, query: str, cursor: str | None) -> Found:
    """Orders matching `query`, newest first. Raises `BadCursor` for a cursor we did not make."""
    text = query.strip()
    if "@" in text:
        page = await read_models.orders(OrderFilter(customer_email=text), PAGE_SIZE, cursor)
        by_email = [Hit(order, "customer email") for order in page.items]
        return Found("customer email", by_email, page.next_cursor)
    by_field = {
        "channel order ref": OrderFilter(channel_order_ref=text),
        "ERP ref": OrderFilter(erp_order_ref=text),
        "case id": OrderFilter(case_id=text),
    }
    hits: dict[str, Hit] = {}
    for matched_on, where in by_field.items():
        page = await read_models.orders(where, PAGE_SIZE, None)
        for order in page.items:
            hits.setdefault(order["id"], Hit(order, matched_on))
    newest_first = sorted(
        hits.values(), key=lambda h: (h.order["created_at"], h.order["id"]), reverse=True
    )
    return Found("channel order ref, ERP ref or case id", newest_first)
