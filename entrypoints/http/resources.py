"""Response shapes (PRODUCT.md §5.1) and their rendering from the domain."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from msgspec import Struct

from domain.exchange import Exchange, ExchangeOutcome
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.payment import PaymentStatus
from domain.returns import Disposition, Return, ReturnStatus
from ports.order_lookup import LocationStock


class CustomerResource(Struct, kw_only=True):
    id: str | None
    email: str
    name: str


class AddressResource(Struct, kw_only=True):
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str


class LineResource(Struct, kw_only=True):
    sku: str
    quantity: int
    unit_price: str
    #: Per unit, not included in `unit_price` ("0.00" when the channel sent no tax).
    tax_amount: str
    reserved: int
    shipped: int
    returned: int


class PaymentResource(Struct, kw_only=True):
    status: PaymentStatus
    reference: str
    authorized: str
    captured: str
    refunded: str


class ReturnRef(Struct, kw_only=True):
    id: UUID
    status: ReturnStatus


class OrderResource(Struct, kw_only=True):
    id: UUID
    channel: str
    channel_order_ref: str
    status: OrderStatus
    version: int
    currency: str
    total: str
    customer: CustomerResource
    shipping_address: AddressResource
    allow_backorder: bool
    lines: list[LineResource]
    payment: PaymentResource
    erp_order_ref: str | None
    returns: list[ReturnRef]
    case_ids: list[str]
    #: Set on an order placed as the replacement of an exchange (or by a channel for a return).
    replacement_for_return_id: UUID | None
    created_at: datetime
    updated_at: datetime


class ReturnLineResource(Struct, kw_only=True):
    sku: str
    quantity: int
    reason: str
    received: int
    disposition: Disposition | None


class ExchangeLineResource(Struct, kw_only=True):
    sku: str
    quantity: int
    unit_price: str
    tax_amount: str


class ExchangePaymentResource(Struct, kw_only=True):
    reference: str
    amount: str


class ExchangeResource(Struct, kw_only=True):
    """The replacement a return is exchanged for; how receipt settled it (docs/money.md)."""

    lines: list[ExchangeLineResource]
    payment: ExchangePaymentResource | None
    #: null until received: `replaced` (every unit came back) or `fell_back` (a plain return).
    outcome: ExchangeOutcome | None
    #: The part of the return's `refund_amount` that pays for the replacement.
    credit: str | None
    #: What the difference payment is charged.
    payment_due: str | None
    replacement_order_id: UUID | None


class ReturnResource(Struct, kw_only=True):
    id: UUID
    order_id: UUID
    status: ReturnStatus
    rma_number: str | None
    lines: list[ReturnLineResource]
    #: What the credit memo must match (of an exchange, its `credit` pays for the replacement
    #: and only the rest is refunded).
    refund_amount: str | None
    credit_memo_ref: str | None
    case_id: str | None
    exchange: ExchangeResource | None
    created_at: datetime
    updated_at: datetime


class LocationResource(Struct, kw_only=True):
    location: str
    on_hand: int
    reserved: int
    available: int


class InventoryResource(Struct, kw_only=True):
    sku: str
    available: int
    locations: list[LocationResource]


def order_resource(order: Order) -> OrderResource:
    a, p = order.shipping_address, order.payment
    return OrderResource(
        id=order.id,
        channel=order.channel,
        channel_order_ref=order.channel_order_ref,
        status=order.status,
        version=order.version,
        currency=order.currency,
        total=str(order.total.amount),
        customer=CustomerResource(
            id=order.customer.id, email=order.customer.email, name=order.customer.name
        ),
        shipping_address=AddressResource(
            name=a.name,
            line1=a.line1,
            line2=a.line2,
            city=a.city,
            postal_code=a.postal_code,
            country=a.country,
        ),
        allow_backorder=order.allow_backorder,
        lines=[
            LineResource(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=str(ln.unit_price.amount),
                tax_amount=str(ln.tax_amount.amount),
                reserved=order.reserved(ln.sku),
                shipped=ln.shipped,
                returned=order.returned(ln.sku),
            )
            for ln in order.lines
        ],
        payment=PaymentResource(
            status=p.status,
            reference=p.reference,
            authorized=str(p.authorized.amount),
            captured=str(p.captured.amount),
            refunded=str(p.refunded.amount),
        ),
        erp_order_ref=order.erp_order_ref,
        returns=[ReturnRef(id=r.id, status=r.status) for r in order.returns.values()],
        case_ids=list(order.case_ids),
        replacement_for_return_id=order.replacement_for_return_id,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def return_resource(ret: Return) -> ReturnResource:
    return ReturnResource(
        id=ret.id,
        order_id=ret.order_id,
        status=ret.status,
        rma_number=ret.rma_number,
        lines=[
            ReturnLineResource(
                sku=ln.sku,
                quantity=ln.quantity,
                reason=ln.reason,
                received=ln.received,
                disposition=ln.disposition,
            )
            for ln in ret.lines
        ],
        refund_amount=str(ret.refund_amount.amount) if ret.refund_amount else None,
        credit_memo_ref=ret.credit_memo_ref,
        case_id=ret.case_id,
        exchange=exchange_resource(ret.exchange) if ret.exchange else None,
        created_at=ret.created_at,
        updated_at=ret.updated_at,
    )


def exchange_resource(x: Exchange) -> ExchangeResource:
    return ExchangeResource(
        lines=[
            ExchangeLineResource(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=str(ln.unit_price.amount),
                tax_amount=str(ln.tax_amount.amount),
            )
            for ln in x.lines
        ],
        payment=ExchangePaymentResource(
            reference=x.payment.reference, amount=str(x.payment.amount.amount)
        )
        if x.payment
        else None,
        outcome=x.outcome,
        credit=str(x.credit.amount) if x.credit is not None else None,
        payment_due=str(x.payment_due.amount) if x.payment_due is not None else None,
        replacement_order_id=x.replacement_order_id,
    )


def inventory_resource(sku: str, levels: list[LocationStock]) -> InventoryResource:
    return InventoryResource(
        sku=sku,
        available=sum(level.available for level in levels),
        locations=[
            LocationResource(
                location=level.location,
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=level.available,
            )
            for level in levels
        ],
    )
