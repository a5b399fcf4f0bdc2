"""What an agent may do to an order from its page: only what the order's state allows.

Read off the order as the page shows it (the read model), with the domain's own transition tables;
the domain still decides when the form is sent (a page read a moment ago may be out of date), and
its refusal is shown on the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from domain.order_lifecycle import ORDER_TRANSITIONS, OrderCommand, OrderStatus
from domain.returns import RECEIVED_OR_LATER, RETURN_TRANSITIONS, WITHDRAWN, ReturnCommand
from domain.returns import ReturnStatus as RS
from entrypoints.http.resources import OrderResource, ReturnResource
from ports.api_keys import Role


class Action(StrEnum):
    """Every act the order page offers; the value is the last part of the form's path."""

    HOLD = "hold"
    RESUME = "resume"
    CANCEL = "cancel"
    CANCEL_REMAINING = "cancel-remaining"
    AMEND_ADDRESS = "amend-address"
    REQUEST_RETURN = "request-return"
    LINK_CASE = "case"
    ADD_NOTE = "notes"
    REFUND = "refund"
    AUTHORIZE_RETURN = "authorize"
    REJECT_RETURN = "reject"
    ACCEPT_CREDIT_MEMO = "accept-credit-memo"


#: What the page says once an act went through.
DONE: dict[Action, str] = {
    Action.HOLD: "The order is on hold.",
    Action.RESUME: "The order is off hold.",
    Action.CANCEL: "The order is cancelled; its stock is back on sale.",
    Action.CANCEL_REMAINING: "What had not shipped is cancelled; the order ends with what shipped.",
    Action.AMEND_ADDRESS: "The shipping address is changed.",
    Action.REQUEST_RETURN: "The return is requested.",
    Action.LINK_CASE: "The case is linked.",
    Action.ADD_NOTE: "The note is on the timeline.",
    Action.REFUND: "The refund is issued; the payment provider pays it out shortly.",
    Action.AUTHORIZE_RETURN: "The return is authorized.",
    Action.REJECT_RETURN: "The return is refused.",
    Action.ACCEPT_CREDIT_MEMO: "The ERP's credit memo is accepted and refunded.",
}

_ON_ORDER = {
    Action.HOLD: OrderCommand.HOLD,
    Action.RESUME: OrderCommand.RESUME,
    Action.CANCEL: OrderCommand.CANCEL,
    Action.CANCEL_REMAINING: OrderCommand.CANCEL_REMAINING,
    Action.AMEND_ADDRESS: OrderCommand.AMEND,
}
#: Cancelling and amending stop at the first shipment, whatever the state (held after shipping).
_BEFORE_SHIPPING = frozenset({Action.CANCEL, Action.AMEND_ADDRESS})
_ON_RETURN = {
    Action.AUTHORIZE_RETURN: ReturnCommand.AUTHORIZE,
    Action.REJECT_RETURN: ReturnCommand.REJECT,
    Action.ACCEPT_CREDIT_MEMO: ReturnCommand.ACCEPT_CREDIT_MEMO,
}


@dataclass(frozen=True, slots=True)
class Offers:
    """The acts on the order, those on each of its returns (by return id), and how many units of
    each SKU a new return may take."""

    order: frozenset[Action] = frozenset()
    returns: dict[str, frozenset[Action]] = field(default_factory=dict)
    returnable: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.order or any(self.returns.values()))


def offers(order: OrderResource, returns: list[ReturnResource], role: Role) -> Offers:
    """What a person signed in with `role` may do to `order` now; an ops session only looks."""
    if role is not Role.AGENT:
        return Offers()
    status = OrderStatus(order.status)
    shipped = any(line.shipped for line in order.lines)
    acts = {
        action
        for action, command in _ON_ORDER.items()
        if ORDER_TRANSITIONS.allows(status, command)
        and not (shipped and action in _BEFORE_SHIPPING)
    }
    acts |= {Action.LINK_CASE, Action.ADD_NOTE}  # in any state
    if Decimal(order.payment.captured) > Decimal(order.payment.refunded):
        acts.add(Action.REFUND)  # an appeasement, in any state, while some capture is left
    returnable = _returnable(order, returns)
    if any(returnable.values()):
        acts.add(Action.REQUEST_RETURN)
    return Offers(
        order=frozenset(acts),
        returns={
            str(r.id): frozenset(
                action
                for action, command in _ON_RETURN.items()
                if RETURN_TRANSITIONS.allows(RS(r.status), command)
            )
            for r in returns
        },
        returnable={sku: n for sku, n in returnable.items() if n > 0},
    )


def _returnable(order: OrderResource, returns: list[ReturnResource]) -> dict[str, int]:
    """Shipped minus what returns claim, as the domain counts it (`Order.returnable`): an open
    return its requested units, a received one the units that came back."""
    left = {line.sku: line.shipped for line in order.lines}
    for r in returns:
        status = RS(r.status)
        if status in WITHDRAWN:
            continue
        for line in r.lines:
            claimed = line.received if status in RECEIVED_OR_LATER else line.quantity
            left[line.sku] = left.get(line.sku, 0) - claimed
    return left
