"""Builders for the domain tests: orders moved through their lifecycle by the domain itself."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from domain.aggregate import Aggregate
from domain.allocation import LocationPriority
from domain.errors import ValidationFailed
from domain.events import DomainEvent
from domain.inventory import StockKey, StockLevel
from domain.order import Order
from domain.order_lines import LineSpec
from tests.factories import LineSpecFactory, OrderFactory, PlaceOrderFactory

#: The moment `OrderFactory` places its orders (the `FixedClock` default).
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
#: The priority `OrderFactory` allocates with.
PRIORITY = LocationPriority(("dc-east", "dc-west"))
HOLD_TTL = timedelta(minutes=30)

E = TypeVar("E", bound=DomainEvent)
Stock = dict[StockKey, StockLevel]


def line(sku: str, quantity: int = 1, price: str = "19.99") -> LineSpec:
    return LineSpecFactory(sku=sku, quantity=quantity, unit_price=Decimal(price))


def levels(*entries: tuple[str, str, int]) -> Stock:
    """Stock levels from `(sku, location, on_hand)` triples."""
    return {
        StockKey(sku, location): StockLevel(sku, location, on_hand=on_hand)
        for sku, location, on_hand in entries
    }


def level(stock: Mapping[StockKey, StockLevel], sku: str, location: str) -> StockLevel:
    return stock[StockKey(sku, location)]


def on_hand_and_reserved(stock: Stock, sku: str, location: str) -> tuple[int, int]:
    found = level(stock, sku, location)
    return found.on_hand, found.reserved


def place(*lines: LineSpec, stock: Stock, **command: Any) -> Order:
    """An order for `lines` placed through the domain against `stock`, its events kept."""
    return OrderFactory(command=PlaceOrderFactory(lines=lines, **command), stock=stock)


def settled(order: Order) -> Order:
    """Forget the events recorded so far, so a test sees only what its own step records."""
    order.pull_events()
    return order


def book(order: Order, ref: str = "ERP-1", now: datetime = NOW) -> Order:
    order.book(ref, now)
    return order


def ship(
    order: Order,
    stock: Stock,
    *lines: tuple[str, int],
    shipment_id: str = "S1",
    location: str = "dc-east",
    carrier: str = "DHL",
    tracking_number: str | None = None,
    at: datetime = NOW,
) -> None:
    order.record_shipment(
        shipment_id=shipment_id,
        location=location,
        carrier=carrier,
        tracking_number=tracking_number or f"TRK-{shipment_id}",
        lines=list(lines),
        dispatched_at=at,
        now=at,
        stock=stock,
    )


def delivered(
    *lines: LineSpec, shipping: str = "0", delivered_at: datetime = NOW
) -> tuple[Order, Stock]:
    """An order reserved, booked, shipped whole from dc-east, captured and delivered."""
    stock = levels(*((ln.sku, "dc-east", ln.quantity) for ln in lines))
    order = book(place(*lines, stock=stock, shipping_amount=Decimal(shipping)))
    ship(order, stock, *((ln.sku, ln.quantity) for ln in lines), at=delivered_at)
    order.capture_payment(delivered_at)
    order.record_delivery("S1", delivered_at, delivered_at)
    return settled(order), stock


def event_types(aggregate: Aggregate) -> list[str]:
    return [type(event).__name__ for event in aggregate.events]


def the_event(aggregate: Aggregate, kind: type[E]) -> E:
    """The one pending event of `kind`."""
    found = [event for event in aggregate.events if isinstance(event, kind)]
    assert len(found) == 1, f"expected one {kind.__name__}, got {event_types(aggregate)}"
    return found[0]


def issue_fields(error: ValidationFailed) -> list[str]:
    return [issue.field for issue in error.issues]


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """A deep copy of everything the aggregate holds, to show that a refusal changed nothing."""
    return copy.deepcopy(vars(aggregate))


def stock_state(stock: Stock) -> dict[StockKey, tuple[int, int, int]]:
    return {key: (lv.on_hand, lv.reserved, lv.version) for key, lv in stock.items()}
