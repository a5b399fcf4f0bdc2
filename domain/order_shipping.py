"""The warehouse side of an order: shipments consume reservations; payment is captured then."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.errors import (
    FieldIssue,
    InvalidTransition,
    ShipmentConflict,
    ShipmentExceedsOrdered,
    ShipmentNotFound,
)
from domain.events import (
    PaymentCaptured,
    ReservedUnits,
    ShipmentDelivered,
    ShipmentDispatched,
    SkuQuantity,
)
from domain.inventory import Movement, StockKey, StockMovement, apply_movements
from domain.money import Money
from domain.order_lifecycle import ORDER_TRANSITIONS, OrderCommand, OrderStatus
from domain.order_lines import ensure_no_issues
from domain.order_lines import text_issues as _text
from domain.order_state import OrderState, Stock
from domain.shipment import Shipment

_S, _C = OrderStatus, OrderCommand


class OrderShipping(OrderState):
    """Shipments and deliveries of an order, and the capture its first shipment triggers."""

    # -- the warehouse -----------------------------------------------------------------------

    def record_shipment(
        self,
        *,
        shipment_id: str,
        location: str,
        carrier: str,
        tracking_number: str,
        lines: Sequence[tuple[str, int]],
        dispatched_at: datetime,
        now: datetime,
        stock: Stock,
    ) -> None:
        """Units left `location`: they consume this order's reservations, that location's first.

        A shipment reported again with the same contents is a harmless duplicate.
        """
        quantities = dict(lines)
        existing = self.shipments.get(shipment_id)
        if existing is not None:
            if existing.same_contents(location, carrier, tracking_number, quantities):
                return
            raise ShipmentConflict(shipment_id)
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.SHIP)
        self._ensure_shippable(shipment_id, location, carrier, tracking_number, lines)
        movements: list[StockMovement] = []
        released: list[ReservedUnits] = []
        for sku, quantity in quantities.items():
            movements += self._consume_reservations(sku, quantity, location, released)
            line = self.line(sku)
            assert line is not None
            line.shipped += quantity
        apply_movements(movements, stock)
        self.shipments[shipment_id] = Shipment(
            id=shipment_id,
            location=location,
            carrier=carrier,
            tracking_number=tracking_number,
            lines=quantities,
            dispatched_at=dispatched_at,
        )
        all_shipped = all(ln.shipped == ln.quantity for ln in self.lines)
        self._move(_C.SHIP, _S.SHIPPED if all_shipped else _S.PARTIALLY_SHIPPED, now)
        self._record(
            ShipmentDispatched(
                order_id=self.id,
                shipment_id=shipment_id,
                location=location,
                carrier=carrier,
                tracking_number=tracking_number,
                lines=tuple(SkuQuantity(sku=s, quantity=q) for s, q in quantities.items()),
                dispatched_at=dispatched_at,
                order_status=self.status,
                released=tuple(released),
            )
        )

    def _consume_reservations(
        self, sku: str, quantity: int, location: str, released: list[ReservedUnits]
    ) -> list[StockMovement]:
        movements: list[StockMovement] = []
        active = [r for r in self.reservations if r.sku == sku and r.is_active]
        active.sort(key=lambda r: r.location != location)
        remaining = quantity
        for r in active:
            if remaining == 0:
                break
            take = min(r.outstanding, remaining)
            if r.location == location:
                movements.append(r.fulfil(take))
            else:  # shipped from elsewhere: this hold is no longer needed
                released.append(r.units(take))
                movements.append(r.release(take))
                movements.append(
                    StockMovement(StockKey(sku, location), Movement.SHIP_UNRESERVED, take)
                )
            remaining -= take
        if remaining:
            movements.append(
                StockMovement(StockKey(sku, location), Movement.SHIP_UNRESERVED, remaining)
            )
        return movements

    def _ensure_shippable(
        self,
        shipment_id: str,
        location: str,
        carrier: str,
        tracking: str,
        lines: Sequence[tuple[str, int]],
    ) -> None:
        issues = _text("shipment_id", shipment_id) + _text("location", location)
        issues += _text("carrier", carrier) + _text("tracking_number", tracking)
        if not lines:
            issues.append(FieldIssue("lines", "a shipment needs at least one line"))
        seen: set[str] = set()
        for i, (sku, quantity) in enumerate(lines):
            if self.line(sku) is None:
                issues.append(FieldIssue(f"lines[{i}].sku", f"{sku!r} is not a line of this order"))
            if sku in seen:
                issues.append(FieldIssue(f"lines[{i}].sku", f"duplicate SKU {sku!r}"))
            if quantity < 1:
                issues.append(FieldIssue(f"lines[{i}].quantity", "must be at least 1"))
            seen.add(sku)
        ensure_no_issues(issues)
        for sku, quantity in lines:
            line = self.line(sku)
            assert line is not None
            if line.shipped + quantity > line.quantity:
                raise ShipmentExceedsOrdered(sku, line.quantity, line.shipped + quantity)

    def record_delivery(self, shipment_id: str, delivered_at: datetime, now: datetime) -> None:
        """A shipment reached the customer; the order is delivered when everything was shipped and
        every shipment delivered. A delivery of an unknown shipment is refused (it came too early)."""
        shipment = self.shipments.get(shipment_id)
        if shipment is not None and shipment.is_delivered:
            return
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.DELIVER)
        if shipment is None:
            raise ShipmentNotFound(shipment_id)
        shipment.delivered_at = delivered_at
        done = self.status is _S.SHIPPED and all(s.is_delivered for s in self.shipments.values())
        self._move(_C.DELIVER, _S.DELIVERED if done else self.status, now)
        self._record(
            ShipmentDelivered(
                order_id=self.id,
                shipment_id=shipment_id,
                delivered_at=delivered_at,
                order_status=self.status,
            )
        )

    # -- payment -----------------------------------------------------------------------------

    def capture_payment(self, now: datetime, amount: Money | None = None) -> None:
        """Capture on first shipment: by default what the order now costs (amendments reduce it).
        A repeated capture of the same amount is harmless."""
        amount = self.total if amount is None else amount
        if self.payment.captured == amount and not self.payment.can_capture():
            return
        if not self.shipments:
            raise InvalidTransition("order", self.status, "capture_payment")
        self.payment.capture(amount)
        self.updated_at = now
        self._record(
            PaymentCaptured(order_id=self.id, amount=amount.amount, currency=amount.currency)
        )
