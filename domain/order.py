"""The order aggregate: every command on an order, the rules it guards, the events it records."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final
from uuid import UUID

from domain import events
from domain.aggregate import Aggregate
from domain.allocation import LocationPriority
from domain.case_ids import case_id_issues
from domain.customer import Address, Customer
from domain.errors import (
    FieldIssue,
    InsufficientStock,
    InvalidTransition,
    RefundExceedsCaptured,
    ShipmentConflict,
    ShipmentExceedsOrdered,
    ShipmentNotFound,
    Shortage,
    TooManyAppeasements,
    TooManyCases,
    TooManyReturns,
    UnknownReplacementReturn,
)
from domain.exchange import ExchangeOutcome
from domain.integration_trouble import Trouble
from domain.inventory import Movement, StockKey, StockLevel, StockMovement, apply_movements
from domain.money import Money
from domain.order_lifecycle import ORDER_TRANSITIONS, OrderCommand, OrderStatus
from domain.order_limits import DEFAULT_LIMITS, OrderLimits
from domain.order_lines import (
    MAX_REASON_LENGTH,
    LineSpec,
    OrderLine,
    build_added_lines,
    build_lines,
    ensure_no_issues,
    ensure_valid_amendment,
    money_or_issue,
    text_issues,
)
from domain.payment import Payment
from domain.reservation import Reservation, Reservations
from domain.return_policy import ReturnPolicy
from domain.return_request import open_return
from domain.returns import (
    RETURN_TRANSITIONS,
    Disposition,
    Return,
    ReturnCommand,
    ReturnLineSpec,
    Returns,
    ReturnStatus,
)
from domain.shipment import Shipment, Shipments, ensure_valid_report

#: The stock levels a command may touch, loaded by the handler (`Order.stock_keys`).
Stock = Mapping[StockKey, StockLevel]
#: Makes the id of a new reservation.
NewId = Callable[[], UUID]
_S, _C = OrderStatus, OrderCommand
#: The longest note an agent or a channel may write on an order.
MAX_NOTE_LENGTH: Final = 2000
#: Where an order held after shipping (a card declined at capture) resumes to, as it was.
_SHIPPED = frozenset({_S.PARTIALLY_SHIPPED, _S.SHIPPED, _S.DELIVERED})


class ChannelCancellation(StrEnum):
    """What following a channel's cancellation did (`Order.follow_channel_cancellation`)."""

    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    REQUESTED_AFTER_SHIPMENT = "cancel_requested_after_shipment"


class Order(Aggregate):
    """An order of one channel. Invariants: shipped ≤ ordered per line; reserved + shipped ≤
    ordered per line; refunded ≤ captured ≤ authorized; returns never exceed what was shipped.

    Its parts keep their own bookkeeping (`Reservations`, `Shipments`, `Returns`, `Payment`); the
    order decides which of them a command changes, moves its status, and records the events.
    Returns are entities of their order: the order guards returnable quantities and the refund
    against its payment in one consistency boundary, and its event stream tells the whole story.
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
        self.reservations = Reservations(reservations or [])
        self.shipments = Shipments(shipments)
        self.returns = Returns(returns)
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
        return self.reservations.reserved(sku)

    @property
    def is_fully_reserved(self) -> bool:
        return all(self.reserved(ln.sku) >= ln.unshipped for ln in self.lines)

    @property
    def next_hold_expiry(self) -> datetime | None:
        """When the earliest held reservation of this on-hold order expires, if any does."""
        return self.reservations.next_expiry

    def stock_keys(self, *, also_at: str | None = None) -> set[StockKey]:
        """Every stock level a command on this order may touch (optionally at one more location)."""
        keys = self.reservations.stock_keys() | self.shipments.stock_keys()
        if also_at is not None:
            keys |= {StockKey(ln.sku, also_at) for ln in self.lines}
        return keys

    def delivered_at(self, sku: str) -> datetime | None:
        """When the return window for `sku` started (None while units of it are on their way)."""
        return self.shipments.delivered_at(sku)

    def returned(self, sku: str) -> int:
        """Units of `sku` received back by the warehouse."""
        return self.returns.returned(sku)

    def returnable(self, sku: str) -> int:
        """Shipped minus what returns take: an open return its requested units, a received one
        the units that actually came back (the rest may be returned again)."""
        line = self.line(sku)
        return (line.shipped if line else 0) - self.returns.claimed(sku)

    def get_return(self, return_id: UUID) -> Return:
        """The return with this id on this order, or `ReturnNotFound`."""
        return self.returns.require(return_id)

    def ensure_replaceable_for(self, return_id: UUID, channel: str) -> None:
        """An order of `channel` may be placed as the replacement for a return of this order
        only if this order is of the same channel (`UnknownReplacementReturn` otherwise)."""
        if return_id not in self.returns or self.channel != channel:
            raise UnknownReplacementReturn(return_id)

    # -- placing and reserving ---------------------------------------------------------------

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
        issues = text_issues("channel", channel) + text_issues(
            "channel_order_ref", channel_order_ref
        )
        issues += customer.issues() + shipping_address.issues()
        issues += text_issues("payment.reference", payment_reference)
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

    def expire_holds(self, now: datetime, stock: Stock) -> bool:
        """Release holds whose expiry passed while the order sat on hold. Returns whether any did."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.EXPIRE_HOLDS)
        expired, movements = self.reservations.expire_due(now)
        if not expired:
            return False
        apply_movements(movements, stock)
        self._move(_C.EXPIRE_HOLDS, _S.ON_HOLD, now)
        self._record(events.ReservationExpired(order_id=self.id, expired=tuple(expired)))
        return True

    # -- the ERP -----------------------------------------------------------------------------

    def book(self, erp_order_ref: str, now: datetime) -> None:
        """The ERP accepted the order: reservations become firm. A repeated booking is harmless,
        except for an order that had lost its stock and is reserved again: the ERP confirming it
        once more books it."""
        rebooking = self.status is _S.RESERVED
        if self.erp_order_ref == erp_order_ref and not rebooking:
            return
        ensure_no_issues(text_issues("erp_order_ref", erp_order_ref))
        self._ensure_not_booked_under_another_ref(erp_order_ref)
        target = _S.ON_HOLD if self.status is _S.ON_HOLD else _S.BOOKED
        self._move(_C.BOOK, target, now)
        self.erp_order_ref = erp_order_ref
        if target is _S.ON_HOLD:
            self.resume_to = _S.BOOKED
        self.reservations.confirm_held()
        self._record(
            events.OrderBooked(
                order_id=self.id, erp_order_ref=erp_order_ref, order_status=self.status
            )
        )

    def reject_by_erp(self, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """The ERP refused the order: it waits on hold for an agent."""
        self._hold(_C.REJECT, f"erp_rejected: {reason}", now, hold_ttl)
        self._record(events.OrderRejectedByErp(order_id=self.id, reason=reason))

    # -- agents and channels -----------------------------------------------------------------

    def add_note(self, text: str, now: datetime) -> None:
        """A note on the order's timeline, in any state: it changes nothing else."""
        ensure_no_issues(text_issues("text", text, MAX_NOTE_LENGTH))
        self.updated_at = now
        self._record(events.NoteAdded(order_id=self.id, text=text))

    def record_integration_trouble(self, trouble: Trouble, now: datetime) -> None:
        """A fact about delivering this order's events to a remote system, for its timeline, in
        any state: it changes nothing else."""
        self.updated_at = now
        self._record(trouble.event(self.id))

    def hold(self, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """Stop the order where it is; its unconfirmed holds expire after `hold_ttl` on hold."""
        ensure_no_issues(text_issues("reason", reason, MAX_REASON_LENGTH))
        self._hold(_C.HOLD, reason, now, hold_ttl)
        self._record(events.OrderHeld(order_id=self.id, reason=reason))

    def resume(
        self, now: datetime, stock: Stock, priority: LocationPriority, new_id: NewId
    ) -> None:
        """Take the order off hold; holds that expired meanwhile are reserved again if stock allows,
        otherwise the order waits as backordered (even a booked one: it cannot ship without
        stock; once reserved again, the ERP's repeated booking books it again)."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.RESUME)
        self.reservations.stop_expiry()
        if self.resume_to in _SHIPPED:  # held after shipping (a declined capture): back as it was
            self._move(_C.RESUME, self.resume_to, now)
            self.hold_reason = self.held_at = self.resume_to = None
            self._record(events.OrderResumed(order_id=self.id, order_status=self.status))
            return
        created, shortages = self._allocate(stock, priority, new_id, all_or_nothing=False)
        if shortages:
            back_to = _S.BACKORDERED
        elif self.resume_to is _S.BOOKED:
            back_to = _S.BOOKED
            self.reservations.confirm_held()
        else:
            back_to = _S.RESERVED
        self._move(_C.RESUME, back_to, now)
        self.hold_reason = self.held_at = self.resume_to = None
        self._record(events.OrderResumed(order_id=self.id, order_status=self.status))
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
        self._ensure_nothing_shipped(_C.AMEND)
        quantities = dict(quantities or {})
        ensure_valid_amendment(self.lines, shipping_address, quantities)
        released, movements = self.reservations.release_excess(keep=quantities)
        for sku, quantity in quantities.items():
            line = self.line(sku)
            assert line is not None
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
            events.OrderAmended(
                order_id=self.id,
                shipping_address=shipping_address,
                lines=tuple(events.SkuQuantity(sku=s, quantity=q) for s, q in quantities.items()),
                released=tuple(released),
                total=self.total.amount,
                order_status=self.status,
            )
        )

    def add_lines(
        self,
        *,
        lines: Sequence[LineSpec],
        payment_reference: str,
        payment_amount: Decimal,
        now: datetime,
        stock: Stock,
        priority: LocationPriority,
        new_id: NewId,
    ) -> None:
        """Add new lines, reserved like placement, under a new authorization that covers the new
        total (it replaces the old one, which the event names to release). A reserved or booked
        order stays so: its new lines must be reservable at once (`InsufficientStock`, nothing
        changes); a backordered order's may wait for stock too. A booked order's new lines are
        firm at once, and the ERP must take the amendment (`refuse_added_lines` undoes it)."""
        self._ensure_open_for_new_lines()
        added = build_added_lines(self.currency, self.lines, lines)
        issues = text_issues("payment.reference", payment_reference)
        authorized = money_or_issue(payment_amount, self.currency, "payment.amount", issues)
        new_total = sum((ln.amount for ln in added), self.total)
        if not issues and authorized < new_total:
            issues.append(FieldIssue("payment.amount", f"must cover the new total {new_total}"))
        ensure_no_issues(issues)
        kept = self.lines
        self.lines = [*kept, *added]
        try:
            created, shortages = self._allocate(
                stock, priority, new_id, all_or_nothing=self.status is not _S.BACKORDERED
            )
        except InsufficientStock:
            self.lines = kept
            raise
        previous = self.payment
        self.payment = Payment.authorize(payment_reference, authorized)
        booked = self.status is _S.BOOKED
        if booked:
            self.reservations.confirm_held()
            target = _S.BOOKED
        else:
            target = _S.BACKORDERED if shortages else _S.RESERVED
        self._move(_C.AMEND, target, now)
        self._record(
            events.LinesAdded(
                order_id=self.id,
                lines=tuple(_line_item(ln) for ln in added),
                payment_reference=payment_reference,
                payment_amount=authorized.amount,
                previous_payment_reference=previous.reference,
                previous_payment_amount=previous.authorized.amount,
                booked=booked,
                total=self.total.amount,
                order_status=self.status,
            )
        )
        self._record_allocation(created, shortages)

    def refuse_added_lines(
        self,
        *,
        skus: Sequence[str],
        refused_payment_reference: str,
        previous_payment_reference: str,
        previous_payment_amount: Decimal,
        reason: str,
        now: datetime,
        stock: Stock,
        hold_ttl: timedelta,
    ) -> None:
        """The ERP refused the amendment that added lines `skus` under
        `refused_payment_reference`: the lines go and their units are released, the previous
        authorization is the order's again, and the order waits on hold for an agent with the
        ERP's reason. Nothing of those lines may have shipped (the ERP never had them)."""
        self._ensure_refusable_edit(skus, refused_payment_reference)
        released, movements = self.reservations.release_excess(keep=dict.fromkeys(skus, 0))
        apply_movements(movements, stock)
        removed = [ln for ln in self.lines if ln.sku in skus]
        self.lines = [ln for ln in self.lines if ln.sku not in skus]
        amount = Money.of(previous_payment_amount, self.currency)
        self.payment = Payment.authorize(previous_payment_reference, amount)
        # Already on hold (an agent held it meanwhile): it stays held, the ERP's reason shown.
        command = _C.REJECT if self.status is _S.ON_HOLD else _C.HOLD
        self._hold(command, f"erp_rejected: {reason}", now, hold_ttl)
        self._record(
            events.AddedLinesRefused(
                order_id=self.id,
                lines=tuple(events.SkuQuantity(sku=ln.sku, quantity=ln.quantity) for ln in removed),
                released=tuple(released),
                payment_reference=previous_payment_reference,
                payment_amount=amount.amount,
                refused_payment_reference=refused_payment_reference,
                reason=reason,
                total=self.total.amount,
                order_status=self.status,
            )
        )

    def cancel(self, reason: str, now: datetime, stock: Stock) -> None:
        """Cancel before the first shipment: every hold is released, the authorization voided."""
        ensure_no_issues(text_issues("reason", reason, MAX_REASON_LENGTH))
        self._ensure_nothing_shipped(_C.CANCEL)
        self._move(_C.CANCEL, _S.CANCELLED, now)
        released, movements = self.reservations.release_all()
        apply_movements(movements, stock)
        self.hold_reason = self.held_at = self.resume_to = None
        self._record(
            events.OrderCancelled(order_id=self.id, reason=reason, released=tuple(released))
        )
        if self.payment.can_void():
            self.payment.void()
            self._record(
                events.PaymentVoided(
                    order_id=self.id, amount=self.payment.authorized.amount, currency=self.currency
                )
            )

    def cancel_remaining(self, reason: str, now: datetime, stock: Stock) -> None:
        """A partially shipped order whose remainder will never ship ends with what shipped: its
        unshipped units are cancelled and their holds released; the order is `shipped`, or
        `delivered` when every shipment was. A capture that took the old total is refunded the
        difference (within what is left to refund); a capture still to come takes the new one."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.CANCEL_REMAINING)
        ensure_no_issues(text_issues("reason", reason, MAX_REASON_LENGTH))
        cancelled = tuple(
            events.SkuQuantity(sku=ln.sku, quantity=ln.unshipped)
            for ln in self.lines
            if ln.unshipped
        )
        refund = self._refund_for_a_smaller_total(self.total - self._unshipped_value())
        released, movements = self.reservations.release_all()
        apply_movements(movements, stock)
        for line in self.lines:
            line.quantity = line.shipped
        self.lines = [ln for ln in self.lines if ln.quantity > 0]
        if refund.amount > 0:
            self.payment.refund(refund)
        done = _S.DELIVERED if self.shipments.all_delivered else _S.SHIPPED
        self._move(_C.CANCEL_REMAINING, done, now)
        self._record(
            events.RemainderCancelled(
                order_id=self.id,
                reason=reason,
                lines=cancelled,
                released=tuple(released),
                total=self.total.amount,
                refund_amount=refund.amount,
                currency=self.currency,
                payment_status=self.payment.status.value,
                order_status=self.status,
            )
        )

    def follow_channel_cancellation(
        self, reason: str, now: datetime, stock: Stock
    ) -> ChannelCancellation:
        """The channel cancelled the order on its side and cannot be told no: cancel it while
        nothing has shipped; an order already cancelled (our own cancellation echoed back) stays
        as it is; after the first shipment the request is recorded for an agent instead."""
        ensure_no_issues(text_issues("reason", reason, MAX_REASON_LENGTH))
        if self.status is _S.CANCELLED:
            return ChannelCancellation.ALREADY_CANCELLED
        if self.shipments:
            self.refuse_cancellation_after_shipment(reason, now)
            return ChannelCancellation.REQUESTED_AFTER_SHIPMENT
        self.cancel(reason, now, stock)
        return ChannelCancellation.CANCELLED

    def refuse_cancellation_after_shipment(self, reason: str, now: datetime) -> None:
        """Units are on their way: the order can no longer be cancelled, but the request is kept
        (`CancelRequestedAfterShipment`) so an agent settles it with the customer."""
        ensure_no_issues(text_issues("reason", reason, MAX_REASON_LENGTH))
        self._ensure_something_shipped("refuse_cancellation_after_shipment")
        self.updated_at = now
        self._record(events.CancelRequestedAfterShipment(order_id=self.id, reason=reason))

    def record_channel_refund(self, refund_ref: str, amount: Money, now: datetime) -> bool:
        """The channel already paid `amount` back to the customer: the payment's refunded total
        grows and nobody is asked to pay it out again. Still never more than was captured
        (`RefundExceedsCaptured`, also before any capture). The same refund recorded again is
        harmless; returns whether this call recorded it."""
        issues = text_issues("refund_ref", refund_ref)
        if not amount.amount > 0:
            issues.append(FieldIssue("amount", "must be more than zero"))
        ensure_no_issues(issues)
        if refund_ref in self.payment.channel_refunds:
            return False
        self._ensure_refund_within_capture(amount)
        self.payment.refund(amount)
        self.payment.channel_refunds.append(refund_ref)
        self.updated_at = now
        self._record(
            events.RefundRecorded(
                order_id=self.id,
                refund_ref=refund_ref,
                amount=amount.amount,
                currency=amount.currency,
                payment_status=self.payment.status.value,
            )
        )
        return True

    def issue_appeasement(
        self,
        refund_id: UUID,
        amount: Money,
        reason: str,
        now: datetime,
        *,
        limits: OrderLimits = DEFAULT_LIMITS,
    ) -> bool:
        """An agent refunds `amount` without a return (a goodwill gesture), in any state of the
        order: never more than captured less refunded (`RefundExceedsCaptured`, also before any
        capture), at most `limits.max_appeasements` times (`TooManyAppeasements`). The same
        `refund_id` again is harmless; returns whether this call issued it."""
        issues = text_issues("reason", reason, MAX_REASON_LENGTH)
        if not amount.amount > 0:
            issues.append(FieldIssue("amount", "must be more than zero"))
        ensure_no_issues(issues)
        if str(refund_id) in self.payment.appeasements:
            return False
        self._ensure_refund_within_capture(amount)
        if len(self.payment.appeasements) >= limits.max_appeasements:
            raise TooManyAppeasements(limits.max_appeasements)
        self.payment.refund(amount)
        self.payment.appeasements.append(str(refund_id))
        self.updated_at = now
        self._record(
            events.AppeasementIssued(
                order_id=self.id,
                refund_id=refund_id,
                amount=amount.amount,
                currency=amount.currency,
                reason=reason,
                payment_status=self.payment.status.value,
            )
        )
        return True

    def fail_payment(self, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """The payment provider refused the payment (at authorization, or a card declined at
        capture after shipping): the order waits on hold for an agent, with the provider's
        words."""
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.FAIL_PAYMENT)
        self.payment.fail()
        self._hold(_C.FAIL_PAYMENT, f"payment_failed: {reason}", now, hold_ttl)
        self._record(events.PaymentFailed(order_id=self.id, reason=reason))

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
        ordered = {ln.sku for ln in self.lines}
        ensure_valid_report(shipment_id, location, carrier, tracking_number, lines, ordered)
        self._ensure_shipped_within_ordered(lines)
        released, movements = self.reservations.consume_for_shipment(quantities, location)
        for sku, quantity in quantities.items():
            line = self.line(sku)
            assert line is not None
            line.shipped += quantity
        apply_movements(movements, stock)
        self.shipments.add(
            Shipment(
                id=shipment_id,
                location=location,
                carrier=carrier,
                tracking_number=tracking_number,
                lines=quantities,
                dispatched_at=dispatched_at,
            )
        )
        all_shipped = all(ln.shipped == ln.quantity for ln in self.lines)
        self._move(_C.SHIP, _S.SHIPPED if all_shipped else _S.PARTIALLY_SHIPPED, now)
        self._record(
            events.ShipmentDispatched(
                order_id=self.id,
                shipment_id=shipment_id,
                location=location,
                carrier=carrier,
                tracking_number=tracking_number,
                lines=tuple(events.SkuQuantity(sku=s, quantity=q) for s, q in quantities.items()),
                dispatched_at=dispatched_at,
                order_status=self.status,
                released=tuple(released),
            )
        )

    def record_delivery(self, shipment_id: str, delivered_at: datetime, now: datetime) -> None:
        """A shipment reached the customer; the order is delivered when everything was shipped and
        every shipment delivered. A delivery of an unknown shipment is refused (it came too early).

        An order held after shipping (its card declined at capture) stays held: the parcel
        arrived all the same, and the order resumes to where it now is."""
        shipment = self.shipments.get(shipment_id)
        if shipment is not None and shipment.is_delivered:
            return
        ORDER_TRANSITIONS.ensure_allowed(self.status, _C.DELIVER)
        self._ensure_held_after_shipping(_C.DELIVER)
        if shipment is None:
            raise ShipmentNotFound(shipment_id)
        shipment.delivered_at = delivered_at
        held = self.status is _S.ON_HOLD
        shipped = (self.resume_to if held else self.status) is _S.SHIPPED
        after = _S.DELIVERED if shipped and self.shipments.all_delivered else None
        if held:
            self.resume_to = after or self.resume_to
            self._move(_C.DELIVER, _S.ON_HOLD, now)
        else:
            self._move(_C.DELIVER, after or self.status, now)
        self._record(
            events.ShipmentDelivered(
                order_id=self.id,
                shipment_id=shipment_id,
                delivered_at=delivered_at,
                order_status=self.status,
            )
        )

    def capture_payment(
        self, now: datetime, amount: Money | None = None, *, refund_excess: bool = False
    ) -> None:
        """Capture on first shipment: by default what the order now costs (amendments reduce it).
        A repeated capture of the same amount is harmless. With `refund_excess`, a capture of
        more than the order now costs refunds the excess (see `_refund_overcapture`)."""
        amount = self.total if amount is None else amount
        if self.payment.captured == amount and not self.payment.can_capture():
            return
        self._ensure_something_shipped("capture_payment")
        self.payment.capture(amount)
        self.updated_at = now
        self._record(
            events.PaymentCaptured(order_id=self.id, amount=amount.amount, currency=amount.currency)
        )
        if refund_excess:
            self._refund_overcapture()

    def _refund_overcapture(self) -> None:
        """A capture of more than the order now costs (its remainder was cancelled while the
        capture was at the provider, so `cancel_remaining` had nothing to refund): refund the
        excess."""
        excess = self._refund_for_a_smaller_total(self.total)
        if excess.amount <= 0:
            return
        self.payment.refund(excess)
        self._record(
            events.OvercaptureRefunded(
                order_id=self.id,
                amount=excess.amount,
                currency=excess.currency,
                payment_status=self.payment.status.value,
            )
        )

    # -- returns -----------------------------------------------------------------------------

    def request_return(
        self,
        *,
        return_id: UUID,
        lines: Sequence[ReturnLineSpec],
        policy: ReturnPolicy,
        rma_number: str,
        now: datetime,
        case_id: str | None = None,
        limits: OrderLimits = DEFAULT_LIMITS,
        exchange_lines: Sequence[LineSpec] = (),
        exchange_payment: tuple[str, Decimal] | None = None,
    ) -> Return:
        """Open a return if the channel's policy allows it; authorize it at once when the policy
        authorizes automatically (the hub owns the policy, the RMA number is ours). An order has
        at most `limits.max_returns` returns, cancelled and rejected ones included
        (`TooManyReturns`), and a new case linked with it counts toward `limits.max_cases`.
        With `exchange_lines` it is an exchange (`domain.exchange`; docs/money.md)."""
        self._ensure_room_for_a_return(limits)
        if case_id is not None:
            self._ensure_room_for_case(case_id, limits)
        ret = open_return(
            return_id=return_id,
            order_id=self.id,
            lines=lines,
            policy=policy,
            case_id=case_id,
            now=now,
            unit_prices={ln.sku: (ln.unit_price, ln.tax_amount) for ln in self.lines},
            returnable=self.returnable,
            delivered_at=self.delivered_at,
            currency=self.currency,
            exchange_lines=exchange_lines,
            exchange_payment=exchange_payment,
        )
        self.returns.add(ret)
        self.updated_at = now
        self._record(ret.requested())
        if policy.auto_authorize:
            self._record(ret.authorize(rma_number, now))
        if case_id is not None:
            self.link_case(case_id, now, return_id, limits=limits)
        return ret

    def authorize_return(self, return_id: UUID, rma_number: str, now: datetime) -> None:
        """An agent authorizes a return that waited in `requested`, under our RMA number."""
        ensure_no_issues(text_issues("rma_number", rma_number))
        self._on_return(self.get_return(return_id).authorize(rma_number, now), now)

    def reject_return(self, return_id: UUID, reason: str, now: datetime) -> None:
        """An agent refuses a return before it was received; its units become returnable again."""
        ensure_no_issues(text_issues("reason", reason, MAX_REASON_LENGTH))
        self._on_return(self.get_return(return_id).reject(reason, now), now)

    def cancel_return(self, return_id: UUID, now: datetime) -> None:
        """Withdraw a return before the warehouse received it; its units become returnable again."""
        self._on_return(self.get_return(return_id).cancel(now), now)

    def receive_return(
        self, return_id: UUID, received: Sequence[tuple[str, int]], now: datetime
    ) -> None:
        """The warehouse counted what came back; the refund due is computed now, and an exchange
        is settled (its replacement due, or a fall back to a plain return)."""
        ret = self.get_return(return_id)
        RETURN_TRANSITIONS.ensure_allowed(ret.status, ReturnCommand.RECEIVE)
        self._on_return(ret.receive(received, self._shipping_refund(ret, received), now), now)
        if ret.exchange is not None:
            self._on_return(ret.exchange_settled(), now)

    def inspect_return(
        self, return_id: UUID, dispositions: Mapping[str, Disposition], now: datetime, stock: Stock
    ) -> None:
        """Every received line gets a disposition; `restock` units go back on hand where they
        shipped from."""
        ret = self.get_return(return_id)
        restock_at = {ln.sku: self.shipments.shipped_from(ln.sku) for ln in ret.lines}
        event = ret.inspect(dispositions, restock_at, now)
        apply_movements(
            [
                StockMovement(StockKey(sku, restock_at[sku]), Movement.RESTOCK, quantity)
                for sku, quantity in ret.restock_quantities().items()
            ],
            stock,
        )
        self._on_return(event, now)

    def post_credit_memo(
        self, return_id: UUID, credit_memo_ref: str, amount: Money, now: datetime
    ) -> None:
        """The ERP posted a credit memo: refund it when it matches the computed refund, otherwise
        hold the return for an agent. The same memo posted twice is harmless."""
        ret = self.get_return(return_id)
        ensure_no_issues(text_issues("credit_memo_ref", credit_memo_ref))
        if ret.credit_memo_ref == credit_memo_ref and ret.status in (
            ReturnStatus.REFUNDED,
            ReturnStatus.CLOSED,
            ReturnStatus.ON_HOLD,
        ):
            return
        RETURN_TRANSITIONS.ensure_allowed(ret.status, ReturnCommand.POST_CREDIT_MEMO)
        money = ret.money_refund(amount)  # an exchange's replacement keeps its share
        refunds_money = amount == ret.refund_amount and money.amount > 0
        if refunds_money:
            self.payment.ensure_refundable(money)
        if not ret.post_credit_memo(credit_memo_ref, amount, now):
            self._on_return(ret.held(), now)
            return
        if refunds_money:
            self.payment.refund(money)
        self._on_return(ret.refund_issued(self.payment.status), now)

    def accept_credit_memo(self, return_id: UUID, now: datetime) -> None:
        """An agent accepts the ERP's amount for a return held for a credit memo that did not
        match the computed refund: that amount is refunded (never more than captured less
        refunded)."""
        ret = self.get_return(return_id)
        RETURN_TRANSITIONS.ensure_allowed(ret.status, ReturnCommand.ACCEPT_CREDIT_MEMO)
        assert ret.credit_memo_amount is not None
        money = ret.money_refund(ret.credit_memo_amount)
        if money.amount > 0:
            self.payment.ensure_refundable(money)
        ret.accept_credit_memo(now)
        if money.amount > 0:
            self.payment.refund(money)
        self._on_return(ret.refund_issued(self.payment.status), now)

    def record_replacement(
        self, return_id: UUID, replacement_order_id: UUID, now: datetime
    ) -> bool:
        """The replacement an exchange's receipt made due was placed; answers False (changing
        nothing) when one already was, so a replacement is placed once."""
        exchange = self.get_return(return_id).exchange
        if exchange is None or exchange.outcome is not ExchangeOutcome.REPLACED:
            raise InvalidTransition(
                "return", self.get_return(return_id).status, "place_replacement"
            )
        if exchange.replacement_order_id is not None:
            return False
        exchange.replacement_order_id = replacement_order_id
        self.get_return(return_id).updated_at = now
        self._on_return(
            events.ReplacementPlaced(
                order_id=self.id, return_id=return_id, replacement_order_id=replacement_order_id
            ),
            now,
        )
        return True

    def settle_as_replacement(self, original: Order, return_id: UUID, now: datetime) -> None:
        """This new order is `original`'s exchange replacement: the returned units' refund and
        the difference payment paid its total, so its payment is captured at once (no capture
        waits for its first shipment)."""
        self.payment.capture(self.total)
        self.updated_at = now
        self._record(
            events.PaymentCaptured(
                order_id=self.id, amount=self.total.amount, currency=self.currency
            )
        )
        self._record(
            events.PlacedAsReplacement(
                order_id=self.id,
                return_id=return_id,
                original_order_id=original.id,
                rma_number=original.get_return(return_id).rma_number,
            )
        )

    def release_return_hold(self, return_id: UUID, now: datetime) -> None:
        """An agent sorted out a mismatched credit memo: the return waits for a matching one."""
        self._on_return(self.get_return(return_id).release_hold(now), now)

    def close_return(self, return_id: UUID, now: datetime) -> None:
        """Commerce and the CRM were told about the refund: the return is done."""
        self._on_return(self.get_return(return_id).close(now), now)

    # -- CRM cases ---------------------------------------------------------------------------

    def link_case(
        self,
        case_id: str,
        now: datetime,
        return_id: UUID | None = None,
        *,
        limits: OrderLimits = DEFAULT_LIMITS,
    ) -> None:
        """Attach a CRM case; linking the same case again changes nothing. The id must be one the
        CRM accepts, and an order has at most `limits.max_cases` cases (`TooManyCases`)."""
        if case_id in self.case_ids:
            return
        ensure_no_issues(case_id_issues("case_id", case_id))
        self._ensure_room_for_case(case_id, limits)
        self.case_ids.append(case_id)
        self.updated_at = now
        self._record(events.CaseLinked(order_id=self.id, case_id=case_id, return_id=return_id))

    def record_case_update(
        self,
        case_id: str,
        status: str,
        note: str,
        now: datetime,
        return_id: UUID | None = None,
        *,
        limits: OrderLimits = DEFAULT_LIMITS,
    ) -> None:
        """The CRM changed a case about this order: link it if new (within `limits`), and keep
        the update."""
        issues = text_issues("status", status, 100)
        if len(note) > 4000:
            issues.append(FieldIssue("note", "at most 4000 characters"))
        ensure_no_issues(issues)
        self.link_case(case_id, now, return_id, limits=limits)
        self.updated_at = now
        self._record(
            events.CaseUpdated(
                order_id=self.id, case_id=case_id, return_id=return_id, status=status, note=note
            )
        )

    # -- moving the lifecycle ----------------------------------------------------------------

    def _move(self, command: OrderCommand, target: OrderStatus, now: datetime) -> None:
        self.status = ORDER_TRANSITIONS.move(self.status, command, target)
        self.updated_at = now

    def _hold(self, command: OrderCommand, reason: str, now: datetime, hold_ttl: timedelta) -> None:
        """Put the order on hold; unconfirmed holds start their expiry clock."""
        previous = self.status
        self._move(command, _S.ON_HOLD, now)
        if previous is not _S.ON_HOLD:
            self.resume_to, self.held_at = previous, now
            self.reservations.start_expiry(now + hold_ttl)
        self.hold_reason = reason

    def _allocate(
        self, stock: Stock, priority: LocationPriority, new_id: NewId, *, all_or_nothing: bool
    ) -> tuple[list[Reservation], tuple[Shortage, ...]]:
        """Reserve every unshipped, unreserved unit that stock allows, in location priority order."""
        wanted = [(ln.sku, ln.unshipped) for ln in self.lines]
        return self.reservations.reserve(
            wanted, stock, priority, new_id, all_or_nothing=all_or_nothing
        )

    def _shipping_refund(self, ret: Return, received: Sequence[tuple[str, int]]) -> Money:
        """Shipping is refunded (when the policy says so) once, by the return that brings back
        the last unit of a fully shipped order."""
        zero = Money.zero(self.currency)
        if not ret.refunds_shipping or not self.shipping_amount.amount:
            return zero
        if self.returns.shipping_refunded:
            return zero
        if self.status not in (_S.SHIPPED, _S.DELIVERED):
            return zero
        now_received = dict(received)
        everything_back = all(
            self.returned(ln.sku) + now_received.get(ln.sku, 0) >= ln.quantity for ln in self.lines
        )
        return self.shipping_amount if everything_back else zero

    # -- recording ---------------------------------------------------------------------------

    def _placed(self) -> events.OrderPlaced:
        return events.OrderPlaced(
            order_id=self.id,
            channel=self.channel,
            channel_order_ref=self.channel_order_ref,
            customer=self.customer,
            shipping_address=self.shipping_address,
            currency=self.currency,
            lines=tuple(_line_item(ln) for ln in self.lines),
            shipping_amount=self.shipping_amount.amount,
            total=self.total.amount,
            payment_reference=self.payment.reference,
            payment_amount=self.payment.authorized.amount,
            allow_backorder=self.allow_backorder,
            replacement_for_return_id=self.replacement_for_return_id,
        )

    def _record_allocation(
        self, created: list[Reservation], shortages: tuple[Shortage, ...]
    ) -> None:
        if created:
            self._record(
                events.InventoryReserved(
                    order_id=self.id,
                    reservations=tuple(r.units() for r in created),
                    order_status=self.status,
                )
            )
        if shortages:
            missing = tuple(
                events.MissingUnits(sku=s.sku, missing=s.requested - s.available) for s in shortages
            )
            self._record(events.OrderBackordered(order_id=self.id, missing=missing))

    def _on_return(self, event: events.ReturnEvent, now: datetime) -> None:
        self.updated_at = now
        self._record(event)

    # -- rules -------------------------------------------------------------------------------

    def _unshipped_value(self) -> Money:
        """What the unshipped units cost the customer, their tax included."""
        return sum((ln.unit_gross * ln.unshipped for ln in self.lines), Money.zero(self.currency))

    def _refund_for_a_smaller_total(self, new_total: Money) -> Money:
        """What to refund of a capture once the order costs `new_total`: the capture less the new
        total, within what is left to refund (returns may have refunded some already); nothing
        before a capture."""
        zero = Money.zero(self.currency)
        if self.payment.captured <= new_total or self.payment.refundable <= zero:
            return zero
        due = self.payment.captured - new_total
        return due if due <= self.payment.refundable else self.payment.refundable

    def _ensure_room_for_a_return(self, limits: OrderLimits) -> None:
        """Every return ever requested counts, withdrawn ones too: request → cancel in a loop
        would otherwise call the ERP and grow the order without end."""
        if len(self.returns) >= limits.max_returns:
            raise TooManyReturns(limits.max_returns)

    def _ensure_room_for_case(self, case_id: str, limits: OrderLimits) -> None:
        """Every linked case is commented on at each later change: their number is bounded."""
        if case_id not in self.case_ids and len(self.case_ids) >= limits.max_cases:
            raise TooManyCases(limits.max_cases)

    def _ensure_open_for_new_lines(self) -> None:
        """New lines join an order while it is reserved or backordered and the ERP never booked
        it, or while it is booked and nothing shipped (an amendment the ERP must accept)."""
        before_booking = self.status in (_S.RESERVED, _S.BACKORDERED) and not self.erp_order_ref
        if not before_booking and not (self.status is _S.BOOKED and not self.shipments):
            raise InvalidTransition("order", self.status, "add_lines")

    def _ensure_refusable_edit(self, skus: Sequence[str], payment_reference: str) -> None:
        """Only the edit the order still stands on is undone: its authorization is the order's,
        and its lines are there, none shipped."""
        lines = [self.line(sku) for sku in skus]
        if self.payment.reference != payment_reference or any(
            ln is None or ln.shipped for ln in lines
        ):
            raise InvalidTransition("order", self.status, "refuse_added_lines")

    def _ensure_nothing_shipped(self, command: OrderCommand) -> None:
        """Amending and cancelling stop at the first shipment, on hold or not."""
        if self.shipments:
            raise InvalidTransition("order", self.status, command)

    def _ensure_held_after_shipping(self, command: OrderCommand) -> None:
        """On hold, only an order held after it shipped hears of its shipments' journey."""
        if self.status is _S.ON_HOLD and self.resume_to not in _SHIPPED:
            raise InvalidTransition("order", self.status, command)

    def _ensure_not_booked_under_another_ref(self, erp_order_ref: str) -> None:
        if self.erp_order_ref not in (None, erp_order_ref):
            raise InvalidTransition("order", self.status, _C.BOOK)

    def _ensure_shipped_within_ordered(self, lines: Sequence[tuple[str, int]]) -> None:
        for sku, quantity in lines:
            line = self.line(sku)
            assert line is not None
            if line.shipped + quantity > line.quantity:
                raise ShipmentExceedsOrdered(sku, line.quantity, line.shipped + quantity)

    def _ensure_refund_within_capture(self, amount: Money) -> None:
        """Captured minus refunded bounds every refund; before a capture that is nothing."""
        if amount > self.payment.refundable:
            raise RefundExceedsCaptured(str(amount), str(self.payment.refundable))

    def _ensure_something_shipped(self, command: str) -> None:
        """Capturing, and refusing a channel's cancellation, need a first shipment."""
        if not self.shipments:
            raise InvalidTransition("order", self.status, command)


def _line_item(line: OrderLine) -> events.LineItem:
    return events.LineItem(
        sku=line.sku,
        quantity=line.quantity,
        unit_price=line.unit_price.amount,
        tax_amount=line.tax_amount.amount,
    )
