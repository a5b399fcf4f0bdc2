"""The order aggregate: lifecycle, reservations, shipments, payment; returns live inside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domain.allocation import LocationPriority, plan_allocation
from domain.customer import Address, Customer
from domain.errors import (
    FieldIssue,
    InsufficientStock,
    InvalidTransition,
    Shortage,
    ValidationFailed,
)
from domain.events import (
    InventoryReserved,
    LineItem,
    MissingUnits,
    OrderAmended,
    OrderBackordered,
    OrderBooked,
    OrderCancelled,
    OrderHeld,
    OrderPlaced,
    OrderRejectedByErp,
    OrderResumed,
    PaymentFailed,
    PaymentVoided,
    ReservationExpired,
    ReservedUnits,
    SkuQuantity,
)
from domain.inventory import Movement, StockMovement, apply_movements
from domain.order_lifecycle import ORDER_TRANSITIONS, OrderCommand, OrderStatus
from domain.order_lines import LineSpec, build_lines, ensure_no_issues, money_or_issue
from domain.order_lines import text_issues as _text
from domain.order_returns import OrderReturns
from domain.order_shipping import OrderShipping
from domain.order_state import NewId, Stock
from domain.payment import Payment
from domain.reservation import Reservation, ReservationStatus

_S, _C = OrderStatus, OrderCommand


class Order(OrderShipping, OrderReturns):
    """An order of one channel. Invariants: shipped ≤ ordered per line; reserved + shipped ≤
    ordered per line; refunded ≤ captured ≤ authorized; returns never exceed what was shipped.
    """

    # -- placing -----------------------------------------------------------------------------

    @classmethod
    def place(
        cls,
        *,
        id: UUID,
        channel: str,
        channel_order_ref: str,
        customer: Customer,
        shipping_address: Address,
        currency: str,
        lines: Sequence[LineSpec],
        payment_reference: str,
        payment_amount: Decimal,
        allow_backorder: bool,
        shipping_amount: Decimal,
        now: datetime,
        stock: Stock,
        priority: LocationPriority,
        new_id: NewId,
        replacement_for_return_id: UUID | None = None,
    ) -> Order:
        """Validate a new order and reserve its lines; refuse it whole if it cannot be reserved
        and does not allow backorder (`InsufficientStock`)."""
        order_lines = build_lines(currency, lines)
        issues = _text("channel", channel) + _text("channel_order_ref", channel_order_ref)
        issues += customer.issues() + shipping_address.issues()
        issues += _text("payment.reference", payment_reference)
        shipping = money_or_issue(shipping_amount, currency, "shipping_amount", issues)
        authorized = money_or_issue(payment_amount, currency, "payment.amount", issues)
        order_total = sum((ln.amount for ln in order_lines), shipping)
        if not issues and authorized < order_total:
            issues.append(FieldIssue("payment.amount", f"must cover the order total {order_total}"))
        ensure_no_issues(issues)
        order = cls(
            id=id,
            channel=channel,
            channel_order_ref=channel_order_ref,
            customer=customer,
            shipping_address=shipping_address,
            currency=currency,
            lines=order_lines,
            shipping_amount=shipping,
            payment=Payment.authorize(payment_reference, authorized),
            allow_backorder=allow_backorder,
            created_at=now,
            replacement_for_return_id=replacement_for_return_id,
        )
        order._record(order._placed())
        created, shortages = order._allocate(
            stock, priority, new_id, all_or_nothing=not allow_backorder
        )
        order._move(_C.RESERVE, _S.BACKORDERED if shortages else _S.RESERVED, now)
        order._record_allocation(created, shortages)
        return order

    def _placed(self) -> OrderPlaced:
        return OrderPlaced(
            order_id=self.id,
            channel=self.channel,
            channel_order_ref=self.channel_order_ref,
            customer=self.customer,
            shipping_address=self.shipping_address,
            currency=self.currency,
            lines=tuple(
                LineItem(sku=ln.sku, quantity=ln.quantity, unit_price=ln.unit_price.amount)
                for ln in self.lines
            ),
            shipping_amount=self.shipping_amount.amount,
            total=self.total.amount,
            payment_reference=self.payment.reference,
            payment_amount=self.payment.authorized.amount,
            allow_backorder=self.allow_backorder,
            replacement_for_return_id=self.replacement_for_return_id,
        )

    # -- reservations ------------------------------------------------------------------------

    def fill_backorder(
        self, stock: Stock, priority: LocationPriority, new_id: NewId, now: datetime
    ) -> bool:
        """Stock arrived: reserve what the order still misses. Returns whether anything was reserved."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.RESERVE)
        created, shortages = self._allocate(stock, priority, new_id, all_or_nothing=False)
        if not created:
            return False
        self._move(_C.RESERVE, _S.BACKORDERED if shortages else _S.RESERVED, now)
        self._record_allocation(created, shortages)
        return True

    def _allocate(
        self, stock: Stock, priority: LocationPriority, new_id: NewId, *, all_or_nothing: bool
    ) -> tuple[list[Reservation], tuple[Shortage, ...]]:
        """Reserve every unshipped, unreserved unit that stock allows, in location priority order."""
        needs = [(ln.sku, ln.unshipped - self.reserved(ln.sku)) for ln in self.lines]
        plan = plan_allocation([(sku, n) for sku, n in needs if n > 0], stock, priority)
        if all_or_nothing and not plan.is_complete:
            raise InsufficientStock(plan.shortages)
        created = [
            Reservation(id=new_id(), sku=key.sku, location=key.location, quantity=quantity)
            for key, quantity in plan.picks
        ]
        apply_movements(
            (StockMovement(r.key, Movement.RESERVE, r.quantity) for r in created), stock
        )
        self.reservations += created
        return created, plan.shortages

    def _record_allocation(
        self, created: list[Reservation], shortages: tuple[Shortage, ...]
    ) -> None:
        if created:
            self._record(
                InventoryReserved(
                    order_id=self.id,
                    reservations=tuple(r.units() for r in created),
                    order_status=self.status,
                )
            )
        if shortages:
            missing = tuple(
                MissingUnits(sku=s.sku, missing=s.requested - s.available) for s in shortages
            )
            self._record(OrderBackordered(order_id=self.id, missing=missing))

    def expire_holds(self, now: datetime, stock: Stock) -> bool:
        """Release holds whose expiry passed while the order sat on hold. Returns whether any did."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.EXPIRE_HOLDS)
        due = [
            r
            for r in self.reservations
            if r.status is ReservationStatus.HELD
            and r.expires_at is not None
            and r.expires_at <= now
        ]
        if not due:
            return False
        expired = [r.units() for r in due]
        apply_movements([r.expire() for r in due], stock)
        self._move(_C.EXPIRE_HOLDS, _S.ON_HOLD, now)
        self._record(ReservationExpired(order_id=self.id, expired=tuple(expired)))
        return True

    @property
    def next_hold_expiry(self) -> datetime | None:
        """When the earliest held reservation of this on-hold order expires, if any does."""
        times = [r.expires_at for r in self.reservations if r.is_active and r.expires_at]
        return min(times, default=None)

    # -- the ERP -----------------------------------------------------------------------------

    def book(self, erp_order_ref: str, now: datetime) -> None:
        """The ERP accepted the order: reservations become firm. A repeated booking is harmless,
        except for an order that had lost its stock and is reserved again: the ERP confirming it
        once more books it."""
        rebooking = self.status is _S.RESERVED
        if self.erp_order_ref == erp_order_ref and not rebooking:
            return
        ensure_no_issues(_text("erp_order_ref", erp_order_ref))
        if self.erp_order_ref not in (None, erp_order_ref):  # booked under another reference
            raise InvalidTransition("order", self.status, _C.BOOK)
        target = _S.ON_HOLD if self.status is _S.ON_HOLD else _S.BOOKED
        self._move(_C.BOOK, target, now)
        self.erp_order_ref = erp_order_ref
        if target is _S.ON_HOLD:
            self.resume_to = _S.BOOKED
        for r in self.reservations:
            if r.status is ReservationStatus.HELD:
                r.confirm()
        self._record(
            OrderBooked(order_id=self.id, erp_order_ref=erp_order_ref, order_status=self.status)
        )

    def reject_by_erp(self, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """The ERP refused the order: it waits on hold for an agent."""
        self._hold(_C.REJECT, f"erp_rejected: {reason}", now, hold_ttl)
        self._record(OrderRejectedByErp(order_id=self.id, reason=reason))

    # -- agents and channels -----------------------------------------------------------------

    def hold(self, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """Stop the order where it is; its unconfirmed holds expire after `hold_ttl` on hold."""
        ensure_no_issues(_text("reason", reason, 500))
        self._hold(_C.HOLD, reason, now, hold_ttl)
        self._record(OrderHeld(order_id=self.id, reason=reason))

    def resume(
        self, now: datetime, stock: Stock, priority: LocationPriority, new_id: NewId
    ) -> None:
        """Take the order off hold; holds that expired meanwhile are reserved again if stock allows,
        otherwise the order waits as backordered (even a booked one: it cannot ship without
        stock; once reserved again, the ERP's repeated booking books it again)."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.RESUME)
        for r in self.reservations:
            if r.status is ReservationStatus.HELD:
                r.stop_expiry()
        created, shortages = self._allocate(stock, priority, new_id, all_or_nothing=False)
        if shortages:
            back_to = _S.BACKORDERED
        elif self.resume_to is _S.BOOKED:
            back_to = _S.BOOKED
            for r in self.reservations:
                if r.status is ReservationStatus.HELD:
                    r.confirm()
        else:
            back_to = _S.RESERVED
        self._move(_C.RESUME, back_to, now)
        self.hold_reason = self.held_at = self.resume_to = None
        self._record(OrderResumed(order_id=self.id, order_status=self.status))
        self._record_allocation(created, shortages)

    def amend(
        self,
        *,
        now: datetime,
        stock: Stock,
        shipping_address: Address | None = None,
        quantities: Mapping[str, int] | None = None,
    ) -> None:
        """Change the address and/or reduce line quantities (0 removes a line) before shipping."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.AMEND)
        quantities = dict(quantities or {})
        self._ensure_amendable(shipping_address, quantities)
        released: list[ReservedUnits] = []
        movements: list[StockMovement] = []
        for sku, quantity in quantities.items():
            line = self.line(sku)
            assert line is not None
            excess = self.reserved(sku) - quantity
            for r in reversed([r for r in self.reservations if r.sku == sku and r.is_active]):
                if excess <= 0:
                    break
                take = min(r.outstanding, excess)
                released.append(r.units(take))
                movements.append(r.release(take))
                excess -= take
            line.quantity = quantity
        apply_movements(movements, stock)
        self.lines = [ln for ln in self.lines if ln.quantity > 0]
        if shipping_address is not None:
            self.shipping_address = shipping_address
        target = self.status
        if self.status is _S.BACKORDERED and self.is_fully_reserved:
            target = _S.RESERVED
        self._move(_C.AMEND, target, now)
        self._record(
            OrderAmended(
                order_id=self.id,
                shipping_address=shipping_address,
                lines=tuple(SkuQuantity(sku=s, quantity=q) for s, q in quantities.items()),
                released=tuple(released),
                total=self.total.amount,
                order_status=self.status,
            )
        )

    def _ensure_amendable(self, address: Address | None, quantities: dict[str, int]) -> None:
        if address is None and not quantities:
            raise ValidationFailed([FieldIssue("body", "nothing to amend")])
        issues = address.issues() if address else []
        for sku, quantity in quantities.items():
            line = self.line(sku)
            if line is None:
                issues.append(FieldIssue(f"lines.{sku}", "not a line of this order"))
            elif not 0 <= quantity <= line.quantity:
                issues.append(
                    FieldIssue(
                        f"lines.{sku}",
                        f"can only reduce (0 to {line.quantity}); use a new order to add",
                    )
                )
        if not issues and all(quantities.get(ln.sku, ln.quantity) == 0 for ln in self.lines):
            issues.append(FieldIssue("lines", "removing every line cancels the order: use cancel"))
        ensure_no_issues(issues)

    def cancel(self, reason: str, now: datetime, stock: Stock) -> None:
        """Cancel before the first shipment: every hold is released, the authorization voided."""
        ensure_no_issues(_text("reason", reason, 500))
        self._move(_C.CANCEL, _S.CANCELLED, now)
        active = [r for r in self.reservations if r.is_active]
        released = [r.units() for r in active]
        apply_movements([r.release() for r in active], stock)
        self.hold_reason = self.held_at = self.resume_to = None
        self._record(OrderCancelled(order_id=self.id, reason=reason, released=tuple(released)))
        if self.payment.can_void():
            self.payment.void()
            self._record(
                PaymentVoided(
                    order_id=self.id, amount=self.payment.authorized.amount, currency=self.currency
                )
            )

    def fail_payment(self, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """The payment provider refused the payment: the order waits on hold."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.FAIL_PAYMENT)
        self.payment.fail()
        self._hold(_C.FAIL_PAYMENT, f"payment_failed: {reason}", now, hold_ttl)
        self._record(PaymentFailed(order_id=self.id, reason=reason))
