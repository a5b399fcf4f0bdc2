"""The payment port: captures and refunds against the channel's authorization."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol


class PaymentPort(Protocol):
    async def capture(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Capture `amount` of the authorization; returns the provider's capture id."""
        ...

    async def refund(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        """Refund `amount` of the capture; returns the provider's refund id."""
        ...
