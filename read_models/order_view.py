"""The order view: an order as agents and channels read it, folded from its events alone.

The document has the shape of the order resource (PRODUCT.md §5.1). Folding an order's events in
stream order gives exactly what the write side's aggregate renders (tested on random histories),
so the view can be rebuilt from the outbox at any time. It folds the events' wire form
(`ports.outbox.Message`), as stored: no event is decoded. A field added to an event after some
were stored is read with `.get`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ports.outbox import Message
from ports.views import Document


def fold(document: Document | None, message: Message) -> Document:
    """The view after `message` (the event right after `document`'s version)."""
    data: Document = message["payload"]
    document = {} if document is None else _copy(document)
    apply = _APPLY.get(message["event_type"])
    if apply is not None:
        apply(document, data)
    if "order_status" in data:
        document["status"] = data["order_status"]
    document["version"] = message["aggregate_version"]
    at = message["occurred_at"]
    if message["event_type"] == "OrderPlaced":
        document["created_at"] = at
    document["updated_at"] = at
    return document


# -- one function per event type --------------------------------------------------------------


def _placed(d: Document, e: Document) -> None:
    d.update(
        id=e["order_id"],
        channel=e["channel"],
        channel_order_ref=e["channel_order_ref"],
        status="placed",
        currency=e["currency"],
        total=e["total"],
        customer={
            "id": e["customer"].get("id"),
            "email": e["customer"]["email"],
            "name": e["customer"]["name"],
        },
        shipping_address=_address(e["shipping_address"]),
        allow_backorder=e["allow_backorder"],
        lines=[
            {
                "sku": ln["sku"],
                "quantity": ln["quantity"],
                "unit_price": ln["unit_price"],
                "tax_amount": ln.get("tax_amount") or _zero(ln["unit_price"]),
                "reserved": 0,
                "shipped": 0,
                "returned": 0,
            }
            for ln in e["lines"]
        ],
        payment={
            "status": "authorized",
            "reference": e["payment_reference"],
            "authorized": e["payment_amount"],
            "captured": _zero(e["payment_amount"]),
            "refunded": _zero(e["payment_amount"]),
        },
        erp_order_ref=None,
        returns=[],
        case_ids=[],
        replacement_for_return_id=e.get("replacement_for_return_id"),
    )


def _reserved(d: Document, e: Document) -> None:
    for units in e["reservations"]:
        _line(d, units["sku"])["reserved"] += units["quantity"]


def _release(key: str) -> Callable[[Document, Document], None]:
    def release(d: Document, e: Document) -> None:
        for units in e[key]:
            line = _line(d, units["sku"], missing_ok=True)
            if line is not None:
                line["reserved"] -= units["quantity"]

    return release


def _amended(d: Document, e: Document) -> None:
    _release("released")(d, e)
    if e["shipping_address"] is not None:
        d["shipping_address"] = _address(e["shipping_address"])
    for change in e["lines"]:
        _line(d, change["sku"])["quantity"] = change["quantity"]
    d["lines"] = [ln for ln in d["lines"] if ln["quantity"] > 0]
    d["total"] = e["total"]


def _lines_added(d: Document, e: Document) -> None:
    d["lines"] += [
        {
            "sku": ln["sku"],
            "quantity": ln["quantity"],
            "unit_price": ln["unit_price"],
            "tax_amount": ln["tax_amount"],
            "reserved": 0,
            "shipped": 0,
            "returned": 0,
        }
        for ln in e["lines"]
    ]
    d["total"] = e["total"]
    # The new authorization replaces the old one; nothing was captured before booking.
    d["payment"] = {
        "status": "authorized",
        "reference": e["payment_reference"],
        "authorized": e["payment_amount"],
        "captured": _zero(e["payment_amount"]),
        "refunded": _zero(e["payment_amount"]),
    }


def _added_lines_refused(d: Document, e: Document) -> None:
    refused = {ln["sku"] for ln in e["lines"]}
    d["lines"] = [ln for ln in d["lines"] if ln["sku"] not in refused]
    d["total"] = e["total"]
    d["payment"] = {
        "status": "authorized",
        "reference": e["payment_reference"],
        "authorized": e["payment_amount"],
        "captured": _zero(e["payment_amount"]),
        "refunded": _zero(e["payment_amount"]),
    }


def _remainder_cancelled(d: Document, e: Document) -> None:
    _release("released")(d, e)
    for line in d["lines"]:
        line["quantity"] = line["shipped"]
    d["lines"] = [ln for ln in d["lines"] if ln["quantity"] > 0]
    d["total"] = e["total"]
    d["status"] = e["order_status"]
    if Decimal(e["refund_amount"]) > 0:
        d["payment"]["refunded"] = _add(d["payment"]["refunded"], e["refund_amount"])
    d["payment"]["status"] = e["payment_status"]


def _overcapture_refunded(d: Document, e: Document) -> None:
    d["payment"]["refunded"] = _add(d["payment"]["refunded"], e["amount"])
    d["payment"]["status"] = e["payment_status"]


def _cancelled(d: Document, e: Document) -> None:
    _release("released")(d, e)
    d["status"] = "cancelled"


def _booked(d: Document, e: Document) -> None:
    d["erp_order_ref"] = e["erp_order_ref"]


def _dispatched(d: Document, e: Document) -> None:
    for shipped in e["lines"]:
        line = _line(d, shipped["sku"])
        line["shipped"] += shipped["quantity"]
        line["reserved"] = max(line["reserved"] - shipped["quantity"], 0)


def _status(status: str) -> Callable[[Document, Document], None]:
    def set_status(d: Document, e: Document) -> None:
        d["status"] = status

    return set_status


def _captured(d: Document, e: Document) -> None:
    d["payment"].update(status="captured", captured=e["amount"])


def _payment_failed(d: Document, e: Document) -> None:
    d["payment"]["status"] = "failed"
    d["status"] = "on_hold"


def _payment_status(status: str) -> Callable[[Document, Document], None]:
    def set_payment(d: Document, e: Document) -> None:
        d["payment"]["status"] = status

    return set_payment


def _case_linked(d: Document, e: Document) -> None:
    if e["case_id"] not in d["case_ids"]:
        d["case_ids"].append(e["case_id"])


def _return_requested(d: Document, e: Document) -> None:
    d["returns"].append({"id": e["return_id"], "status": "requested"})


def _return_status(status: str) -> Callable[[Document, Document], None]:
    def set_return(d: Document, e: Document) -> None:
        for ret in d["returns"]:
            if ret["id"] == e["return_id"]:
                ret["status"] = status

    return set_return


def _received(d: Document, e: Document) -> None:
    _return_status("received")(d, e)
    for received in e["lines"]:
        line = _line(d, received["sku"], missing_ok=True)
        if line is not None:
            line["returned"] += received["quantity"]


def _refunded(d: Document, e: Document) -> None:
    _return_status("refunded")(d, e)
    payment = d["payment"]
    payment["refunded"] = _add(payment["refunded"], e["amount"])
    payment["status"] = e["payment_status"]


def _refund_recorded(d: Document, e: Document) -> None:
    payment = d["payment"]
    payment["refunded"] = _add(payment["refunded"], e["amount"])
    payment["status"] = e["payment_status"]


_APPLY: dict[str, Callable[[Document, Document], None]] = {
    "OrderPlaced": _placed,
    "InventoryReserved": _reserved,
    "OrderBackordered": _status("backordered"),
    "OrderBooked": _booked,
    "OrderRejectedByErp": _status("on_hold"),
    "OrderHeld": _status("on_hold"),
    "OrderAmended": _amended,
    "LinesAdded": _lines_added,
    "AddedLinesRefused": _added_lines_refused,
    "OrderCancelled": _cancelled,
    "RemainderCancelled": _remainder_cancelled,
    "ReservationExpired": _release("expired"),
    "ShipmentDispatched": _dispatched,
    "PaymentCaptured": _captured,
    "OvercaptureRefunded": _overcapture_refunded,
    "PaymentFailed": _payment_failed,
    "PaymentVoided": _payment_status("voided"),
    "RefundRecorded": _refund_recorded,
    "AppeasementIssued": _refund_recorded,
    "CaseLinked": _case_linked,
    "ReturnRequested": _return_requested,
    "ReturnAuthorized": _return_status("authorized"),
    "ReturnRejected": _return_status("rejected"),
    "ReturnCancelled": _return_status("cancelled"),
    "ReturnReceived": _received,
    "ReturnInspected": _return_status("inspected"),
    "ReturnHeld": _return_status("on_hold"),
    "ReturnHoldReleased": _return_status("inspected"),
    "RefundIssued": _refunded,
    "ReturnClosed": _return_status("closed"),
}


# -- helpers ------------------------------------------------------------------------------------


def _line(d: Document, sku: str, missing_ok: bool = False) -> Any:
    for line in d["lines"]:
        if line["sku"] == sku:
            return line
    if missing_ok:
        return None
    raise KeyError(f"order {d.get('id')} has no line {sku}")


def _address(a: Document) -> Document:
    return {k: a.get(k) for k in ("name", "line1", "line2", "city", "postal_code", "country")}


def _zero(amount: str) -> str:
    return str(Decimal(amount) * 0)


def _add(a: str, b: str) -> str:
    return str(Decimal(a) + Decimal(b))


def _copy(document: Document) -> Document:
    return copy.deepcopy(document)
