"""Any CRM behind a circuit breaker (the simulator's; Salesforce's adapter uses the breaker
itself, per attempt)."""

from __future__ import annotations

from adapters.http.resilience import CircuitBreaker
from ports.crm import CrmPort


class GuardedCrm:
    def __init__(self, inner: CrmPort, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self.breaker = breaker

    async def open_case(self, subject: str, description: str, external_id: str) -> str:
        return await self.breaker.call(
            lambda: self._inner.open_case(subject, description, external_id)
        )

    async def add_case_comment(self, case_id: str, body: str, external_id: str) -> None:
        await self.breaker.call(lambda: self._inner.add_case_comment(case_id, body, external_id))

    async def update_case_status(self, case_id: str, status: str) -> None:
        await self.breaker.call(lambda: self._inner.update_case_status(case_id, status))
