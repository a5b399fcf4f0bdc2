"""Any payment provider behind a circuit breaker (the simulator's; Stripe's adapter uses the
breaker itself, per attempt)."""

from __future__ import annotations

from decimal import Decimal

from adapters.http.resilience import CircuitBreaker
from ports.payment import PaymentPort


class GuardedPayments:
    def __init__(self, inner: PaymentPort, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    async def capture(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        return await self.breaker.call(
            lambda: self._inner.capture(payment_reference, amount, currency, idempotency_key)
        )

    async def void(self, payment_reference: str, idempotency_key: str) -> None:
        await self.breaker.call(lambda: self._inner.void(payment_reference, idempotency_key))

    async def refund(
        self, payment_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> str:
        return await self.breaker.call(
            lambda: self._inner.refund(payment_reference, amount, currency, idempotency_key)
        )
