"""The payment port: captures, voids and refunds against the channel's authorization."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from ports.remote import RemoteRejected


class PaymentDeclined(RemoteRejected):
    """Raised when the provider refused the payment as a business decision (a card error);
    `reason` is the provider's message, fit to show an agent. No retry helps."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or reason)
        self.reason = reason


class PaymentPort(Protocol):
    async def capture(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Capture `amount` of the authorization; returns the provider's capture id.
        Raises `PaymentDeclined` when the provider refuses the card."""
        ...

    async def void(self, payment_reference: str, idempotency_key: str) -> None:
        """Release an uncaptured authorization. Voiding one already voided changes nothing;
        one already captured cannot be voided (`RemoteRejected`: refund it instead)."""
        ...

    async def refund(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Refund `amount` of the capture; returns the provider's refund id."""
        ...
