"""Commands: what channels, agents, back-office systems and jobs ask the hub to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain.customer import Address, Customer
from domain.integration_trouble import Trouble
from domain.order_lines import LineSpec
from domain.returns import Disposition, ReturnLineSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuCount:
    sku: str
    quantity: int


# -- channels and agents -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder(Command):
    channel: str
    channel_order_ref: str
    customer: Customer
    shipping_address: Address
    currency: str
    lines: tuple[LineSpec, ...]
    payment_reference: str
    payment_amount: Decimal
    allow_backorder: bool = False
    shipping_amount: Decimal = Decimal(0)
    replacement_for_return_id: UUID | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AmendOrder(Command):
    """Quantities are the new quantities of the named lines (0 removes a line)."""

    order_id: UUID
    expected_version: int | None = None
    shipping_address: Address | None = None
    lines: tuple[SkuCount, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AddLines(Command):
    """New lines for an order not yet booked, under a new authorization covering the new total
    (it replaces the order's authorization, which is then voided)."""

    order_id: UUID
    lines: tuple[LineSpec, ...]
    payment_reference: str
    payment_amount: Decimal
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RefuseAddedLines(Command):
    """The ERP refused the amendment that added `skus` under `payment_reference`: undo it."""

    order_id: UUID
    skus: tuple[str, ...]
    payment_reference: str
    previous_payment_reference: str
    previous_payment_amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder(Command):
    order_id: UUID
    reason: str = "cancelled by the channel"
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowChannelCancellation(Command):
    """The channel cancelled its order on its side (Shopify's orders/cancelled): follow it while
    the order can still be cancelled, otherwise record that it asked too late."""

    channel: str
    channel_order_ref: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordChannelRefund(Command):
    """The channel already refunded `amount` (Shopify's refunds/create); `refund_ref` is its own
    id of the refund, so the same refund is recorded once."""

    channel: str
    channel_order_ref: str
    refund_ref: str
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueAppeasement(Command):
    """An agent refunds `amount` (in the order's currency) without a return; `refund_id` is
    stable across retries of one request, so the refund is issued once."""

    order_id: UUID
    refund_id: UUID
    amount: Decimal
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRemaining(Command):
    order_id: UUID
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AddNote(Command):
    order_id: UUID
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldOrder(Command):
    order_id: UUID
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeOrder(Command):
    order_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkCase(Command):
    order_id: UUID
    case_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordCaseUpdate(Command):
    """From the CRM: a case about an order (or about one of its returns) changed."""

    case_id: str
    status: str
    note: str = ""
    order_id: UUID | None = None
    return_id: UUID | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReturn(Command):
    """With `exchange_lines` an exchange; `exchange_payment` authorizes the difference when the
    replacement costs more than the returned units' refund (docs/money.md, "Exchanges")."""

    order_id: UUID
    lines: tuple[ReturnLineSpec, ...]
    case_id: str | None = None
    exchange_lines: tuple[LineSpec, ...] = ()
    exchange_payment: PaymentSpec | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentSpec:
    reference: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceReplacement(Command):
    """Place the replacement of an exchange received in full, once (`domain.replacement`)."""

    return_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizeReturn(Command):
    return_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectReturn(Command):
    return_id: UUID
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelReturn(Command):
    return_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseReturnHold(Command):
    return_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptCreditMemo(Command):
    return_id: UUID


# -- back-office systems -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BookOrder(Command):
    order_id: UUID
    erp_order_ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectOrder(Command):
    order_id: UUID
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordShipment(Command):
    order_id: UUID
    shipment_id: str
    location: str
    carrier: str
    tracking_number: str
    lines: tuple[SkuCount, ...]
    dispatched_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordDelivery(Command):
    order_id: UUID
    shipment_id: str
    delivered_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturePayment(Command):
    """`amount` None captures what the order costs now. `refund_excess`: the capture took what
    the order cost when it was asked for; whatever it takes above what the order costs now (its
    remainder was cancelled meanwhile) is refunded. Fulfilment's captures only: a payment
    system's own report of a capture is recorded as it is."""

    order_id: UUID
    amount: Decimal | None = None
    refund_excess: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FailPayment(Command):
    order_id: UUID
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveReturn(Command):
    return_id: UUID
    lines: tuple[SkuCount, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectedSku:
    sku: str
    disposition: Disposition


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectReturn(Command):
    return_id: UUID
    lines: tuple[InspectedSku, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PostCreditMemo(Command):
    return_id: UUID
    credit_memo_ref: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseReturn(Command):
    return_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyStockSnapshot(Command):
    sku: str
    location: str
    on_hand: int
    sequence: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AdjustStock(Command):
    sku: str
    location: str
    delta: int
    reason: str


# -- the hub's own jobs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FillBackorders(Command):
    """Stock of `sku` went up: offer it to backordered orders, oldest first."""

    sku: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordIntegrationTrouble(Command):
    """A delivery of one of the order's events to a remote system is failing, was given up on,
    or went through after failing: tell the order's timeline (PRODUCT.md §8.3)."""

    order_id: UUID
    trouble: Trouble


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireReservations(Command):
    """Release the holds of orders that sat on hold past the reservation TTL."""

    limit: int = 500
