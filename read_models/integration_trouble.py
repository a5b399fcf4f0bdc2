"""Titles of integration trouble on the timeline (PRODUCT.md §8.3): which remote, what was being
done for the order, in a sentence an agent can read aloud to a customer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class _Doing:
    """One thing a delivery does for an order, said three ways."""

    to: str  #: "We cannot reach the ERP to <book this order> right now"
    doing: str  #: "<Booking this order> in the ERP failed for good"
    done: str  #: "The ERP is answering again: <the order's booking went through>"


_BOOK = _Doing("book this order", "Booking this order", "the order's booking went through")
_CHANGES = _Doing(
    "pass on the order's changes", "Passing on the order's changes",
    "the order's changes went through",
)  # fmt: skip
_CANCEL = _Doing(
    "cancel this order", "Cancelling this order", "the order's cancellation went through"
)
_CAPTURE = _Doing("capture the payment", "Capturing the payment", "the payment was captured")
_VOID = _Doing(
    "release the payment authorization", "Releasing the payment authorization",
    "the payment authorization was released",
)  # fmt: skip
_REFUND = _Doing("refund the customer", "Refunding the customer", "the refund went through")
_RETURN = _Doing("register the return", "Registering the return", "the return is registered")
_CREDIT = _Doing(
    "ask for the return's credit note", "Asking for the return's credit note",
    "the credit note was asked for",
)  # fmt: skip
_REVIEW = _Doing(
    "open a case to review the return", "Opening a case to review the return",
    "the case for the review is open",
)  # fmt: skip
_STATUS = _Doing(
    "update the order's status", "Updating the order's status", "the order's status is up to date"
)
_CASE = _Doing(
    "update the customer's case", "Updating the customer's case", "the case is up to date"
)
_PAYMENT = _Doing("settle the payment", "Settling the payment", "the payment is settled")
_PASS_ON = _Doing(
    "pass on the order's latest change", "Passing on the order's latest change",
    "the order's latest change went through",
)  # fmt: skip

#: (event type, remote) -> what the delivery was doing with that remote.
_WITH: Final[dict[tuple[str, str], _Doing]] = {
    ("InventoryReserved", "erp"): _BOOK,
    ("OrderResumed", "erp"): _BOOK,
    ("OrderAmended", "erp"): _CHANGES,
    ("LinesAdded", "erp"): _CHANGES,
    ("LinesAdded", "payment"): _VOID,
    ("AddedLinesRefused", "payment"): _VOID,
    ("RemainderCancelled", "erp"): _CHANGES,
    ("OrderCancelled", "erp"): _CANCEL,
    ("ReturnAuthorized", "erp"): _RETURN,
    ("ReturnInspected", "erp"): _CREDIT,
    ("ShipmentDispatched", "payment"): _CAPTURE,
    ("PaymentVoided", "payment"): _VOID,
    ("RemainderCancelled", "payment"): _REFUND,
    ("OvercaptureRefunded", "payment"): _REFUND,
    ("RefundIssued", "payment"): _REFUND,
    ("AppeasementIssued", "payment"): _REFUND,
    ("ReturnHeld", "crm"): _REVIEW,
}
#: Event type -> what its delivery does, when one remote does all of it (said for `hub` too).
_OF_EVENT: Final[dict[str, _Doing]] = {
    "InventoryReserved": _BOOK,
    "OrderResumed": _BOOK,
    "OrderCancelled": _CANCEL,
    "PaymentVoided": _VOID,
    "OvercaptureRefunded": _REFUND,
    "ReturnInspected": _CREDIT,
    "ReturnHeld": _REVIEW,
}
#: Remote -> what any other delivery does with it.
_WITH_REMOTE: Final[dict[str, _Doing]] = {
    "erp": _CHANGES,
    "payment": _PAYMENT,
    "commerce": _STATUS,
    "crm": _CASE,
}
#: Remote -> (its name, where things happen in it).
_REMOTES: Final[dict[str, tuple[str, str]]] = {
    "erp": ("the ERP", "in the ERP"),
    "payment": ("the payment provider", "with the payment provider"),
    "commerce": ("the shop", "in the shop"),
    "crm": ("the CRM", "in the CRM"),
}


def _doing(e: dict[str, Any]) -> _Doing:
    event_type, remote = e["event_type"], e["remote"]
    return (
        _WITH.get((event_type, remote))
        or _OF_EVENT.get(event_type)
        or _WITH_REMOTE.get(remote)
        or _PASS_ON
    )


def failing(e: dict[str, Any]) -> str:
    doing = _doing(e)
    if e["remote"] in _REMOTES:
        name, _ = _REMOTES[e["remote"]]
        return (
            f"We cannot reach {name} to {doing.to} right now; it will be tried again automatically"
        )
    return (
        f"We could not {doing.to} yet because of a problem on our side; it will be tried again "
        "automatically"
    )


def recovered(e: dict[str, Any]) -> str:
    doing = _doing(e)
    if e["remote"] in _REMOTES:
        name, _ = _REMOTES[e["remote"]]
        return f"{name[0].upper()}{name[1:]} is answering again: {doing.done}"
    return f"The problem on our side is solved: {doing.done}"


def dead_lettered(e: dict[str, Any]) -> str:
    doing = _doing(e)
    where = f" {_REMOTES[e['remote']][1]}" if e["remote"] in _REMOTES else ""
    return f"{doing.doing}{where} failed for good; our operations team has been told"
