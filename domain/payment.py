"""The order's payment: authorized by the channel, captured on first shipment, refunded by returns,
by the channel, or by an agent's appeasement."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from domain.errors import CaptureExceedsAuthorized, RefundExceedsCaptured
from domain.money import Money
from domain.state_machine import TransitionTable


class PaymentStatus(StrEnum):
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    FAILED = "failed"
    VOIDED = "voided"


class PaymentCommand(StrEnum):
    CAPTURE = "capture"
    FAIL = "fail"
    VOID = "void"
    REFUND = "refund"


_S, _C = PaymentStatus, PaymentCommand

PAYMENT_TRANSITIONS: Final = TransitionTable[PaymentStatus, PaymentCommand](
    "payment",
    {
        _S.AUTHORIZED: {
            _C.CAPTURE: frozenset({_S.CAPTURED}),
            _C.FAIL: frozenset({_S.FAILED}),
            _C.VOID: frozenset({_S.VOIDED}),
        },
        # A provider may still report a capture after a failure it reported earlier.
        _S.FAILED: {
            _C.CAPTURE: frozenset({_S.CAPTURED}),
            _C.FAIL: frozenset({_S.FAILED}),  # a retried charge failed again
            _C.VOID: frozenset({_S.VOIDED}),
        },
        _S.CAPTURED: {_C.REFUND: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED})},
        _S.PARTIALLY_REFUNDED: {_C.REFUND: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED})},
        _S.REFUNDED: {},
        _S.VOIDED: {},
    },
)


@dataclass(slots=True, kw_only=True)
class Payment:
    """Amounts only ever satisfy `refunded <= captured <= authorized`."""

    reference: str
    authorized: Money
    captured: Money
    refunded: Money
    status: PaymentStatus = PaymentStatus.AUTHORIZED
    #: The channel's ids of refunds it made itself and the hub recorded (`Order.record_channel_refund`).
    channel_refunds: list[str] = field(default_factory=list)
    #: The ids of the appeasements refunded from this payment (`Order.issue_appeasement`).
    appeasements: list[str] = field(default_factory=list)

    @classmethod
    def authorize(cls, reference: str, amount: Money) -> Payment:
        zero = Money.zero(amount.currency)
        return cls(reference=reference, authorized=amount, captured=zero, refunded=zero)

    @property
    def refundable(self) -> Money:
        return self.captured - self.refunded

    def can_capture(self) -> bool:
        return PAYMENT_TRANSITIONS.allows(self.status, _C.CAPTURE)

    def capture(self, amount: Money) -> None:
        PAYMENT_TRANSITIONS.ensure_allowed(self.status, _C.CAPTURE)
        if amount > self.authorized:
            raise CaptureExceedsAuthorized(str(amount), str(self.authorized))
        self.captured = amount
        self.status = _S.CAPTURED

    def fail(self) -> None:
        self.status = PAYMENT_TRANSITIONS.move(self.status, _C.FAIL, _S.FAILED)

    def can_void(self) -> bool:
        return PAYMENT_TRANSITIONS.allows(self.status, _C.VOID)

    def void(self) -> None:
        self.status = PAYMENT_TRANSITIONS.move(self.status, _C.VOID, _S.VOIDED)

    def ensure_refundable(self, amount: Money) -> None:
        """Refuse a refund before anything changes: it needs a capture and room under it."""
        PAYMENT_TRANSITIONS.ensure_allowed(self.status, _C.REFUND)
        if amount > self.refundable:
            raise RefundExceedsCaptured(str(amount), str(self.refundable))

    def refund(self, amount: Money) -> None:
        """Refund part of the capture; never more than captured minus already refunded."""
        self.ensure_refundable(amount)
        self.refunded = self.refunded + amount
        target = _S.REFUNDED if self.refunded == self.captured else _S.PARTIALLY_REFUNDED
        self.status = PAYMENT_TRANSITIONS.move(self.status, _C.REFUND, target)
