"""A return (RMA) with its state machine and refund; `Returns` holds one order's and counts them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final
from uuid import UUID

from domain.errors import FieldIssue, ReceiptExceedsReturn, ReturnNotFound, ValidationFailed
from domain.events import (
    ExchangeFellBack,
    InspectedLine,
    RefundIssued,
    ReplacementDue,
    ReturnAuthorized,
    ReturnCancelled,
    ReturnClosed,
    ReturnEvent,
    ReturnHeld,
    ReturnHoldReleased,
    ReturnInspected,
    ReturnLineItem,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
    SkuQuantity,
)
from domain.exchange import Exchange, ExchangeOutcome
from domain.money import Money
from domain.state_machine import TransitionTable


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    RECEIVED = "received"
    INSPECTED = "inspected"
    ON_HOLD = "on_hold"
    REFUNDED = "refunded"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ReturnCommand(StrEnum):
    AUTHORIZE = "authorize"
    REJECT = "reject"
    CANCEL = "cancel"
    RECEIVE = "receive"
    INSPECT = "inspect"
    POST_CREDIT_MEMO = "post_credit_memo"
    RELEASE_HOLD = "release_hold"
    ACCEPT_CREDIT_MEMO = "accept_credit_memo"
    CLOSE = "close"


class Disposition(StrEnum):
    RESTOCK = "restock"
    REFURBISH = "refurbish"
    SCRAP = "scrap"


_S, _C = ReturnStatus, ReturnCommand

#: `on_hold` is where a credit memo that does not match the computed refund waits for an agent.
RETURN_TRANSITIONS: Final = TransitionTable[ReturnStatus, ReturnCommand](
    "return",
    {
        _S.REQUESTED: {
            _C.AUTHORIZE: frozenset({_S.AUTHORIZED}),
            _C.REJECT: frozenset({_S.REJECTED}),
            _C.CANCEL: frozenset({_S.CANCELLED}),
        },
        _S.AUTHORIZED: {
            _C.RECEIVE: frozenset({_S.RECEIVED}),
            _C.REJECT: frozenset({_S.REJECTED}),
            _C.CANCEL: frozenset({_S.CANCELLED}),
        },
        _S.RECEIVED: {_C.INSPECT: frozenset({_S.INSPECTED})},
        _S.INSPECTED: {_C.POST_CREDIT_MEMO: frozenset({_S.REFUNDED, _S.ON_HOLD})},
        _S.ON_HOLD: {
            _C.RELEASE_HOLD: frozenset({_S.INSPECTED}),
            _C.ACCEPT_CREDIT_MEMO: frozenset({_S.REFUNDED}),
        },
        _S.REFUNDED: {_C.CLOSE: frozenset({_S.CLOSED})},
        _S.CLOSED: {},
        _S.REJECTED: {},
        _S.CANCELLED: {},
    },
)

#: States in which the warehouse has counted what came back.
RECEIVED_OR_LATER: Final = frozenset(
    {
        ReturnStatus.RECEIVED,
        ReturnStatus.INSPECTED,
        ReturnStatus.ON_HOLD,
        ReturnStatus.REFUNDED,
        ReturnStatus.CLOSED,
    }
)

#: Returns withdrawn before the warehouse received anything: they claim no units and never move.
WITHDRAWN: Final = frozenset({_S.REJECTED, _S.CANCELLED})
#: Returns in these states still hold their quantities against the order's returnable units.
OPEN_OR_DONE: Final = frozenset(set(ReturnStatus) - WITHDRAWN)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnLineSpec:
    """A line of a return request as the channel or agent sends it."""

    sku: str
    quantity: int
    reason: str


@dataclass(slots=True, kw_only=True)
class ReturnLine:
    sku: str
    quantity: int
    reason: str
    unit_price: Money
    #: The tax the customer paid on one unit (None: returns opened before lines carried tax).
    unit_tax: Money | None = None
    received: int = 0
    disposition: Disposition | None = None


@dataclass(slots=True, kw_only=True)
class Return:
    """Refund = Σ unit price × received − restocking fee + Σ unit tax × received (+ shipping when
    the policy says so). The fee is a percent of the tax-exclusive goods only: the tax of every
    returned unit is refunded in full (docs/money.md).

    The fee percent is copied from the policy when the return is requested: a later policy change
    does not alter a return already open.
    """

    id: UUID
    order_id: UUID
    lines: list[ReturnLine]
    restocking_fee_percent: Decimal
    refunds_shipping: bool = False
    case_id: str | None = None
    status: ReturnStatus = ReturnStatus.REQUESTED
    rma_number: str | None = None
    refund_amount: Money | None = None
    shipping_refund: Money | None = None
    credit_memo_ref: str | None = None
    #: What the ERP's credit memo says (kept when it did not match, for an agent to accept).
    credit_memo_amount: Money | None = None
    hold_reason: str | None = None
    #: The replacement this return is exchanged for (None: a plain return).
    exchange: Exchange | None = None
    created_at: datetime
    updated_at: datetime
    _by_sku: dict[str, ReturnLine] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_sku = {line.sku: line for line in self.lines}

    @property
    def holds_quantity(self) -> bool:
        return self.status in OPEN_OR_DONE

    @property
    def is_received(self) -> bool:
        """The warehouse counted what came back (received or any later state)."""
        return self.status in RECEIVED_OR_LATER

    def line(self, sku: str) -> ReturnLine:
        return self._by_sku[sku]

    def requested(self) -> ReturnRequested:
        payment = self.exchange.payment if self.exchange else None
        return ReturnRequested(
            order_id=self.order_id,
            return_id=self.id,
            lines=tuple(
                ReturnLineItem(sku=ln.sku, quantity=ln.quantity, reason=ln.reason)
                for ln in self.lines
            ),
            case_id=self.case_id,
            exchange_lines=self.exchange.line_items() if self.exchange else (),
            exchange_payment_reference=payment.reference if payment else None,
            exchange_payment_amount=payment.amount.amount if payment else None,
        )

    def refund_of(self, quantities: Mapping[str, int], currency: str) -> Money:
        """What `quantities` (units per SKU of this return) refund, shipping left out: their
        tax-exclusive price less the restocking fee, plus their tax in full."""
        goods = tax = Money.zero(currency)
        for line in self.lines:
            units = quantities.get(line.sku, 0)
            goods = goods + line.unit_price * units
            if line.unit_tax is not None:
                tax = tax + line.unit_tax * units
        return goods - goods.percent(self.restocking_fee_percent) + tax

    def refund_if_all_back(self, currency: str) -> Money:
        """The refund if every requested unit comes back (shipping left out)."""
        return self.refund_of({ln.sku: ln.quantity for ln in self.lines}, currency)

    def money_refund(self, credit_memo_amount: Money) -> Money:
        """What the customer gets back of a credit memo for `credit_memo_amount`: all of it for a
        plain return; for a replaced exchange, what is left once the replacement is paid (never
        below zero)."""
        credit = self.exchange.credit if self.exchange and self.exchange.credit else None
        if credit is None or not credit.amount:
            return credit_memo_amount
        left = credit_memo_amount - credit
        return left if left.amount > 0 else Money.zero(left.currency)

    def authorize(self, rma_number: str, now: datetime) -> ReturnEvent:
        self._move(_C.AUTHORIZE, _S.AUTHORIZED, now)
        self.rma_number = rma_number
        return ReturnAuthorized(order_id=self.order_id, return_id=self.id, rma_number=rma_number)

    @property
    def is_withdrawn(self) -> bool:
        """Rejected or cancelled: it claims nothing, will never move again, and kept no lines."""
        return self.status in WITHDRAWN

    def reject(self, reason: str, now: datetime) -> ReturnEvent:
        self._move(_C.REJECT, _S.REJECTED, now)
        self._let_go_of_lines()
        return ReturnRejected(order_id=self.order_id, return_id=self.id, reason=reason)

    def cancel(self, now: datetime) -> ReturnEvent:
        self._move(_C.CANCEL, _S.CANCELLED, now)
        self._let_go_of_lines()
        return ReturnCancelled(order_id=self.order_id, return_id=self.id)

    def _let_go_of_lines(self) -> None:
        """A withdrawn return keeps its id, status and times, not its lines: the order carries
        every return it ever had (they count toward `OrderLimits.max_returns`) in the state it
        loads and saves with each command, and a request of 500 lines with long reasons weighs
        ~250 KB. The lines stay in its `ReturnRequested` event, the read model and the timeline."""
        self.lines = []
        self._by_sku = {}

    def receive(
        self, received: Sequence[tuple[str, int]], shipping_refund: Money, now: datetime
    ) -> ReturnEvent:
        """Record the warehouse receipt and compute the refund the ERP's credit memo must match."""
        RETURN_TRANSITIONS.ensure_allowed(self.status, _C.RECEIVE)
        self._ensure_receipt_fits(received)
        for sku, quantity in received:
            self._by_sku[sku].received = quantity
        self.shipping_refund = shipping_refund
        received_units = {ln.sku: ln.received for ln in self.lines}
        self.refund_amount = self.refund_of(received_units, shipping_refund.currency)
        self.refund_amount = self.refund_amount + shipping_refund
        if self.exchange is not None:
            everything_back = all(ln.received == ln.quantity for ln in self.lines)
            self.exchange.settle(self.refund_amount, everything_back)
        self._move(_C.RECEIVE, _S.RECEIVED, now)
        return ReturnReceived(
            order_id=self.order_id,
            return_id=self.id,
            lines=tuple(SkuQuantity(sku=ln.sku, quantity=ln.received) for ln in self.lines),
            refund_amount=self.refund_amount.amount,
            currency=self.refund_amount.currency,
        )

    def inspect(
        self,
        dispositions: Mapping[str, Disposition],
        restock_location: Mapping[str, str],
        now: datetime,
    ) -> ReturnEvent:
        """Record a disposition for every received line; `restock` lines go back on the shelf."""
        RETURN_TRANSITIONS.ensure_allowed(self.status, _C.INSPECT)
        issues = [
            FieldIssue("lines", f"{sku} is not on this return")
            for sku in dispositions
            if sku not in self._by_sku
        ] + [
            FieldIssue("lines", f"{line.sku} needs a disposition")
            for line in self.lines
            if line.received and line.sku not in dispositions
        ]
        if issues:
            raise ValidationFailed(issues)
        for sku, disposition in dispositions.items():
            self._by_sku[sku].disposition = disposition
        self._move(_C.INSPECT, _S.INSPECTED, now)
        return ReturnInspected(
            order_id=self.order_id,
            return_id=self.id,
            lines=tuple(
                InspectedLine(
                    sku=ln.sku,
                    disposition=ln.disposition.value,
                    quantity=ln.received,
                    restocked_at=restock_location.get(ln.sku)
                    if ln.disposition is Disposition.RESTOCK
                    else None,
                )
                for ln in self.lines
                if ln.disposition is not None
            ),
        )

    def restock_quantities(self) -> dict[str, int]:
        """Units per SKU that inspection sends back to stock."""
        return {
            ln.sku: ln.received
            for ln in self.lines
            if ln.disposition is Disposition.RESTOCK and ln.received
        }

    def post_credit_memo(self, credit_memo_ref: str, amount: Money, now: datetime) -> bool:
        """Accept the ERP's credit memo when it matches the computed refund; hold it otherwise.

        Returns whether the refund may be issued.
        """
        RETURN_TRANSITIONS.ensure_allowed(self.status, _C.POST_CREDIT_MEMO)
        self.credit_memo_ref, self.credit_memo_amount = credit_memo_ref, amount
        if amount != self.refund_amount:
            self.hold_reason = (
                f"credit memo {credit_memo_ref} is for {amount}, the refund is {self.refund_amount}"
            )
            self._move(_C.POST_CREDIT_MEMO, _S.ON_HOLD, now)
            return False
        self._move(_C.POST_CREDIT_MEMO, _S.REFUNDED, now)
        return True

    def exchange_settled(self) -> ReturnEvent:
        """What the receipt decided for this exchange (`ReplacementDue` or `ExchangeFellBack`)."""
        exchange = self.exchange
        assert exchange is not None
        assert exchange.outcome is not None
        reference = exchange.payment.reference if exchange.payment else None
        if exchange.outcome is ExchangeOutcome.FELL_BACK:
            return ExchangeFellBack(
                order_id=self.order_id, return_id=self.id, payment_reference=reference
            )
        assert self.refund_amount is not None
        assert exchange.credit is not None
        assert exchange.payment_due is not None
        return ReplacementDue(
            order_id=self.order_id,
            return_id=self.id,
            lines=exchange.line_items(),
            currency=self.refund_amount.currency,
            replacement_total=exchange.total.amount,
            credit=exchange.credit.amount,
            refund=self.money_refund(self.refund_amount).amount,
            payment_reference=reference,
            payment_due=exchange.payment_due.amount,
        )

    def held(self) -> ReturnEvent:
        return ReturnHeld(
            order_id=self.order_id,
            return_id=self.id,
            reason=self.hold_reason or "",
            credit_memo_ref=self.credit_memo_ref,
        )

    def refund_issued(self, payment_status: str) -> ReturnEvent:
        assert self.refund_amount is not None
        assert self.credit_memo_ref is not None
        return RefundIssued(
            order_id=self.order_id,
            return_id=self.id,
            amount=self.money_refund(self.refund_amount).amount,
            credit_memo_amount=self.refund_amount.amount,
            currency=self.refund_amount.currency,
            credit_memo_ref=self.credit_memo_ref,
            payment_status=payment_status,
        )

    def release_hold(self, now: datetime) -> ReturnEvent:
        """An agent sorted out the credit memo: the return waits for a matching one again."""
        self._move(_C.RELEASE_HOLD, _S.INSPECTED, now)
        self.hold_reason = None
        self.credit_memo_ref = self.credit_memo_amount = None
        return ReturnHoldReleased(order_id=self.order_id, return_id=self.id)

    def accept_credit_memo(self, now: datetime) -> Money:
        """An agent accepts the held credit memo's amount as the refund; answers that amount."""
        RETURN_TRANSITIONS.ensure_allowed(self.status, _C.ACCEPT_CREDIT_MEMO)
        assert self.credit_memo_amount is not None  # on hold only for a memo that did not match
        self.refund_amount, self.hold_reason = self.credit_memo_amount, None
        self._move(_C.ACCEPT_CREDIT_MEMO, _S.REFUNDED, now)
        return self.refund_amount

    def close(self, now: datetime) -> ReturnEvent:
        self._move(_C.CLOSE, _S.CLOSED, now)
        return ReturnClosed(order_id=self.order_id, return_id=self.id)

    def _move(self, command: ReturnCommand, target: ReturnStatus, now: datetime) -> None:
        self.status = RETURN_TRANSITIONS.move(self.status, command, target)
        self.updated_at = now

    def _ensure_receipt_fits(self, received: Sequence[tuple[str, int]]) -> None:
        issues = []
        seen = set()
        for sku, quantity in received:
            if sku not in self._by_sku:
                issues.append(FieldIssue("lines", f"{sku} is not on this return"))
            elif sku in seen:
                issues.append(FieldIssue("lines", f"{sku} appears twice"))
            elif quantity < 0:
                issues.append(FieldIssue("lines", f"{sku}: quantity must not be negative"))
            seen.add(sku)
        if issues:
            raise ValidationFailed(issues)
        for sku, quantity in received:
            if quantity > self._by_sku[sku].quantity:
                raise ReceiptExceedsReturn(sku, self._by_sku[sku].quantity, quantity)


class Returns(Mapping[UUID, Return]):
    """The returns of one order by id. Read like a dict; a return is only ever added (its own
    methods move it along), and the quantities the order's rules need are counted here."""

    def __init__(self, returns: Mapping[UUID, Return] | None = None) -> None:
        self._by_id = dict(returns or {})

    def __getitem__(self, return_id: UUID) -> Return:
        return self._by_id[return_id]

    def __iter__(self) -> Iterator[UUID]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"Returns({self._by_id!r})"

    def require(self, return_id: UUID) -> Return:
        """The return with this id, or `ReturnNotFound`."""
        try:
            return self._by_id[return_id]
        except KeyError:
            raise ReturnNotFound(return_id) from None

    def add(self, ret: Return) -> None:
        self._by_id[ret.id] = ret

    def returned(self, sku: str) -> int:
        """Units of `sku` received back by the warehouse."""
        return sum(r.line(sku).received for r in self._by_id.values() if _has_sku(r, sku))

    def claimed(self, sku: str) -> int:
        """Units of `sku` that returns take from what may be returned: an open return its requested
        units, a received one the units that actually came back (the rest may be returned again)."""
        return sum(
            r.line(sku).received if r.is_received else r.line(sku).quantity
            for r in self._by_id.values()
            if r.holds_quantity and _has_sku(r, sku)
        )

    @property
    def shipping_refunded(self) -> bool:
        """Some return already refunds the order's shipping (it is refunded once)."""
        return any(r.shipping_refund and r.shipping_refund.amount for r in self._by_id.values())


def _has_sku(ret: Return, sku: str) -> bool:
    return any(line.sku == sku for line in ret.lines)
