"""Request bodies, one schema per use case. Unknown fields are refused; text has bounds."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from msgspec import Meta, Struct

from domain import commands as c
from domain.customer import Address, Customer
from domain.errors import FieldIssue, ValidationFailed
from domain.order_lines import LineSpec
from domain.returns import ReturnLineSpec

#: No NUL anywhere: PostgreSQL cannot store it in text or JSON, and no real value has one.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Meta(max_length=200, pattern=NO_NUL)]
LongText = Annotated[str, Meta(max_length=2000, pattern=NO_NUL)]
Sku = Annotated[str, Meta(min_length=1, max_length=64, pattern=NO_NUL)]
Quantity = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Amount = Annotated[Decimal, Meta()]


class Body(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


class CustomerBody(Body):
    email: Text
    name: Text
    id: Text | None = None

    def to_domain(self) -> Customer:
        return Customer(email=self.email, name=self.name, id=self.id)


class AddressBody(Body):
    name: Text
    line1: Text
    city: Text
    postal_code: Annotated[str, Meta(max_length=20, pattern=NO_NUL)]
    country: Annotated[str, Meta(max_length=2, pattern=NO_NUL)]
    line2: Text | None = None

    def to_domain(self) -> Address:
        return Address(
            name=self.name,
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postal_code=self.postal_code,
            country=self.country,
        )


class LineBody(Body):
    sku: Sku
    quantity: Quantity
    unit_price: Amount
    #: Per unit, on top of `unit_price`.
    tax_amount: Amount = Decimal(0)

    def to_spec(self) -> LineSpec:
        return LineSpec(
            sku=self.sku,
            quantity=self.quantity,
            unit_price=self.unit_price,
            tax_amount=self.tax_amount,
        )


class PaymentBody(Body):
    reference: Text
    amount: Amount


class PlaceOrderBody(Body):
    channel_order_ref: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]
    customer: CustomerBody
    shipping_address: AddressBody
    currency: Annotated[str, Meta(min_length=3, max_length=3, pattern=NO_NUL)]
    lines: Annotated[list[LineBody], Meta(max_length=500)]
    payment: PaymentBody
    allow_backorder: bool = False
    shipping_amount: Amount = Decimal(0)
    #: Only for agent keys (a channel key always places for its own channel).
    channel: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)] | None = None
    #: A return of an order of the same channel; any other id is 422
    #: `replacement_return_not_found`.
    replacement_for_return_id: UUID | None = None

    def to_command(self, channel: str) -> c.PlaceOrder:
        return c.PlaceOrder(
            channel=channel,
            channel_order_ref=self.channel_order_ref,
            customer=self.customer.to_domain(),
            shipping_address=self.shipping_address.to_domain(),
            currency=self.currency,
            lines=tuple(ln.to_spec() for ln in self.lines),
            payment_reference=self.payment.reference,
            payment_amount=self.payment.amount,
            allow_backorder=self.allow_backorder,
            shipping_amount=self.shipping_amount,
            replacement_for_return_id=self.replacement_for_return_id,
        )


class LineQuantityBody(Body):
    sku: Sku
    quantity: Quantity


class AmendOrderBody(Body):
    """Either changes (`shipping_address`, `lines`: new quantities) or new lines (`add_lines`,
    with the `payment` that covers the new total), not both in one request."""

    shipping_address: AddressBody | None = None
    lines: Annotated[list[LineQuantityBody], Meta(max_length=500)] = []
    add_lines: (
        Annotated[
            list[LineBody],
            Meta(
                max_length=500,
                description="New lines (SKUs the order lacks), with `payment`; not with `lines` "
                "or `shipping_address`. Before shipping; a booked order's edit goes to the ERP.",
            ),
        ]
        | None
    ) = None
    #: Required with `add_lines`: the new authorization, covering the new total.
    payment: PaymentBody | None = None

    def to_command(self, order_id: UUID, expected_version: int | None) -> c.AmendOrder | c.AddLines:
        if self.add_lines is not None or self.payment is not None:
            return self._adding(order_id, expected_version)
        return c.AmendOrder(
            order_id=order_id,
            expected_version=expected_version,
            shipping_address=self.shipping_address.to_domain() if self.shipping_address else None,
            lines=tuple(c.SkuCount(sku=ln.sku, quantity=ln.quantity) for ln in self.lines),
        )

    def _adding(self, order_id: UUID, expected_version: int | None) -> c.AddLines:
        issues: list[FieldIssue] = []
        if self.add_lines is None:
            issues.append(FieldIssue("add_lines", "payment is only sent with add_lines"))
        if self.payment is None:
            issues.append(FieldIssue("payment", "required with add_lines: it covers the new total"))
        # One aggregate method per command: a reduction and an addition are two edits.
        if self.lines:
            issues.append(FieldIssue("lines", "send quantity changes apart from add_lines"))
        if self.shipping_address is not None:
            issues.append(FieldIssue("shipping_address", "send it apart from add_lines"))
        if issues or self.add_lines is None or self.payment is None:
            raise ValidationFailed(issues)
        return c.AddLines(
            order_id=order_id,
            expected_version=expected_version,
            lines=tuple(ln.to_spec() for ln in self.add_lines),
            payment_reference=self.payment.reference,
            payment_amount=self.payment.amount,
        )


class CancelOrderBody(Body):
    reason: LongText = "cancelled by the channel"


class CancelRemainingBody(Body):
    reason: LongText


class HoldOrderBody(Body):
    reason: LongText


class ReturnLineBody(Body):
    sku: Sku
    quantity: Quantity
    reason: LongText


class RequestReturnBody(Body):
    lines: Annotated[list[ReturnLineBody], Meta(max_length=500)]
    case_id: Text | None = None
    #: An exchange: the replacement to place once every returned unit is received
    #: (docs/money.md, "Exchanges").
    exchange_lines: Annotated[list[LineBody], Meta(max_length=50)] | None = None
    #: Only with `exchange_lines`, and required (422 `exchange_payment_required`) when the
    #: replacement costs more than the returned units' refund: it authorizes the difference.
    payment: PaymentBody | None = None

    def to_command(self, order_id: UUID) -> c.RequestReturn:
        return c.RequestReturn(
            order_id=order_id,
            lines=tuple(
                ReturnLineSpec(sku=ln.sku, quantity=ln.quantity, reason=ln.reason)
                for ln in self.lines
            ),
            case_id=self.case_id,
            exchange_lines=tuple(
                LineSpec(
                    sku=ln.sku,
                    quantity=ln.quantity,
                    unit_price=ln.unit_price,
                    tax_amount=ln.tax_amount,
                )
                for ln in self.exchange_lines or ()
            ),
            exchange_payment=c.PaymentSpec(
                reference=self.payment.reference, amount=self.payment.amount
            )
            if self.payment
            else None,
        )


class AddNoteBody(Body):
    text: LongText


class AppeasementBody(Body):
    """An agent's refund without a return, in the order's currency."""

    amount: Amount
    reason: LongText


class RejectReturnBody(Body):
    reason: LongText


class LinkCaseBody(Body):
    case_id: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]
