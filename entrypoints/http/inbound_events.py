"""Inbound back-office events: their envelope, the `data` of each type (PRODUCT.md §5.1), which
source may send which type, and the command each becomes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain import commands as c
from domain.returns import Disposition
from entrypoints.http.schemas import NO_NUL, Body, LongText, Quantity, Sku, Text
from ports.inbound import InboundEvent

Location = Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Ref = Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]


class InboundEventBody(Body):
    event_id: Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]
    type: Annotated[str, Meta(min_length=1, max_length=64, pattern=NO_NUL)]
    occurred_at: datetime
    data: dict[str, Any]


class Data(Body):
    def to_command(self, occurred_at: datetime) -> c.Command:
        raise NotImplementedError


class SkuQuantityData(Body):
    sku: Sku
    quantity: Quantity


class StockSnapshotData(Data):
    sku: Sku
    location: Location
    on_hand: Annotated[int, Meta(ge=0, le=2**31 - 1)]
    sequence: Annotated[int, Meta(ge=0, le=2**63 - 1)]

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.ApplyStockSnapshot(
            sku=self.sku, location=self.location, on_hand=self.on_hand, sequence=self.sequence
        )


class StockAdjustedData(Data):
    sku: Sku
    location: Location
    delta: Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
    reason: LongText = "adjustment"

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.AdjustStock(
            sku=self.sku, location=self.location, delta=self.delta, reason=self.reason
        )


class OrderBookedData(Data):
    order_id: UUID
    erp_order_ref: Ref

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.BookOrder(order_id=self.order_id, erp_order_ref=self.erp_order_ref)


class OrderRejectedData(Data):
    order_id: UUID
    reason: LongText

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.RejectOrder(order_id=self.order_id, reason=self.reason)


class ShipmentDispatchedData(Data):
    order_id: UUID
    shipment_id: Ref
    location: Location
    carrier: Text
    tracking_number: Text
    lines: Annotated[list[SkuQuantityData], Meta(max_length=500)]

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.RecordShipment(
            order_id=self.order_id,
            shipment_id=self.shipment_id,
            location=self.location,
            carrier=self.carrier,
            tracking_number=self.tracking_number,
            lines=tuple(c.SkuCount(sku=ln.sku, quantity=ln.quantity) for ln in self.lines),
            dispatched_at=occurred_at,
        )


class ShipmentDeliveredData(Data):
    order_id: UUID
    shipment_id: Ref

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.RecordDelivery(
            order_id=self.order_id, shipment_id=self.shipment_id, delivered_at=occurred_at
        )


class PaymentCapturedData(Data):
    order_id: UUID
    amount: Decimal

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.CapturePayment(order_id=self.order_id, amount=self.amount)


class PaymentFailedData(Data):
    order_id: UUID
    reason: LongText

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.FailPayment(order_id=self.order_id, reason=self.reason)


class ReturnReceivedData(Data):
    return_id: UUID
    lines: Annotated[list[SkuQuantityData], Meta(max_length=500)]

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.ReceiveReturn(
            return_id=self.return_id,
            lines=tuple(c.SkuCount(sku=ln.sku, quantity=ln.quantity) for ln in self.lines),
        )


class InspectedLineData(Body):
    sku: Sku
    disposition: Literal["restock", "refurbish", "scrap"]


class ReturnInspectedData(Data):
    return_id: UUID
    lines: Annotated[list[InspectedLineData], Meta(max_length=500)]

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.InspectReturn(
            return_id=self.return_id,
            lines=tuple(
                c.InspectedSku(sku=ln.sku, disposition=Disposition(ln.disposition))
                for ln in self.lines
            ),
        )


class CreditMemoPostedData(Data):
    return_id: UUID
    credit_memo_ref: Ref
    amount: Decimal

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.PostCreditMemo(
            return_id=self.return_id, credit_memo_ref=self.credit_memo_ref, amount=self.amount
        )


class CaseUpdatedData(Data):
    case_id: Ref
    status: Annotated[str, Meta(min_length=1, max_length=100, pattern=NO_NUL)]
    note: Annotated[str, Meta(max_length=4000, pattern=NO_NUL)] = ""
    order_id: UUID | None = None
    return_id: UUID | None = None

    def to_command(self, occurred_at: datetime) -> c.Command:
        return c.RecordCaseUpdate(
            case_id=self.case_id,
            status=self.status,
            note=self.note,
            order_id=self.order_id,
            return_id=self.return_id,
        )


ERP, WAREHOUSE, PAYMENT, CRM = "erp", "warehouse", "payment", "crm"

#: type -> (shape of its data, sources that may send it)
INBOUND_TYPES: dict[str, tuple[type[Data], frozenset[str]]] = {
    "stock.snapshot": (StockSnapshotData, frozenset({ERP, WAREHOUSE})),
    "stock.adjusted": (StockAdjustedData, frozenset({ERP, WAREHOUSE})),
    "order.booked": (OrderBookedData, frozenset({ERP})),
    "order.rejected": (OrderRejectedData, frozenset({ERP})),
    "shipment.dispatched": (ShipmentDispatchedData, frozenset({WAREHOUSE, ERP})),
    "shipment.delivered": (ShipmentDeliveredData, frozenset({WAREHOUSE, ERP})),
    "payment.captured": (PaymentCapturedData, frozenset({PAYMENT})),
    "payment.failed": (PaymentFailedData, frozenset({PAYMENT})),
    "return.received": (ReturnReceivedData, frozenset({WAREHOUSE, ERP})),
    "return.inspected": (ReturnInspectedData, frozenset({WAREHOUSE, ERP})),
    "credit_memo.posted": (CreditMemoPostedData, frozenset({ERP})),
    "case.updated": (CaseUpdatedData, frozenset({CRM})),
}


class UnsupportedEventType(Exception):
    """Raised for a type this hub does not take, or not from this source."""


def command_for(
    source: str, event_type: str, data: dict[str, Any], occurred_at: datetime
) -> c.Command:
    """Raises UnsupportedEventType, or msgspec.ValidationError for data of the wrong shape."""
    shape, sources = INBOUND_TYPES.get(event_type, (None, frozenset()))
    if shape is None or source not in sources:
        raise UnsupportedEventType(event_type)
    return msgspec.convert(data, type=shape, strict=True).to_command(occurred_at)


def command_of(event: InboundEvent) -> c.Command:
    """The command of a deferred event (it was valid when it came)."""
    occurred_at = datetime.fromisoformat(event.body["occurred_at"])
    return command_for(event.source, event.type, event.body["data"], occurred_at)
