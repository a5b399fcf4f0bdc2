"""The replacement order an exchange's receipt makes due, placed once and linked both ways."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from domain.allocation import LocationPriority
from domain.errors import InvalidTransition
from domain.exchange import ExchangeOutcome
from domain.order import NewId, Order, Stock
from domain.order_lines import LineSpec


def replacement_ref(return_id: UUID) -> str:
    """The replacement's `channel_order_ref`: one per return, so a second placement is refused
    as a duplicate even if the original's record of the first were lost."""
    return f"exchange:{return_id}"


def place_replacement(
    original: Order,
    return_id: UUID,
    *,
    id: UUID,
    now: datetime,
    stock: Stock,
    priority: LocationPriority,
    new_id: NewId,
) -> Order | None:
    """Place the replacement of `original`'s exchange `return_id` (received in full): the same
    channel, customer, address and currency, the exchange lines, no shipping, reserved at once or
    backordered, `replacement_for_return_id` set, paid in full. `original` records it
    (`ReplacementPlaced`); None when a replacement was already placed (nothing changes)."""
    ret = original.get_return(return_id)
    exchange = ret.exchange
    if exchange is None or exchange.outcome is not ExchangeOutcome.REPLACED:
        raise InvalidTransition("return", ret.status, "place_replacement")
    if exchange.replacement_order_id is not None:
        return None
    replacement = Order.place(
        id=id,
        channel=original.channel,
        channel_order_ref=replacement_ref(return_id),
        customer=original.customer,
        shipping_address=original.shipping_address,
        currency=original.currency,
        lines=[
            LineSpec(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price.amount,
                tax_amount=ln.tax_amount.amount,
            )
            for ln in exchange.lines
        ],
        # The refund of the returned units came from this payment; the difference from another
        # authorization, captured by the process manager under the exchange's own key.
        payment_reference=original.payment.reference,
        payment_amount=exchange.total.amount,
        allow_backorder=True,
        shipping_amount=Decimal(0),  # a replacement ships without charge
        now=now,
        stock=stock,
        priority=priority,
        new_id=new_id,
        replacement_for_return_id=return_id,
    )
    original.record_replacement(return_id, replacement.id, now)
    replacement.settle_as_replacement(original, return_id, now)
    return replacement
