"""The ERP port over a generic REST contract (docs/erp-rest-contract.md)."""

from __future__ import annotations

from decimal import Decimal
from types import TracebackType
from typing import Any
from uuid import UUID

import httpx

from adapters.http.client import RemoteClient
from adapters.http.errors import describe, json_body
from adapters.http.resilience import CircuitBreaker, RetryPolicy
from domain.customer import Address
from ports.erp import ErpDecision, ErpLine, ErpOrder, ErpReturn
from ports.remote import RemoteRejected, RemoteUnavailable

SYSTEM = "ERP"
#: answers to a write that mean "done" (202: accepted for asynchronous processing)
_DONE = (200, 201, 202, 204)


class RestErp:
    """Books, amends and cancels orders and opens returns in an ERP that speaks the contract in
    docs/erp-rest-contract.md.

    Every write is idempotent toward the ERP: orders, amendments, returns and credit-memo
    requests are PUT under our own ids and the cancellation is POSTed with an `Idempotency-Key`,
    so a retry (ours, or a redelivered message) never books, cancels or credits twice. A booking
    the ERP declines comes back as an `ErpDecision` with its reason; timeouts, 408/425/429/5xx
    and an open circuit raise `RemoteUnavailable`; any other refusal raises `RemoteRejected`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 5.0,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = RemoteClient(
            SYSTEM,
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            timeout=timeout,
            deadline=deadline,
            retry=retry,
            breaker=breaker,
            transport=transport,
        )

    @property
    def breaker(self) -> CircuitBreaker:
        return self._http.breaker

    async def submit_order(self, order: ErpOrder) -> ErpDecision:
        async def attempt() -> ErpDecision:
            response = await self._http.send(
                "PUT",
                f"/orders/{order.order_id}",
                json=order_document(order),
                expect=(200, 201, 422),
            )
            return decision(response)

        return await self._http.run(attempt)

    async def amend_order(self, order: ErpOrder, erp_order_ref: str) -> None:
        body = {"erp_order_ref": erp_order_ref, "order": order_document(order)}

        async def attempt() -> None:
            response = await self._http.send(
                "PUT",
                f"/orders/{order.order_id}/amendment",
                json=body,
                expect=(*_DONE, 422),
            )
            if response.status_code == 422:
                raise RemoteRejected(refusal(response))

        await self._http.run(attempt)

    async def cancel_order(self, order_id: UUID, erp_order_ref: str, reason: str) -> None:
        body = {"erp_order_ref": erp_order_ref, "reason": reason}
        key = f"{order_id}/cancellation"
        await self._write("POST", f"/orders/{order_id}/cancellation", body, idempotency_key=key)

    async def authorize_return(self, ret: ErpReturn) -> None:
        body = {
            "return_id": str(ret.return_id),
            "order_id": str(ret.order_id),
            "erp_order_ref": ret.erp_order_ref,
            "rma_number": ret.rma_number,
            "lines": [line_document(line) for line in ret.lines],
        }
        await self._write("PUT", f"/returns/{ret.return_id}", body)

    async def request_credit_memo(self, return_id: UUID, amount: Decimal, currency: str) -> None:
        body = {"amount": decimal_string(amount), "currency": currency}
        await self._write("PUT", f"/returns/{return_id}/credit-memo-request", body)

    async def _write(
        self, method: str, path: str, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> None:
        # A PUT is idempotent by its path; a fixed key on it would make the ERP replay the first
        # of several amendments. Only the POST needs one.
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None

        async def attempt() -> None:
            await self._http.send(method, path, json=body, headers=headers, expect=_DONE)

        await self._http.run(attempt)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RestErp:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def refusal(response: httpx.Response) -> str:
    """Why the ERP refused an amendment (422): its `reason` when it decided against the change
    (`{"status": "rejected", "reason": …}`), else its answer as it came."""
    body = json_body(response, SYSTEM)
    if isinstance(body, dict) and body.get("status") == "rejected" and body.get("reason"):
        return str(body["reason"])
    return f"ERP refused {describe(response.request)} as invalid: {body}"


def decision(response: httpx.Response) -> ErpDecision:
    """The ERP's decision from its answer to `PUT /orders/{id}` (booked or rejected)."""
    body = json_body(response, SYSTEM)
    status = body.get("status") if isinstance(body, dict) else None
    if status == "rejected":
        reason = body.get("reason")
        return ErpDecision(rejection_reason=str(reason) if reason else "rejected by the ERP")
    if response.status_code == 422:
        raise RemoteRejected(f"ERP refused {describe(response.request)} as invalid: {body}")
    ref = body.get("erp_order_ref") if isinstance(body, dict) else None
    if status != "booked" or not isinstance(ref, str) or not ref:
        raise RemoteUnavailable(
            f"ERP answered {response.status_code} to {describe(response.request)} "
            f"without a booking or a rejection: {body}"
        )
    return ErpDecision(erp_order_ref=ref)


def order_document(order: ErpOrder) -> dict[str, Any]:
    return {
        "order_id": str(order.order_id),
        "channel": order.channel,
        "channel_order_ref": order.channel_order_ref,
        "customer_email": order.customer_email,
        "shipping_address": address_document(order.shipping_address),
        "currency": order.currency,
        "lines": [line_document(line) for line in order.lines],
        "total": decimal_string(order.total),
    }


def address_document(address: Address) -> dict[str, Any]:
    return {
        "name": address.name,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def line_document(line: ErpLine) -> dict[str, Any]:
    """`tax_amount` (per unit) only on a taxed line: an ERP integrated before the hub knew tax
    gets the documents it always got, and an absent tax means none."""
    document = {
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price": decimal_string(line.unit_price),
        "location": line.location,
    }
    if line.tax_amount:
        document["tax_amount"] = decimal_string(line.tax_amount)
    return document


def decimal_string(amount: Decimal) -> str:
    """A plain decimal string, never scientific notation (`Decimal("1E+2")` → `"100"`)."""
    return format(amount, "f")
