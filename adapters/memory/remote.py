"""In-memory fakes of the ERP, payment, CRM and commerce ports: they keep what they were told,
answer each idempotency key once, and can be switched off to play an outage."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from ports.commerce import CommerceStatus
from ports.erp import ErpDecision, ErpOrder, ErpReturn
from ports.payment import PaymentDeclined
from ports.remote import RemoteRejected, RemoteUnavailable


@dataclass
class _Switch:
    #: which remote system the fake plays (`ports.circuits.REMOTES`): its outages name it
    remote: ClassVar[str]
    down: bool = False

    def ensure_up(self, system: str) -> None:
        if self.down:
            raise RemoteUnavailable(f"{system} is down", remote=self.remote)


@dataclass
class InMemoryErp(_Switch):
    """Books every order under `ERP-<n>` unless one of its SKUs is in `rejected_skus`; refuses
    an amendment with such a SKU (`RemoteRejected`)."""

    remote = "erp"

    rejected_skus: set[str] = field(default_factory=set)
    orders: dict[UUID, ErpOrder] = field(default_factory=dict)
    decisions: dict[UUID, ErpDecision] = field(default_factory=dict)
    amendments: list[tuple[UUID, str]] = field(default_factory=list)
    cancellations: dict[UUID, str] = field(default_factory=dict)
    returns: dict[UUID, ErpReturn] = field(default_factory=dict)
    credit_memo_requests: dict[UUID, Decimal] = field(default_factory=dict)

    async def submit_order(self, order: ErpOrder) -> ErpDecision:
        self.ensure_up("ERP")
        if order.order_id not in self.decisions:
            rejected = sorted({ln.sku for ln in order.lines if ln.sku in self.rejected_skus})
            self.orders[order.order_id] = order
            self.decisions[order.order_id] = (
                ErpDecision(rejection_reason=f"unknown items {', '.join(rejected)}")
                if rejected
                else ErpDecision(erp_order_ref=f"ERP-{len(self.decisions) + 1:06d}")
            )
        return self.decisions[order.order_id]

    async def amend_order(self, order: ErpOrder, erp_order_ref: str) -> None:
        self.ensure_up("ERP")
        rejected = sorted({ln.sku for ln in order.lines if ln.sku in self.rejected_skus})
        if rejected:
            raise RemoteRejected(f"unknown items {', '.join(rejected)}")
        self.orders[order.order_id] = order
        self.amendments.append((order.order_id, erp_order_ref))

    async def cancel_order(self, order_id: UUID, erp_order_ref: str, reason: str) -> None:
        self.ensure_up("ERP")
        self.cancellations[order_id] = reason

    async def authorize_return(self, ret: ErpReturn) -> None:
        self.ensure_up("ERP")
        self.returns.setdefault(ret.return_id, ret)

    async def request_credit_memo(self, return_id: UUID, amount: Decimal, currency: str) -> None:
        self.ensure_up("ERP")
        self.credit_memo_requests.setdefault(return_id, amount)


@dataclass
class InMemoryPayments(_Switch):
    """Declines any capture of a reference in `declined`; voids what was not captured."""

    remote = "payment"

    declined: set[str] = field(default_factory=set)
    captures: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    refunds: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    #: voided references, each with the key of its first void
    voids: dict[str, str] = field(default_factory=dict)

    async def capture(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        self.ensure_up("payment provider")
        if payment_reference in self.declined:
            raise PaymentDeclined(f"payment {payment_reference} declined")
        if payment_reference in self.voids:
            raise RemoteRejected(f"payment {payment_reference} was voided")
        self.captures.setdefault(idempotency_key, (payment_reference, amount))
        return f"cap_{idempotency_key}"

    async def void(self, payment_reference: str, idempotency_key: str) -> None:
        self.ensure_up("payment provider")
        if any(ref == payment_reference for ref, _ in self.captures.values()):
            raise RemoteRejected(f"payment {payment_reference} was captured; refund it instead")
        self.voids.setdefault(payment_reference, idempotency_key)

    async def refund(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        self.ensure_up("payment provider")
        self.refunds.setdefault(idempotency_key, (payment_reference, amount))
        return f"ref_{idempotency_key}"


@dataclass
class InMemoryCrm(_Switch):
    remote = "crm"

    cases: dict[str, str] = field(default_factory=dict)
    case_status: dict[str, str] = field(default_factory=dict)
    comments: dict[str, tuple[str, str]] = field(default_factory=dict)

    async def open_case(self, subject: str, description: str, external_id: str) -> str:
        self.ensure_up("CRM")
        return self.cases.setdefault(external_id, f"500{len(self.cases) + 1:012d}")

    async def add_case_comment(self, case_id: str, body: str, external_id: str) -> None:
        self.ensure_up("CRM")
        self.comments.setdefault(external_id, (case_id, body))

    async def update_case_status(self, case_id: str, status: str) -> None:
        self.ensure_up("CRM")
        self.case_status[case_id] = status


@dataclass
class InMemoryCommerce(_Switch):
    remote = "commerce"

    updates: dict[str, CommerceStatus] = field(default_factory=dict)

    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        self.ensure_up("commerce platform")
        self.updates.setdefault(idempotency_key, update)
