"""The order lifecycle at a glance: its states, its commands, and which command leads where."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from domain.state_machine import TransitionTable


class OrderStatus(StrEnum):
    PLACED = "placed"
    RESERVED = "reserved"
    BACKORDERED = "backordered"
    BOOKED = "booked"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


class OrderCommand(StrEnum):
    RESERVE = "reserve"
    BOOK = "book"
    REJECT = "reject"
    HOLD = "hold"
    RESUME = "resume"
    AMEND = "amend"
    CANCEL = "cancel"
    SHIP = "ship"
    DELIVER = "deliver"
    FAIL_PAYMENT = "fail_payment"
    EXPIRE_HOLDS = "expire_holds"
    CANCEL_REMAINING = "cancel_remaining"


_S, _C = OrderStatus, OrderCommand
_ = frozenset

#: The whole order lifecycle: state -> command -> the states that command may lead to.
ORDER_TRANSITIONS: Final = TransitionTable[OrderStatus, OrderCommand](
    "order",
    {
        _S.PLACED: {_C.RESERVE: _({_S.RESERVED, _S.BACKORDERED})},
        _S.RESERVED: {
            _C.BOOK: _({_S.BOOKED}),
            _C.REJECT: _({_S.ON_HOLD}),
            _C.HOLD: _({_S.ON_HOLD}),
            _C.AMEND: _({_S.RESERVED}),
            _C.CANCEL: _({_S.CANCELLED}),
            _C.FAIL_PAYMENT: _({_S.ON_HOLD}),
        },
        _S.BACKORDERED: {
            _C.RESERVE: _({_S.RESERVED, _S.BACKORDERED}),
            _C.HOLD: _({_S.ON_HOLD}),
            _C.AMEND: _({_S.BACKORDERED, _S.RESERVED}),
            _C.CANCEL: _({_S.CANCELLED}),
            _C.FAIL_PAYMENT: _({_S.ON_HOLD}),
        },
        _S.BOOKED: {
            _C.SHIP: _({_S.PARTIALLY_SHIPPED, _S.SHIPPED}),
            _C.HOLD: _({_S.ON_HOLD}),
            _C.AMEND: _({_S.BOOKED}),
            _C.CANCEL: _({_S.CANCELLED}),
            _C.FAIL_PAYMENT: _({_S.ON_HOLD}),
        },
        # A card declined at capture (the first shipment) holds even a shipped order, and even a
        # delivered one (the capture waited out a provider outage while the parcel arrived): an
        # agent sorts the payment out, then resumes it where it was.
        _S.PARTIALLY_SHIPPED: {
            _C.SHIP: _({_S.PARTIALLY_SHIPPED, _S.SHIPPED}),
            _C.DELIVER: _({_S.PARTIALLY_SHIPPED}),
            _C.FAIL_PAYMENT: _({_S.ON_HOLD}),
            # The rest will never ship: the order ends with what it shipped.
            _C.CANCEL_REMAINING: _({_S.SHIPPED, _S.DELIVERED}),
        },
        _S.SHIPPED: {
            _C.DELIVER: _({_S.SHIPPED, _S.DELIVERED}),
            _C.FAIL_PAYMENT: _({_S.ON_HOLD}),
        },
        _S.DELIVERED: {_C.FAIL_PAYMENT: _({_S.ON_HOLD})},
        _S.ON_HOLD: {
            _C.RESUME: _(
                {
                    _S.RESERVED,
                    _S.BACKORDERED,
                    _S.BOOKED,
                    _S.PARTIALLY_SHIPPED,
                    _S.SHIPPED,
                    _S.DELIVERED,
                }
            ),
            # Held after shipping (a declined capture): its parcels still arrive.
            _C.DELIVER: _({_S.ON_HOLD}),
            # The ERP may answer a submission made before the hold; the order stays held.
            _C.BOOK: _({_S.ON_HOLD}),
            _C.REJECT: _({_S.ON_HOLD}),
            _C.FAIL_PAYMENT: _({_S.ON_HOLD}),
            _C.AMEND: _({_S.ON_HOLD}),
            _C.CANCEL: _({_S.CANCELLED}),
            _C.EXPIRE_HOLDS: _({_S.ON_HOLD}),
        },
        _S.CANCELLED: {},
    },
)
