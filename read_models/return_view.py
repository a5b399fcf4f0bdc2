"""The return view: a return as agents and channels read it, folded from its order's events alone.

Returns are entities of their order and share its event stream, so the documents of an order's
returns are folded together, keyed by return id. Each document has the shape of the return
resource (`GET /v1/returns/{id}`, PRODUCT.md §5.1): folding an order's events in stream order gives
exactly what the write side renders for each of its returns, so the view can be rebuilt from the
outbox at any time.

`created_at` and `updated_at` come from the envelope's `occurred_at`: the write side stamps the
return with the clock of the command and the envelope with the clock at commit, which agree
whenever one command's clock is read once (as in tests) and differ by the commit's duration
otherwise, exactly as for the order view.

A rejected or cancelled return keeps no lines, as on the write side (`Return._let_go_of_lines`):
an order may have fifty of them, each of up to 500 lines, rewritten with every later event. What
was asked for stays on the timeline's `return.requested` entry and in the outbox.

`ReturnHeld` carries the reference of the credit memo that was held; events stored before it did
leave it null (the reason text names it) rather than have it guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ports.outbox import Message
from ports.views import Document


def fold_returns(documents: dict[str, Document], message: Message) -> str | None:
    """Apply `message` (the next event of an order's stream) to the documents of that order's
    returns, in place. Returns the id of the return it changed, or None when the event changes no
    return (events of the order itself, case links, ...)."""
    event_type = message["event_type"]
    apply = _APPLY.get(event_type)
    if apply is None:
        return None
    data: Document = message["payload"]
    return_id: str = data["return_id"]
    at = message["occurred_at"]
    if event_type == "ReturnRequested":
        documents[return_id] = {}
    try:
        document = documents[return_id]
    except KeyError:
        raise KeyError(f"{event_type} for unknown return {return_id}") from None
    apply(document, data)
    if event_type == "ReturnRequested":
        document["created_at"] = at
    document["updated_at"] = at
    return return_id


# -- one function per event type --------------------------------------------------------------


def _requested(d: Document, e: Document) -> None:
    d.update(
        id=e["return_id"],
        order_id=e["order_id"],
        status="requested",
        rma_number=None,
        lines=[
            {
                "sku": ln["sku"],
                "quantity": ln["quantity"],
                "reason": ln["reason"],
                "received": 0,
                "disposition": None,
            }
            for ln in e["lines"]
        ],
        refund_amount=None,
        credit_memo_ref=None,
        case_id=e["case_id"],
        exchange=_exchange(e),
    )


def _exchange(e: Document) -> Document | None:
    """The exchange a request asked for (absent from events recorded before exchanges)."""
    if not e.get("exchange_lines"):
        return None
    reference = e.get("exchange_payment_reference")
    return {
        "lines": [
            {
                "sku": ln["sku"],
                "quantity": ln["quantity"],
                "unit_price": ln["unit_price"],
                "tax_amount": ln["tax_amount"],
            }
            for ln in e["exchange_lines"]
        ],
        "payment": {"reference": reference, "amount": e["exchange_payment_amount"]}
        if reference is not None
        else None,
        "outcome": None,
        "credit": None,
        "payment_due": None,
        "replacement_order_id": None,
    }


def _replacement_due(d: Document, e: Document) -> None:
    d["exchange"].update(outcome="replaced", credit=e["credit"], payment_due=e["payment_due"])


def _fell_back(d: Document, e: Document) -> None:
    zero = _zero(d["exchange"]["lines"][0]["unit_price"])
    d["exchange"].update(outcome="fell_back", credit=zero, payment_due=zero)


def _replacement_placed(d: Document, e: Document) -> None:
    d["exchange"]["replacement_order_id"] = e["replacement_order_id"]


def _zero(like: str) -> str:
    """Zero with the places of `like` (the currency's), as the write side renders it."""
    places = len(like.split(".")[1]) if "." in like else 0
    return "0." + "0" * places if places else "0"


def _authorized(d: Document, e: Document) -> None:
    d["status"] = "authorized"
    d["rma_number"] = e["rma_number"]


def _status(status: str) -> Callable[[Document, Document], None]:
    def set_status(d: Document, e: Document) -> None:
        d["status"] = status

    return set_status


def _received(d: Document, e: Document) -> None:
    d["status"] = "received"
    for received in e["lines"]:
        _line(d, received["sku"])["received"] = received["quantity"]
    d["refund_amount"] = e["refund_amount"]


def _inspected(d: Document, e: Document) -> None:
    d["status"] = "inspected"
    for inspected in e["lines"]:
        _line(d, inspected["sku"])["disposition"] = inspected["disposition"]


def _withdrawn(status: str) -> Callable[[Document, Document], None]:
    def withdraw(d: Document, e: Document) -> None:
        d["status"] = status
        d["lines"] = []

    return withdraw


def _held(d: Document, e: Document) -> None:
    d["status"] = "on_hold"
    d["credit_memo_ref"] = e.get("credit_memo_ref")  # absent from older events


def _hold_released(d: Document, e: Document) -> None:
    d["status"] = "inspected"
    d["credit_memo_ref"] = None


def _refunded(d: Document, e: Document) -> None:
    d["status"] = "refunded"
    d["credit_memo_ref"] = e["credit_memo_ref"]
    d["refund_amount"] = e.get("credit_memo_amount") or e["amount"]  # older events: the same


_APPLY: dict[str, Callable[[Document, Document], None]] = {
    "ReturnRequested": _requested,
    "ReturnAuthorized": _authorized,
    "ReturnRejected": _withdrawn("rejected"),
    "ReturnCancelled": _withdrawn("cancelled"),
    "ReturnReceived": _received,
    "ReturnInspected": _inspected,
    "ReturnHeld": _held,
    "ReturnHoldReleased": _hold_released,
    "RefundIssued": _refunded,
    "ReturnClosed": _status("closed"),
    "ReplacementDue": _replacement_due,
    "ExchangeFellBack": _fell_back,
    "ReplacementPlaced": _replacement_placed,
}


# -- helpers ------------------------------------------------------------------------------------


def _line(d: Document, sku: str) -> Any:
    for line in d["lines"]:
        if line["sku"] == sku:
            return line
    raise KeyError(f"return {d.get('id')} has no line {sku}")
