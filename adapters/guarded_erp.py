"""Any ERP behind a circuit breaker: after repeated failures calls fail fast while the ERP is
down (degraded mode), and one probe at a time finds out when it is back."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from adapters.http.resilience import CircuitBreaker
from ports.erp import ErpDecision, ErpOrder, ErpPort, ErpReturn


class GuardedErp:
    def __init__(self, inner: ErpPort, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    async def submit_order(self, order: ErpOrder) -> ErpDecision:
        return await self.breaker.call(lambda: self._inner.submit_order(order))

    async def amend_order(self, order: ErpOrder, erp_order_ref: str) -> None:
        await self.breaker.call(lambda: self._inner.amend_order(order, erp_order_ref))

    async def cancel_order(self, order_id: UUID, erp_order_ref: str, reason: str) -> None:
        await self.breaker.call(lambda: self._inner.cancel_order(order_id, erp_order_ref, reason))

    async def authorize_return(self, ret: ErpReturn) -> None:
        await self.breaker.call(lambda: self._inner.authorize_return(ret))

    async def request_credit_memo(self, return_id: UUID, amount: Decimal, currency: str) -> None:
        await self.breaker.call(
            lambda: self._inner.request_credit_memo(return_id, amount, currency)
        )
