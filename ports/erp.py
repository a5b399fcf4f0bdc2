"""The ERP port: books orders, takes their changes, authorizes returns, issues credit memos.

Every call carries our stable id (order id, return id) as the ERP's idempotency key, so a retried
call never books or credits twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from domain.customer import Address


@dataclass(frozen=True, slots=True, kw_only=True)
class ErpLine:
    sku: str
    quantity: int
    unit_price: Decimal
    location: str | None = None
    #: Per unit, on top of `unit_price` (zero when the order carries no tax).
    tax_amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErpOrder:
    order_id: UUID
    channel: str
    channel_order_ref: str
    customer_email: str
    shipping_address: Address
    currency: str
    lines: tuple[ErpLine, ...]
    total: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ErpDecision:
    """The ERP's answer to a submission: booked (with its reference) or rejected (with why)."""

    erp_order_ref: str | None = None
    rejection_reason: str | None = None

    @property
    def booked(self) -> bool:
        return self.erp_order_ref is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class ErpReturn:
    return_id: UUID
    order_id: UUID
    erp_order_ref: str
    rma_number: str
    lines: tuple[ErpLine, ...]


class ErpPort(Protocol):
    async def submit_order(self, order: ErpOrder) -> ErpDecision:
        """Book the order. Raises `RemoteUnavailable` when the ERP cannot be reached."""
        ...

    async def amend_order(self, order: ErpOrder, erp_order_ref: str) -> None:
        """Send the order as it now stands (reduced lines, new address)."""
        ...

    async def cancel_order(self, order_id: UUID, erp_order_ref: str, reason: str) -> None: ...

    async def authorize_return(self, ret: ErpReturn) -> None:
        """Open the return authorization in the ERP under our RMA number."""
        ...

    async def request_credit_memo(self, return_id: UUID, amount: Decimal, currency: str) -> None:
        """Ask for the credit memo of a received and inspected return; the ERP reports it back
        as a `credit_memo.posted` event."""
        ...
