"""Order commands and the order read: thin, each builds a command and hands it to the bus."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter, SkipValidation

from domain import commands as c
from domain.errors import OrderNotFound
from domain.order_lifecycle import OrderStatus
from entrypoints.http.auth import may_see_channel, roles
from entrypoints.http.commands import CommandRunner, Render
from entrypoints.http.openapi import IDEMPOTENCY_REQUIRED
from entrypoints.http.problems import ApiError
from entrypoints.http.rendering import etag, order_rendered, return_rendered
from entrypoints.http.resources import OrderResource, ReturnResource
from entrypoints.http.schemas import (
    NO_NUL,
    AmendOrderBody,
    CancelOrderBody,
    CancelRemainingBody,
    HoldOrderBody,
    LinkCaseBody,
    PlaceOrderBody,
    RequestReturnBody,
)
from ports.api_keys import Principal, Role
from ports.order_lookup import OrderLookup
from ports.views import OrderFilter
from read_models.queries import BadCursor, ReadModels

Req = Request[Principal, Any, Any]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
IfMatch = Annotated[str | None, HeaderParameter(name="If-Match", required=False)]
Query = Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)]
Limit = Annotated[int, QueryParameter(ge=1, le=500)]

#: A port (a Protocol): given as is, not validated as a value.
Lookup = NamedDependency[SkipValidation[OrderLookup]]


class OrderPage(msgspec.Struct, kw_only=True):
    items: list[dict[str, Any]]
    next_cursor: str | None


class TimelineEntry(msgspec.Struct, kw_only=True):
    at: datetime
    source: str
    kind: str
    title: str
    detail: dict[str, Any]
    correlation_id: str


class TimelinePage(msgspec.Struct, kw_only=True):
    items: list[TimelineEntry]
    next_cursor: str | None


ORDER = {200: ResponseSpec(OrderResource, description="the order as it now stands")}
#: Route options shared by the commands on one order (channel and agent keys; the order back).
ORDER_COMMAND: dict[str, Any] = {
    "guards": [roles(Role.CHANNEL, Role.AGENT)],
    "status_code": 200,
    "responses": ORDER,
}
#: Linking a CRM case is an agent's act: the hub comments on every linked case, so a channel must
#: not choose which cases (PRODUCT.md §8.8). The CRM links its own through `case.updated`.
AGENT_ORDER_COMMAND: dict[str, Any] = {**ORDER_COMMAND, "guards": [roles(Role.AGENT)]}


def expected_version(if_match: str | None) -> int | None:
    """`If-Match: 3`, `"3"` or `W/"3"` → 3."""
    if if_match is None or if_match.strip() == "*":
        return None  # `*`: any current version will do
    text = if_match.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ApiError(
            400, "invalid_if_match", 'If-Match must carry the order\'s version, e.g. "3"'
        )
    return int(text)


async def ensure_visible(lookup: OrderLookup, principal: Principal, order_id: UUID) -> None:
    """Another channel's order does not exist, as far as a channel key can tell."""
    if not may_see_channel(principal, await lookup.channel_of_order(order_id)):
        raise OrderNotFound(order_id)


async def on_order(
    request: Req,
    order_id: UUID,
    command: c.Command,
    runner: CommandRunner,
    lookup: OrderLookup,
    key: str | None,
    render: Render | None = None,
) -> Response[bytes]:
    """Run a command on an order the caller may see; answer with the order as it now stands."""
    await ensure_visible(lookup, request.user, order_id)
    return await runner.run(request, command, render or order_rendered(), idempotency_key=key)


class OrderController(Controller):
    path = "/v1/orders"
    tags = ["orders"]

    @post(
        "/",
        guards=[roles(Role.CHANNEL, Role.AGENT)],
        status_code=201,
        responses={
            201: ResponseSpec(OrderResource, description="the order, reserved or backordered")
        },
        opt={IDEMPOTENCY_REQUIRED: True},
    )
    async def place_order(
        self,
        request: Req,
        data: JSONBody[PlaceOrderBody],
        runner: NamedDependency[CommandRunner],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Place an order. `Idempotency-Key` is required: a retry gets the first answer back."""
        if not idempotency_key:
            raise ApiError(
                400,
                "idempotency_key_required",
                "send an Idempotency-Key header with every new order",
            )
        principal = request.user
        if principal.role is Role.CHANNEL:
            if data.channel not in (None, principal.channel):
                raise ApiError(
                    403, "forbidden", "a channel key places orders for its own channel only"
                )
            channel = principal.channel
        else:
            if data.channel is None:
                raise ApiError(422, "validation_error", "an agent key must name the order's channel",
                               errors=[{"field": "channel", "message": "required for agent keys"}])  # fmt: skip
            channel = data.channel
        assert channel is not None
        return await runner.run(
            request, data.to_command(channel), order_rendered(201), idempotency_key=idempotency_key
        )

    @get("/", guards=[roles(Role.CHANNEL, Role.AGENT, Role.OPS)])
    async def list_orders(
        self,
        request: Req,
        read_models: NamedDependency[ReadModels],
        customer_email: Query = None,
        channel: Query = None,
        channel_order_ref: Query = None,
        erp_order_ref: Query = None,
        case_id: Query = None,
        status: Annotated[OrderStatus | None, QueryParameter()] = None,
        limit: Limit = 50,
        cursor: Query = None,
    ) -> OrderPage:
        """Orders newest first, from the read model; a channel key sees its own channel's only."""
        principal = request.user
        if principal.role is Role.CHANNEL:
            if channel not in (None, principal.channel):
                return OrderPage(items=[], next_cursor=None)
            channel = principal.channel
        where = OrderFilter(
            customer_email=customer_email, channel=channel, channel_order_ref=channel_order_ref,
            erp_order_ref=erp_order_ref, case_id=case_id, status=status,
        )  # fmt: skip
        try:
            page = await read_models.orders(where, limit, cursor)
        except BadCursor:
            raise ApiError(
                400, "invalid_cursor", "the cursor is not one this API handed out"
            ) from None
        return OrderPage(items=page.items, next_cursor=page.next_cursor)

    @get("/{order_id:uuid}/timeline", guards=[roles(Role.CHANNEL, Role.AGENT, Role.OPS)])
    async def get_order_timeline(
        self,
        request: Req,
        order_id: FromPath[UUID],
        read_models: NamedDependency[ReadModels],
        limit: Limit = 100,
        cursor: Query = None,
    ) -> TimelinePage:
        """The order's story across every system, oldest first."""
        try:  # caught up first: the story so far, read-your-writes
            found = await read_models.timeline(order_id, limit, cursor)
        except BadCursor:
            raise ApiError(
                400, "invalid_cursor", "the cursor is not one this API handed out"
            ) from None
        if found is None or not may_see_channel(request.user, found.channel):
            raise OrderNotFound(order_id)
        return TimelinePage(items=found.page.items, next_cursor=found.page.next_cursor)

    @get("/{order_id:uuid}", guards=[roles(Role.CHANNEL, Role.AGENT, Role.OPS)], responses=ORDER)
    async def get_order(
        self, request: Req, order_id: FromPath[UUID], read_models: NamedDependency[ReadModels]
    ) -> Response[bytes]:
        """The order view, with every event committed so far (read-your-writes)."""
        view = await read_models.order(order_id)
        if view is None or not may_see_channel(request.user, view.channel):
            raise OrderNotFound(order_id)
        return Response(
            content=msgspec.json.encode(view.document),
            media_type="application/json",
            headers={"ETag": etag(view.version)},
        )

    @post("/{order_id:uuid}/amend", **ORDER_COMMAND)
    async def amend_order(
        self,
        request: Req,
        order_id: FromPath[UUID],
        data: JSONBody[AmendOrderBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Reduce lines or change the address before shipping, or add lines (`add_lines`) under
        a new `payment` authorization covering the new total (the old one is voided; a booked
        order's edit is undone, the order held, if the ERP refuses it); `If-Match` guards a
        stale read."""
        command = data.to_command(order_id, expected_version(if_match))
        return await on_order(request, order_id, command, runner, lookup, idempotency_key)

    @post("/{order_id:uuid}/cancel", **ORDER_COMMAND)
    async def cancel_order(
        self,
        request: Req,
        order_id: FromPath[UUID],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        data: JSONBody[CancelOrderBody | None] = None,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Cancel before the first shipment: the stock goes back to sale."""
        reason = (data or CancelOrderBody()).reason
        command = c.CancelOrder(
            order_id=order_id, reason=reason, expected_version=expected_version(if_match)
        )
        return await on_order(request, order_id, command, runner, lookup, idempotency_key)

    @post("/{order_id:uuid}/cancel-remaining", **AGENT_ORDER_COMMAND)
    async def cancel_remaining(
        self,
        request: Req,
        order_id: FromPath[UUID],
        data: JSONBody[CancelRemainingBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Finish a partially shipped order whose remainder will never ship: its unshipped units
        are cancelled and released, the ERP is told, a captured payment is refunded the unshipped
        part; the order ends `shipped` (or `delivered` when every shipment was)."""
        command = c.CancelRemaining(order_id=order_id, reason=data.reason)
        return await on_order(request, order_id, command, runner, lookup, idempotency_key)

    @post("/{order_id:uuid}/hold", **ORDER_COMMAND)
    async def hold_order(
        self,
        request: Req,
        order_id: FromPath[UUID],
        data: JSONBody[HoldOrderBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Stop the order where it is, with a reason; its unconfirmed holds expire after the TTL."""
        command = c.HoldOrder(
            order_id=order_id, reason=data.reason, expected_version=expected_version(if_match)
        )
        return await on_order(request, order_id, command, runner, lookup, idempotency_key)

    @post("/{order_id:uuid}/resume", **ORDER_COMMAND)
    async def resume_order(
        self,
        request: Req,
        order_id: FromPath[UUID],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Take the order off hold; expired holds are reserved again (or it waits backordered)."""
        command = c.ResumeOrder(order_id=order_id, expected_version=expected_version(if_match))
        return await on_order(request, order_id, command, runner, lookup, idempotency_key)

    @post(
        "/{order_id:uuid}/returns",
        guards=[roles(Role.CHANNEL, Role.AGENT)],
        status_code=201,
        responses={
            201: ResponseSpec(ReturnResource, description="the return, authorized or requested")
        },
    )
    async def request_return(
        self,
        request: Req,
        order_id: FromPath[UUID],
        data: JSONBody[RequestReturnBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Open a return; a request that breaks the channel's return policy is refused (422).
        Only an agent's request may name a CRM case (`case_id`) to link."""
        if data.case_id is not None and request.user.role is not Role.AGENT:
            raise ApiError(
                403,
                "forbidden",
                "only an agent key links a CRM case; send the return without case_id",
            )
        command = data.to_command(order_id)
        return await on_order(
            request, order_id, command, runner, lookup, idempotency_key, return_rendered(201)
        )

    @post("/{order_id:uuid}/case", **AGENT_ORDER_COMMAND)
    async def link_case(
        self,
        request: Req,
        order_id: FromPath[UUID],
        data: JSONBody[LinkCaseBody],
        runner: NamedDependency[CommandRunner],
        lookup: Lookup,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[bytes]:
        """Link a CRM case to the order (agents only; linking it again changes nothing)."""
        command = c.LinkCase(order_id=order_id, case_id=data.case_id)
        return await on_order(request, order_id, command, runner, lookup, idempotency_key)
