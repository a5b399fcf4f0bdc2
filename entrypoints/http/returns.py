"""Return reads, the channel's own return command (cancel), and an agent's decisions on a
return the policy left `requested` (authorize, reject) or held for its credit memo (accept it)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, SkipValidation

from domain import commands as c
from domain.errors import ReturnNotFound
from entrypoints.http.auth import may_see_channel, roles
from entrypoints.http.commands import CommandRunner
from entrypoints.http.orders import IdempotencyKey
from entrypoints.http.rendering import etag, return_rendered
from entrypoints.http.resources import ReturnResource
from entrypoints.http.schemas import RejectReturnBody
from ports.api_keys import Principal, Role
from ports.order_lookup import OrderLookup
from read_models.queries import ReadModels

Req = Request[Principal, Any, Any]
RETURN = {200: ResponseSpec(ReturnResource, description="the return as it now stands")}

#: A port (a Protocol): given as is, not validated as a value.
Lookup = NamedDependency[SkipValidation[OrderLookup]]


#: A command on a return: by its channel or an agent, or by an agent alone.
RETURN_COMMAND: dict[str, Any] = {
    "guards": [roles(Role.CHANNEL, Role.AGENT)],
    "status_code": 200,
    "responses": RETURN,
}
AGENT_RETURN_COMMAND: dict[str, Any] = {**RETURN_COMMAND, "guards": [roles(Role.AGENT)]}


async def ensure_visible(lookup: OrderLookup, principal: Principal, return_id: UUID) -> None:
    owner = await lookup.owner_of_return(return_id)
    if owner is None or not may_see_channel(principal, owner[1]):
        raise ReturnNotFound(return_id)


async def on_return(
    request: Req,
    return_id: UUID,
    command: c.Command,
    runner: CommandRunner,
    lookup: OrderLookup,
    key: str | None,
) -> Response[bytes]:
    """Run a command on a return the caller may see; answer with the return as it now stands."""
    await ensure_visible(lookup, request.user, return_id)
    return await runner.run(request, command, return_rendered(), idempotency_key=key)


class ReturnController(Controller):
    path = "/v1/returns"
    tags = ["returns"]

    @get("/{return_id:uuid}", guards=[roles(Role.CHANNEL, Role.AGENT, Role.OPS)], responses=RETURN)
    async def get_return(
        self, request: Req, return_id: FromPath[UUID], read_models: NamedDependency[ReadModels]
    ) -> Response[bytes]:
        """The return from its order's view, with every event committed so far."""
        view = await read_models.order_of_return(return_id)
        if view is None or not may_see_channel(request.user, view.channel):
            raise ReturnNotFound(return_id)
        return Response(
            content=msgspec.json.encode(view.returns[str(return_id)]),
            media_type="application/json",
            headers={"ETag": etag(view.version)},
        )

    @post("/{return_id:uuid}/cancel", **RETURN_COMMAND)
    async def cancel_return(
        self,
        request: Req,
        return_id: FromPath[UUID],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Withdraw a return before the warehouse received it."""
        command = c.CancelReturn(return_id=return_id)
        return await on_return(request, return_id, command, runner, lookup, idempotency_key)

    @post("/{return_id:uuid}/authorize", **AGENT_RETURN_COMMAND)
    async def authorize_return(
        self,
        request: Req,
        return_id: FromPath[UUID],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Authorize a return the channel's policy left `requested`, under an RMA number of the
        hub's; the ERP is told as for one the policy authorized."""
        command = c.AuthorizeReturn(return_id=return_id)
        return await on_return(request, return_id, command, runner, lookup, idempotency_key)

    @post("/{return_id:uuid}/reject", **AGENT_RETURN_COMMAND)
    async def reject_return(
        self,
        request: Req,
        return_id: FromPath[UUID],
        data: JSONBody[RejectReturnBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Refuse a return the channel's policy left `requested`, with the reason the customer
        will hear; its units become returnable again."""
        command = c.RejectReturn(return_id=return_id, reason=data.reason)
        return await on_return(request, return_id, command, runner, lookup, idempotency_key)

    @post("/{return_id:uuid}/accept-credit-memo", **AGENT_RETURN_COMMAND)
    async def accept_credit_memo(
        self,
        request: Req,
        return_id: FromPath[UUID],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Release a return held because the ERP's credit memo did not match the computed
        refund, accepting the ERP's amount: that amount is refunded (never more than was
        captured and not yet refunded)."""
        command = c.AcceptCreditMemo(return_id=return_id)
        return await on_return(request, return_id, command, runner, lookup, idempotency_key)
