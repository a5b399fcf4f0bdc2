"""Explicit mapping between the order aggregate and its row (lookup columns + a JSON state)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.customer import Address, Customer
from domain.exchange import Exchange, ExchangeOutcome, ExchangePayment
from domain.money import Money
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from domain.order_lines import OrderLine
from domain.payment import Payment, PaymentStatus
from domain.reservation import Reservation, ReservationStatus
from domain.returns import Disposition, Return, ReturnLine, ReturnStatus
from domain.shipment import Shipment

Record = dict[str, Any]


def order_row(order: Order) -> Record:
    """The columns of the `orders` row for `order`."""
    return {
        "id": order.id,
        "channel": order.channel,
        "channel_order_ref": order.channel_order_ref,
        "status": order.status.value,
        "version": order.version,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "next_hold_expiry": order.next_hold_expiry if order.status is OrderStatus.ON_HOLD else None,
        "state": order_state(order),
    }


def order_state(order: Order) -> Record:
    return {
        "customer": {
            "id": order.customer.id,
            "email": order.customer.email,
            "name": order.customer.name,
        },
        "shipping_address": _address(order.shipping_address),
        "currency": order.currency,
        "lines": [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_price": str(ln.unit_price.amount),
                "tax_amount": str(ln.tax_amount.amount),
                "shipped": ln.shipped,
            }
            for ln in order.lines
        ],
        "shipping_amount": str(order.shipping_amount.amount),
        "payment": {
            "reference": order.payment.reference,
            "status": order.payment.status.value,
            "authorized": str(order.payment.authorized.amount),
            "captured": str(order.payment.captured.amount),
            "refunded": str(order.payment.refunded.amount),
            "channel_refunds": list(order.payment.channel_refunds),
            "appeasements": list(order.payment.appeasements),
        },
        "allow_backorder": order.allow_backorder,
        "erp_order_ref": order.erp_order_ref,
        "reservations": [
            {
                "id": str(r.id),
                "sku": r.sku,
                "location": r.location,
                "quantity": r.quantity,
                "fulfilled": r.fulfilled,
                "released": r.released,
                "status": r.status.value,
                "expires_at": _time(r.expires_at),
            }
            for r in order.reservations
        ],
        "shipments": [
            {
                "id": s.id,
                "location": s.location,
                "carrier": s.carrier,
                "tracking_number": s.tracking_number,
                "lines": s.lines,
                "dispatched_at": _time(s.dispatched_at),
                "delivered_at": _time(s.delivered_at),
            }
            for s in order.shipments.values()
        ],
        "returns": [_return_state(r) for r in order.returns.values()],
        "case_ids": list(order.case_ids),
        "hold_reason": order.hold_reason,
        "held_at": _time(order.held_at),
        "resume_to": order.resume_to.value if order.resume_to else None,
        "replacement_for_return_id": _str(order.replacement_for_return_id),
    }


def order_from_row(row: Any) -> Order:
    """Rebuild the aggregate from its row (`id`, `channel`, …, `state`)."""
    s: Record = row.state
    currency = s["currency"]

    def money(text: str) -> Money:
        return Money(Decimal(text), currency)

    payment = s["payment"]
    return Order(
        id=row.id,
        channel=row.channel,
        channel_order_ref=row.channel_order_ref,
        status=OrderStatus(row.status),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        customer=Customer(**s["customer"]),
        shipping_address=Address(**s["shipping_address"]),
        currency=currency,
        lines=[
            OrderLine(
                sku=ln["sku"],
                quantity=ln["quantity"],
                unit_price=money(ln["unit_price"]),
                # Absent from orders stored before lines carried tax.
                tax_amount=money(ln["tax_amount"]) if "tax_amount" in ln else Money.zero(currency),
                shipped=ln["shipped"],
            )
            for ln in s["lines"]
        ],
        shipping_amount=money(s["shipping_amount"]),
        payment=Payment(
            reference=payment["reference"],
            status=PaymentStatus(payment["status"]),
            authorized=money(payment["authorized"]),
            captured=money(payment["captured"]),
            refunded=money(payment["refunded"]),
            # Absent from orders stored before channel refunds were recorded.
            channel_refunds=list(payment.get("channel_refunds", [])),
            # Absent from orders stored before appeasements.
            appeasements=list(payment.get("appeasements", [])),
        ),
        allow_backorder=s["allow_backorder"],
        erp_order_ref=s["erp_order_ref"],
        reservations=[
            Reservation(
                id=UUID(r["id"]),
                sku=r["sku"],
                location=r["location"],
                quantity=r["quantity"],
                fulfilled=r["fulfilled"],
                released=r["released"],
                status=ReservationStatus(r["status"]),
                expires_at=_parse(r["expires_at"]),
            )
            for r in s["reservations"]
        ],
        shipments={
            sh["id"]: Shipment(
                id=sh["id"],
                location=sh["location"],
                carrier=sh["carrier"],
                tracking_number=sh["tracking_number"],
                lines=dict(sh["lines"]),
                dispatched_at=_required(sh["dispatched_at"]),
                delivered_at=_parse(sh["delivered_at"]),
            )
            for sh in s["shipments"]
        },
        returns={UUID(r["id"]): _return_from(r, row.id, money) for r in s["returns"]},
        case_ids=list(s["case_ids"]),
        hold_reason=s["hold_reason"],
        held_at=_parse(s["held_at"]),
        resume_to=OrderStatus(s["resume_to"]) if s["resume_to"] else None,
        replacement_for_return_id=UUID(s["replacement_for_return_id"])
        if s["replacement_for_return_id"]
        else None,
    )


def _return_state(r: Return) -> Record:
    return {
        "id": str(r.id),
        "lines": [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "reason": ln.reason,
                "unit_price": str(ln.unit_price.amount),
                "unit_tax": str(ln.unit_tax.amount) if ln.unit_tax else None,
                "received": ln.received,
                "disposition": ln.disposition.value if ln.disposition else None,
            }
            for ln in r.lines
        ],
        "restocking_fee_percent": str(r.restocking_fee_percent),
        "refunds_shipping": r.refunds_shipping,
        "case_id": r.case_id,
        "status": r.status.value,
        "rma_number": r.rma_number,
        "refund_amount": str(r.refund_amount.amount) if r.refund_amount else None,
        "shipping_refund": str(r.shipping_refund.amount) if r.shipping_refund else None,
        "credit_memo_ref": r.credit_memo_ref,
        "credit_memo_amount": str(r.credit_memo_amount.amount) if r.credit_memo_amount else None,
        "hold_reason": r.hold_reason,
        "exchange": _exchange_state(r.exchange) if r.exchange else None,
        "created_at": _time(r.created_at),
        "updated_at": _time(r.updated_at),
    }


def _exchange_state(x: Exchange) -> Record:
    return {
        "lines": [
            {
                "sku": ln.sku,
                "quantity": ln.quantity,
                "unit_price": str(ln.unit_price.amount),
                "tax_amount": str(ln.tax_amount.amount),
            }
            for ln in x.lines
        ],
        "payment": {"reference": x.payment.reference, "amount": str(x.payment.amount.amount)}
        if x.payment
        else None,
        "outcome": x.outcome.value if x.outcome else None,
        "credit": str(x.credit.amount) if x.credit is not None else None,
        "payment_due": str(x.payment_due.amount) if x.payment_due is not None else None,
        "replacement_order_id": _str(x.replacement_order_id),
    }


def _exchange_from(x: Record, money: Any) -> Exchange:
    payment = x["payment"]
    return Exchange(
        lines=[
            OrderLine(
                sku=ln["sku"],
                quantity=ln["quantity"],
                unit_price=money(ln["unit_price"]),
                tax_amount=money(ln["tax_amount"]),
            )
            for ln in x["lines"]
        ],
        payment=ExchangePayment(reference=payment["reference"], amount=money(payment["amount"]))
        if payment
        else None,
        outcome=ExchangeOutcome(x["outcome"]) if x["outcome"] else None,
        credit=money(x["credit"]) if x["credit"] else None,
        payment_due=money(x["payment_due"]) if x["payment_due"] else None,
        replacement_order_id=UUID(x["replacement_order_id"])
        if x.get("replacement_order_id")
        else None,
    )


def _return_from(r: Record, order_id: UUID, money: Any) -> Return:
    return Return(
        id=UUID(r["id"]),
        order_id=order_id,
        lines=[
            ReturnLine(
                sku=ln["sku"],
                quantity=ln["quantity"],
                reason=ln["reason"],
                unit_price=money(ln["unit_price"]),
                # Absent from returns stored before lines carried tax.
                unit_tax=money(ln["unit_tax"]) if ln.get("unit_tax") else None,
                received=ln["received"],
                disposition=Disposition(ln["disposition"]) if ln["disposition"] else None,
            )
            for ln in r["lines"]
        ],
        restocking_fee_percent=Decimal(r["restocking_fee_percent"]),
        refunds_shipping=r["refunds_shipping"],
        case_id=r["case_id"],
        status=ReturnStatus(r["status"]),
        rma_number=r["rma_number"],
        refund_amount=money(r["refund_amount"]) if r["refund_amount"] else None,
        shipping_refund=money(r["shipping_refund"]) if r["shipping_refund"] else None,
        credit_memo_ref=r["credit_memo_ref"],
        # absent from returns stored before it was kept
        credit_memo_amount=money(r["credit_memo_amount"]) if r.get("credit_memo_amount") else None,
        hold_reason=r["hold_reason"],
        # absent from returns stored before exchanges
        exchange=_exchange_from(r["exchange"], money) if r.get("exchange") else None,
        created_at=_required(r["created_at"]),
        updated_at=_required(r["updated_at"]),
    )


def _address(a: Address) -> Record:
    return {
        "name": a.name,
        "line1": a.line1,
        "line2": a.line2,
        "city": a.city,
        "postal_code": a.postal_code,
        "country": a.country,
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _required(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _str(value: UUID | None) -> str | None:
    return str(value) if value else None
