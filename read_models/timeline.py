"""Timeline entries: one per meaningful event, with its source, a stable kind, and a title a
service agent can read aloud to a customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ports.outbox import Message
from read_models import integration_trouble as trouble

SOURCES = ("channel", "hub", "erp", "warehouse", "payment", "crm", "commerce", "agent")
#: The kind of the entry that puts an order among the stuck workflows (`read_models/operations.py`).
CANCEL_REQUESTED_AFTER_SHIPMENT = "order.cancel_requested_after_shipment"


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    source: str
    kind: str
    title: str
    detail: dict[str, Any]


def _refund_due(e: dict[str, Any]) -> str:
    amount = Decimal(e["refund_amount"])
    return f", {amount} {e['currency']} refunded" if amount > 0 else ""


def _lines(lines: list[dict[str, Any]]) -> str:
    return ", ".join(f"{ln['quantity']} × {ln['sku']}" for ln in lines)


#: The source of integration trouble: the remote it is about (`hub` when none was to blame).
_REMOTE = "remote"

#: event type -> (kind, default source, title from the event's data)
_ENTRIES: dict[str, tuple[str, str, Any]] = {
    "OrderPlaced": ("order.placed", "channel", lambda e: f"Order {e['channel_order_ref']} placed on {e['channel']}: {_lines(e['lines'])}, {e['total']} {e['currency']}"),
    "InventoryReserved": ("inventory.reserved", "hub", lambda e: "Stock reserved: " + ", ".join(f"{u['quantity']} × {u['sku']} at {u['location']}" for u in e["reservations"])),
    "OrderBackordered": ("order.backordered", "hub", lambda e: "Waiting for stock: " + ", ".join(f"{m['missing']} × {m['sku']}" for m in e["missing"])),
    "OrderBooked": ("order.booked", "erp", lambda e: f"Booked in the ERP as {e['erp_order_ref']}"),
    "OrderRejectedByErp": ("order.rejected", "erp", lambda e: f"The ERP refused the order: {e['reason']}"),
    "OrderHeld": ("order.held", "agent", lambda e: f"Put on hold: {e['reason']}"),
    "NoteAdded": ("note.added", "agent", lambda e: f"Note: {e['text']}"),
    "OrderResumed": ("order.resumed", "agent", lambda e: f"Taken off hold ({e['order_status']})"),
    "OrderAmended": ("order.amended", "channel", lambda e: "Order changed" + (": " + _lines(e["lines"]) if e["lines"] else ": new shipping address") + f"; total now {e['total']}"),
    "LinesAdded": ("order.lines_added", "channel", lambda e: f"Lines added: {_lines(e['lines'])}; total now {e['total']}, authorized {e['payment_amount']} under {e['payment_reference']} (replacing {e['previous_payment_reference']})"),
    "AddedLinesRefused": ("order.lines_refused", "erp", lambda e: f"The ERP refused the added lines ({_lines(e['lines'])}): {e['reason']}; the order is back as it was, total {e['total']} under {e['payment_reference']}, and on hold"),
    "OrderCancelled": ("order.cancelled", "channel", lambda e: f"Order cancelled: {e['reason']}"),
    "RemainderCancelled": ("order.remainder_cancelled", "agent", lambda e: f"What had not shipped was cancelled ({_lines(e['lines'])}): {e['reason']}; total now {e['total']} {e['currency']}{_refund_due(e)}"),
    "ReservationExpired": ("reservation.expired", "hub", lambda e: "Reserved stock released after the order sat on hold too long"),
    "ShipmentDispatched": ("shipment.dispatched", "warehouse", lambda e: f"Shipped {_lines(e['lines'])} from {e['location']} with {e['carrier']}, tracking {e['tracking_number']}"),
    "ShipmentDelivered": ("shipment.delivered", "warehouse", lambda e: f"Parcel {e['shipment_id']} delivered"),
    "PaymentCaptured": ("payment.captured", "payment", lambda e: f"Payment of {e['amount']} {e['currency']} captured"),
    "OvercaptureRefunded": ("payment.overcapture_refunded", "payment", lambda e: f"{e['amount']} {e['currency']} refunded: the capture took more than the order costs since its remainder was cancelled"),
    "PaymentFailed": ("payment.failed", "payment", lambda e: f"Payment failed: {e['reason']}"),
    "PaymentVoided": ("payment.voided", "payment", lambda e: f"Payment authorization of {e['amount']} {e['currency']} released"),
    "CancelRequestedAfterShipment": (CANCEL_REQUESTED_AFTER_SHIPMENT, "channel", lambda e: f"The channel cancelled the order after it shipped; it was not cancelled here, an agent must settle it: {e['reason']}"),
    "RefundRecorded": ("refund.recorded", "channel", lambda e: f"Refund of {e['amount']} {e['currency']} made on the channel recorded (refund {e['refund_ref']})"),
    "AppeasementIssued": ("refund.issued", "agent", lambda e: f"Refund of {e['amount']} {e['currency']} issued without a return: {e['reason']}"),
    "IntegrationFailing": ("integration.failing", _REMOTE, trouble.failing),
    "IntegrationDeadLettered": ("integration.dead_lettered", _REMOTE, trouble.dead_lettered),
    "IntegrationRecovered": ("integration.recovered", _REMOTE, trouble.recovered),
    "CaseLinked": ("case.linked", "agent", lambda e: f"Linked to CRM case {e['case_id']}"),
    "CaseUpdated": ("case.updated", "crm", lambda e: f"Case {e['case_id']} is {e['status']}" + (f": {e['note']}" if e["note"] else "")),
    "ReturnRequested": ("return.requested", "channel", lambda e: "Return requested: " + ", ".join(f"{ln['quantity']} × {ln['sku']} ({ln['reason']})" for ln in e["lines"])),
    "ReturnAuthorized": ("return.authorized", "hub", lambda e: f"Return authorized as {e['rma_number']}"),
    "ReturnRejected": ("return.rejected", "agent", lambda e: f"Return refused: {e['reason']}"),
    "ReturnCancelled": ("return.cancelled", "channel", lambda e: "Return withdrawn"),
    "ReturnReceived": ("return.received", "warehouse", lambda e: f"Return received: {_lines(e['lines'])}; refund due {e['refund_amount']} {e['currency']}"),
    "ReturnInspected": ("return.inspected", "warehouse", lambda e: "Return inspected: " + ", ".join(f"{ln['sku']} {ln['disposition']}" for ln in e["lines"])),
    "ReturnHeld": ("return.held", "hub", lambda e: f"Refund held for an agent: {e['reason']}"),
    "ReturnHoldReleased": ("return.released", "agent", lambda e: "Refund hold released"),
    "RefundIssued": ("refund.issued", "payment", lambda e: f"Refund of {e['amount']} {e['currency']} issued (credit memo {e['credit_memo_ref']})"),
    "ReturnClosed": ("return.closed", "hub", lambda e: "Return closed"),
    "ReplacementDue": ("exchange.settled", "hub", lambda e: f"Exchange settled: replacement {_lines(e['lines'])} for {e['replacement_total']} {e['currency']}; {e['refund']} {e['currency']} to refund, {e['payment_due']} {e['currency']} from the difference payment"),
    "ExchangeFellBack": ("exchange.fell_back", "hub", lambda e: "Not every unit of the exchange came back: no replacement, the units received are refunded as a plain return"),
    "ReplacementPlaced": ("exchange.replacement_placed", "hub", lambda e: f"Replacement order {e['replacement_order_id']} placed for the exchange"),
    "PlacedAsReplacement": ("exchange.replacement_for", "hub", lambda e: f"Replacement for return {e['rma_number'] or e['return_id']} of order {e['original_order_id']}, paid by the exchange"),
}  # fmt: skip

#: When the event records when it happened out there, that is the entry's time.
_WHEN = {"ShipmentDispatched": "dispatched_at", "ShipmentDelivered": "delivered_at"}


def entry(message: Message) -> Entry | None:
    """The timeline entry of an order event, or None for an event agents need not see."""
    event_type = message["event_type"]
    known = _ENTRIES.get(event_type)
    if known is None:
        return None
    kind, default_source, title = known
    data: dict[str, Any] = message["payload"]
    at = data.get(_WHEN.get(event_type, "")) or message["occurred_at"]
    detail = {k: v for k, v in data.items() if k != "order_id"}
    if default_source == _REMOTE:
        source = data["remote"]
    else:
        source = _source(event_type, message["actor"], default_source)
    return Entry(
        at=datetime.fromisoformat(at), source=source, kind=kind, title=title(data), detail=detail
    )


#: Events someone asked for (a channel or an agent, or a system on their behalf): their source is
#: whoever asked. Every other event has the source of the system whose fact it records.
_ASKED = frozenset({"channel", "agent"})
#: Decisions the hub's policy takes unless an agent took them (a return the policy left waiting).
_AGENT_OR_POLICY = frozenset({"ReturnAuthorized"})


def _source(event_type: str, actor: str, default: str) -> str:
    if default in _ASKED:
        return source_of(actor, default)
    if event_type in _AGENT_OR_POLICY and source_of(actor, default) == "agent":
        return "agent"
    return default


def source_of(actor: str, default: str) -> str:
    """Who asked: the actor's role when it is a person or an outside system, else `default`."""
    role = actor.split(":", 1)[0]
    if role in ("channel", "agent", "erp", "warehouse", "payment", "crm"):
        return role
    return default
