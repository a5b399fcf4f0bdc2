"""Appeasements (PRODUCT.md §8.6): an agent refunds part of an order's capture without a return."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from domain import commands as c
from entrypoints.http.auth import roles
from entrypoints.http.commands import CommandRunner
from entrypoints.http.openapi import IDEMPOTENCY_REQUIRED
from entrypoints.http.orders import ORDER, IdempotencyKey, Lookup, Req, on_order
from entrypoints.http.problems import ApiError
from entrypoints.http.rendering import order_rendered
from entrypoints.http.schemas import AppeasementBody
from ports.api_keys import Role
from ports.idempotency import StoredResponse
from ports.unit_of_work import UnitOfWork

#: Names the refund ids made from idempotency keys (`refund_id`); never change it.
_REFUND_IDS = UUID("5b0c6a39-7d5e-4f0e-9c1b-2f6f0d7c8a11")


def refund_id(actor: str, order_id: UUID, idempotency_key: str) -> UUID:
    """The same for every retry of one request: the domain issues a refund id once, so even a
    retry that outlived its idempotency record refunds nothing more."""
    return uuid5(_REFUND_IDS, f"{actor}\n{order_id}\n{idempotency_key}")


async def _rendered(result: tuple[UUID, bool], uow: UnitOfWork) -> StoredResponse:
    order_id, _ = result
    render: Any = order_rendered(201)
    stored: StoredResponse = await render(order_id, uow)
    return stored


class RefundController(Controller):
    path = "/v1/orders"
    tags = ["orders"]

    @post(
        "/{order_id:uuid}/refunds",
        guards=[roles(Role.AGENT)],
        status_code=201,
        responses={201: ORDER[200]},
        opt={IDEMPOTENCY_REQUIRED: True},
    )
    async def issue_appeasement(
        self,
        request: Req,
        order_id: FromPath[UUID],
        data: JSONBody[AppeasementBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Refund `amount` of the order's capture without a return (an appeasement), with a
        reason for its timeline (`refund.issued`). Never more than captured less refunded: 409
        `refund_exceeds_captured`, with `refundable`. `Idempotency-Key` is required: a retry gets
        the first answer back and the provider pays out once. Answers the order."""
        if not idempotency_key:
            raise ApiError(
                400, "idempotency_key_required", "send an Idempotency-Key header with every refund"
            )
        command = c.IssueAppeasement(
            order_id=order_id,
            refund_id=refund_id(request.user.actor, order_id, idempotency_key),
            amount=data.amount,
            reason=data.reason,
        )
        return await on_order(
            request, order_id, command, runner, lookup, idempotency_key, _rendered
        )
