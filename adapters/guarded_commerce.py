"""Any commerce target behind a circuit breaker (the simulator's; Shopify's adapter uses the
breaker itself, per attempt)."""

from __future__ import annotations

from adapters.http.resilience import CircuitBreaker
from ports.commerce import CommercePort, CommerceStatus


class GuardedCommerce:
    def __init__(self, inner: CommercePort, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    async def push_status(self, update: CommerceStatus, idempotency_key: str) -> None:
        await self.breaker.call(lambda: self._inner.push_status(update, idempotency_key))
