"""Domain events: past-tense facts recorded by aggregates and written to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from domain.customer import Address, Customer


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of every event. `schema_version` is bumped when a payload changes shape."""

    schema_version: ClassVar[int] = 1


# -- small value shapes carried inside events --------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LineItem:
    sku: str
    quantity: int
    unit_price: Decimal
    #: Per unit; absent from events recorded before lines carried tax (read as zero).
    tax_amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuQuantity:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservedUnits:
    reservation_id: UUID
    sku: str
    location: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingUnits:
    sku: str
    missing: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnLineItem:
    sku: str
    quantity: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectedLine:
    sku: str
    disposition: str
    quantity: int
    restocked_at: str | None


# -- order -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(DomainEvent):
    order_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPlaced(OrderEvent):
    channel: str
    channel_order_ref: str
    customer: Customer
    shipping_address: Address
    currency: str
    lines: tuple[LineItem, ...]
    shipping_amount: Decimal
    total: Decimal
    payment_reference: str
    payment_amount: Decimal
    allow_backorder: bool
    replacement_for_return_id: UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryReserved(OrderEvent):
    reservations: tuple[ReservedUnits, ...]
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderBackordered(OrderEvent):
    missing: tuple[MissingUnits, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderBooked(OrderEvent):
    erp_order_ref: str
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejectedByErp(OrderEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderHeld(OrderEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded(OrderEvent):
    """Someone (an agent, or the order's channel) wrote a note on the order's timeline."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderResumed(OrderEvent):
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAmended(OrderEvent):
    shipping_address: Address | None
    lines: tuple[SkuQuantity, ...]
    released: tuple[ReservedUnits, ...]
    total: Decimal
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LinesAdded(OrderEvent):
    """Lines were added under a new authorization (`payment_reference`, `payment_amount`)
    covering the new `total`; `previous_payment_reference` (for `previous_payment_amount`) was
    authorized for the order before. Before booking the previous one is voided at once; after
    booking (`booked`) only once the ERP took the amendment, and if it refuses the edit is undone
    (`AddedLinesRefused`)."""

    lines: tuple[LineItem, ...]
    payment_reference: str
    payment_amount: Decimal
    previous_payment_reference: str
    previous_payment_amount: Decimal
    booked: bool
    total: Decimal
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AddedLinesRefused(OrderEvent):
    """The ERP refused the amendment that added `lines`: they are gone and their units
    `released`, the order is back under its previous authorization (`payment_reference`,
    `payment_amount`) and on hold with the ERP's `reason`; `refused_payment_reference`, the
    edit's authorization, is to be voided."""

    lines: tuple[SkuQuantity, ...]
    released: tuple[ReservedUnits, ...]
    payment_reference: str
    payment_amount: Decimal
    refused_payment_reference: str
    reason: str
    total: Decimal
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(OrderEvent):
    reason: str
    released: tuple[ReservedUnits, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RemainderCancelled(OrderEvent):
    """A partially shipped order's unshipped units were cancelled: it ends with what shipped."""

    reason: str
    lines: tuple[SkuQuantity, ...]  #: the units cancelled, per SKU
    released: tuple[ReservedUnits, ...]
    total: Decimal  #: what the order now costs
    #: What the payment provider is to refund of a capture that took the old total (0: none,
    #: the capture is still to come and will take the new total).
    refund_amount: Decimal
    currency: str
    payment_status: str
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationExpired(OrderEvent):
    expired: tuple[ReservedUnits, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentDispatched(OrderEvent):
    shipment_id: str
    location: str
    carrier: str
    tracking_number: str
    lines: tuple[SkuQuantity, ...]
    dispatched_at: datetime
    order_status: str
    #: Holds at other locations that this shipment made unnecessary (it left from elsewhere).
    released: tuple[ReservedUnits, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentDelivered(OrderEvent):
    shipment_id: str
    delivered_at: datetime
    order_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCaptured(OrderEvent):
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OvercaptureRefunded(OrderEvent):
    """A capture took more than the order costs by then (its remainder was cancelled while the
    capture was at the provider): the excess is refunded."""

    amount: Decimal
    currency: str
    payment_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentFailed(OrderEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentVoided(OrderEvent):
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRequestedAfterShipment(OrderEvent):
    """The channel cancelled an order that had already started shipping. The hub cannot cancel
    it any more (PRODUCT.md §2.1), so nothing changes but this record: an agent settles it."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundRecorded(OrderEvent):
    """The channel already refunded the customer (e.g. Shopify's refunds/create): the payment's
    refunded total grew by `amount`; no payment provider is asked to pay it out again."""

    refund_ref: str
    amount: Decimal
    currency: str
    payment_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AppeasementIssued(OrderEvent):
    """An agent refunded `amount` without a return (a goodwill gesture, `reason` says why): the
    payment's refunded total grew and the payment provider is to pay it out once, under
    `refund_id`."""

    refund_id: UUID
    amount: Decimal
    currency: str
    reason: str
    payment_status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseLinked(OrderEvent):
    case_id: str
    return_id: UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseUpdated(OrderEvent):
    """The CRM reported a change of a case about this order (for the agent's timeline)."""

    case_id: str
    return_id: UUID | None
    status: str
    note: str


# -- integration trouble (facts for the order's timeline, PRODUCT.md §8.3) ----------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationEvent(OrderEvent):
    """A delivery of one of this order's events to a remote system is in trouble, or out of it.
    These change nothing on the order: they are there for its timeline, in any state."""

    remote: str  #: `erp`, `payment`, `crm`, `commerce`, or `hub` when no remote was to blame
    consumer: str  #: who was delivering: `fulfilment`, `returns`
    event_type: str  #: what was being delivered
    attempts: int  #: attempts spent so far (riding out an outage spends none)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationFailing(IntegrationEvent):
    """The delivery failed again after its first retry (or is riding out an outage of its
    remote): it is tried again automatically."""

    error: str  #: a short summary of the last failure, free of secrets


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationRecovered(IntegrationEvent):
    """The delivery that was failing went through."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IntegrationDeadLettered(IntegrationEvent):
    """The delivery was given up on and parked in the dead-letter store, for operators."""

    reason: str  #: `permanent`, `retries_exhausted`, `outage_outlasted_horizon`, ...
    error: str  #: a short summary of the last failure, free of secrets


# -- returns (entities of the order aggregate, so they share its event stream) ------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnEvent(OrderEvent):
    return_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnRequested(ReturnEvent):
    lines: tuple[ReturnLineItem, ...]
    case_id: str | None
    #: The replacement an exchange asks for (empty: a plain return), with the authorization for
    #: the difference when it costs more than the refund.
    exchange_lines: tuple[LineItem, ...] = ()
    exchange_payment_reference: str | None = None
    exchange_payment_amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnAuthorized(ReturnEvent):
    rma_number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnRejected(ReturnEvent):
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnCancelled(ReturnEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnReceived(ReturnEvent):
    lines: tuple[SkuQuantity, ...]
    refund_amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplacementDue(ReturnEvent):
    """Every unit of an exchange came back: its replacement is to be placed and the difference
    settled. Recorded after the `ReturnReceived` whose `refund_amount` the credit memo matches;
    the customer gets back `refund`, the rest of it (`credit`) pays for the replacement, and
    `payment_due` is taken from the difference payment."""

    lines: tuple[LineItem, ...]
    currency: str
    replacement_total: Decimal
    credit: Decimal
    refund: Decimal
    payment_reference: str | None
    payment_due: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplacementPlaced(ReturnEvent):
    """On the original order: the replacement its exchange made due was placed."""

    replacement_order_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacedAsReplacement(OrderEvent):
    """On the replacement order: it replaces what a return of `original_order_id` took back, and
    the refund of those units (and the difference payment) paid for it in full."""

    return_id: UUID
    original_order_id: UUID
    rma_number: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeFellBack(ReturnEvent):
    """Fewer units came back than the exchange asked for: no replacement, the received units are
    refunded as a plain return, and an authorization for the difference (if any) is to be
    released."""

    payment_reference: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnInspected(ReturnEvent):
    lines: tuple[InspectedLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnHeld(ReturnEvent):
    reason: str
    #: The credit memo that did not match (absent from events stored before it was recorded).
    credit_memo_ref: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnHoldReleased(ReturnEvent):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundIssued(ReturnEvent):
    amount: Decimal  #: what the payment refunds (of an exchange: what its replacement left)
    currency: str
    credit_memo_ref: str
    payment_status: str
    #: The credit memo's amount, the return's refund amount (absent from events recorded before
    #: exchanges, when it always equalled `amount`).
    credit_memo_amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnClosed(ReturnEvent):
    pass


# -- stock -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StockEvent(DomainEvent):
    sku: str
    location: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StockSnapshotApplied(StockEvent):
    on_hand: int
    previous_on_hand: int
    sequence: int
    available: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StockAdjusted(StockEvent):
    delta: int
    applied_delta: int
    on_hand: int
    reason: str
    available: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StockShortfallDetected(StockEvent):
    """On-hand fell below what is already reserved (shrinkage): those units are oversold."""

    on_hand: int
    reserved: int


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        OrderPlaced, InventoryReserved, OrderBackordered, OrderBooked, OrderRejectedByErp,
        OrderHeld, OrderResumed, NoteAdded, OrderAmended, LinesAdded, AddedLinesRefused,
        OrderCancelled, RemainderCancelled,
        ReservationExpired,
        ShipmentDispatched, ShipmentDelivered, PaymentCaptured, OvercaptureRefunded, PaymentFailed,
        PaymentVoided,
        CancelRequestedAfterShipment, RefundRecorded, AppeasementIssued,
        IntegrationFailing, IntegrationRecovered, IntegrationDeadLettered,
        CaseLinked, CaseUpdated, ReturnRequested, ReturnAuthorized, ReturnRejected, ReturnCancelled,
        ReturnReceived, ReturnInspected, ReturnHeld, ReturnHoldReleased, RefundIssued,
        ReturnClosed, ReplacementDue, ExchangeFellBack, ReplacementPlaced, PlacedAsReplacement,
        StockSnapshotApplied, StockAdjusted, StockShortfallDetected,
    )
}  # fmt: skip
"""Every concrete event by its `event_type` name, for decoding envelopes."""
