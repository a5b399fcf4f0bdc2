"""What an order holds and how to read it; the behaviour lives in the modules built on this."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

from domain.aggregate import Aggregate
from domain.customer import Address, Customer
from domain.errors import FieldIssue
from domain.events import CaseLinked, CaseUpdated
from domain.inventory import StockKey, StockLevel
from domain.money import Money
from domain.order_lifecycle import ORDER_TRANSITIONS, OrderCommand, OrderStatus
from domain.order_lines import OrderLine, ensure_no_issues, text_issues
from domain.payment import Payment
from domain.reservation import Reservation, ReservationStatus
from domain.returns import Return
from domain.shipment import Shipment

Stock = Mapping[StockKey, StockLevel]
NewId = Callable[[], UUID]
_S = OrderStatus


class OrderState(Aggregate):
    """An order of one channel. Invariants: shipped ≤ ordered per line; reserved + shipped ≤
    ordered per line; refunded ≤ captured ≤ authorized; returns never exceed what was shipped.
    """

    aggregate_type = "order"

    def __init__(
        self,
        *,
        id: UUID,
        channel: str,
        channel_order_ref: str,
        customer: Customer,
        shipping_address: Address,
        currency: str,
        lines: list[OrderLine],
        shipping_amount: Money,
        payment: Payment,
        allow_backorder: bool,
        created_at: datetime,
        status: OrderStatus = OrderStatus.PLACED,
        version: int = 0,
        updated_at: datetime | None = None,
        erp_order_ref: str | None = None,
        reservations: list[Reservation] | None = None,
        shipments: dict[str, Shipment] | None = None,
        returns: dict[UUID, Return] | None = None,
        case_ids: list[str] | None = None,
        hold_reason: str | None = None,
        held_at: datetime | None = None,
        resume_to: OrderStatus | None = None,
        replacement_for_return_id: UUID | None = None,
    ) -> None:
        super().__init__(version)
        self.id = id
        self.channel = channel
        self.channel_order_ref = channel_order_ref
        self.customer = customer
        self.shipping_address = shipping_address
        self.currency = currency
        self.lines = lines
        self.shipping_amount = shipping_amount
        self.payment = payment
        self.allow_backorder = allow_backorder
        self.status = status
        self.created_at = created_at
        self.updated_at = updated_at or created_at
        self.erp_order_ref = erp_order_ref
        self.reservations = reservations or []
        self.shipments = shipments or {}
        self.returns = returns or {}
        self.case_ids = case_ids or []
        self.hold_reason = hold_reason
        self.held_at = held_at
        self.resume_to = resume_to
        self.replacement_for_return_id = replacement_for_return_id

    # -- reading -----------------------------------------------------------------------------

    @property
    def stream_id(self) -> str:
        return str(self.id)

    @property
    def total(self) -> Money:
        return sum((ln.amount for ln in self.lines), self.shipping_amount)

    def line(self, sku: str) -> OrderLine | None:
        return next((ln for ln in self.lines if ln.sku == sku), None)

    def reserved(self, sku: str) -> int:
        """Units of `sku` currently held in stock for this order."""
        return sum(r.outstanding for r in self.reservations if r.sku == sku and r.is_active)

    def returned(self, sku: str) -> int:
        """Units of `sku` received back by the warehouse."""
        return sum(r.line(sku).received for r in self.returns.values() if _has_sku(r, sku))

    def returnable(self, sku: str) -> int:
        """Shipped minus what returns take: an open return its requested units, a received one
        the units that actually came back (the rest may be returned again)."""
        line = self.line(sku)
        taken = sum(
            r.line(sku).received if r.is_received else r.line(sku).quantity
            for r in self.returns.values()
            if r.holds_quantity and _has_sku(r, sku)
        )
        return (line.shipped if line else 0) - taken

    @property
    def is_fully_reserved(self) -> bool:
        return all(self.reserved(ln.sku) >= ln.unshipped for ln in self.lines)

    def stock_keys(self, *, also_at: str | None = None) -> set[StockKey]:
        """Every stock level a command on this order may touch (optionally at one more location)."""
        keys = {r.key for r in self.reservations}
        keys |= {StockKey(sku, s.location) for s in self.shipments.values() for sku in s.lines}
        if also_at is not None:
            keys |= {StockKey(ln.sku, also_at) for ln in self.lines}
        return keys

    # -- bookkeeping -------------------------------------------------------------------------

    def delivered_at(self, sku: str) -> datetime | None:
        """When the return window for `sku` started: the latest delivery of a shipment carrying
        it, or None while any such shipment is still on its way (those units are inside it)."""
        carrying = [s for s in self.shipments.values() if sku in s.lines]
        if not carrying or any(s.delivered_at is None for s in carrying):
            return None
        return max(s.delivered_at for s in carrying if s.delivered_at is not None)

    def record_case_update(
        self, case_id: str, status: str, note: str, now: datetime, return_id: UUID | None = None
    ) -> None:
        """The CRM changed a case about this order: link it if new, and keep the update."""
        issues = text_issues("status", status, 100)
        if len(note) > 4000:
            issues.append(FieldIssue("note", "at most 4000 characters"))
        ensure_no_issues(issues)
        self.link_case(case_id, now, return_id)
        self.updated_at = now
        self._record(
            CaseUpdated(
                order_id=self.id, case_id=case_id, return_id=return_id, status=status, note=note
            )
        )

    def link_case(self, case_id: str, now: datetime, return_id: UUID | None = None) -> None:
        """Attach a CRM case; linking the same case again changes nothing."""
        ensure_no_issues(text_issues("case_id", case_id))
        if case_id in self.case_ids:
            return
        self.case_ids.append(case_id)
        self.updated_at = now
        self._record(CaseLinked(order_id=self.id, case_id=case_id, return_id=return_id))

    def _move(self, command: OrderCommand, target: OrderStatus, now: datetime) -> None:
        self.status = ORDER_TRANSITIONS.move(self.status, command, target)
        self.updated_at = now

    def _hold(self, command: OrderCommand, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """Put the order on hold; unconfirmed holds start their expiry clock."""
        previous = self.status
        self._move(command, _S.ON_HOLD, now)
        if previous is not _S.ON_HOLD:
            self.resume_to, self.held_at = previous, now
            for r in self.reservations:
                if r.status is ReservationStatus.HELD:
                    r.start_expiry(now + hold_ttl)
        self.hold_reason = reason


def _has_sku(ret: Return, sku: str) -> bool:
    return any(line.sku == sku for line in ret.lines)
