"""Handlers of returns: request, authorize, reject, cancel, receive, inspect, credit memo, close."""

from __future__ import annotations

from uuid import UUID

from application.context import HandlerContext
from domain.commands import (
    AcceptCreditMemo,
    AuthorizeReturn,
    CancelReturn,
    CloseReturn,
    InspectReturn,
    PostCreditMemo,
    ReceiveReturn,
    RejectReturn,
    ReleaseReturnHold,
    RequestReturn,
)
from domain.money import Money
from ports.unit_of_work import UnitOfWork


async def request_return(cmd: RequestReturn, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    ret = order.request_return(
        return_id=ctx.ids.new_id(),
        lines=cmd.lines,
        policy=ctx.settings.return_policies.for_channel(order.channel),
        rma_number=ctx.ids.rma_number(),
        now=ctx.clock.now(),
        case_id=cmd.case_id,
        limits=ctx.settings.order_limits,
    )
    return ret.id


async def authorize_return(cmd: AuthorizeReturn, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    order.authorize_return(cmd.return_id, ctx.ids.rma_number(), ctx.clock.now())
    return cmd.return_id


async def reject_return(cmd: RejectReturn, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    order.reject_return(cmd.return_id, cmd.reason, ctx.clock.now())
    return cmd.return_id


async def cancel_return(cmd: CancelReturn, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    order.cancel_return(cmd.return_id, ctx.clock.now())
    return cmd.return_id


async def receive_return(cmd: ReceiveReturn, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    received = [(line.sku, line.quantity) for line in cmd.lines]
    order.receive_return(cmd.return_id, received, ctx.clock.now())
    return cmd.return_id


async def inspect_return(cmd: InspectReturn, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    stock = await uow.stock.get_many(order.stock_keys())
    dispositions = {line.sku: line.disposition for line in cmd.lines}
    order.inspect_return(cmd.return_id, dispositions, ctx.clock.now(), stock)
    return cmd.return_id


async def post_credit_memo(cmd: PostCreditMemo, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    amount = Money.of(cmd.amount, order.currency)
    order.post_credit_memo(cmd.return_id, cmd.credit_memo_ref, amount, ctx.clock.now())
    return cmd.return_id


async def accept_credit_memo(cmd: AcceptCreditMemo, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    order.accept_credit_memo(cmd.return_id, ctx.clock.now())
    return cmd.return_id


async def release_return_hold(cmd: ReleaseReturnHold, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    order.release_return_hold(cmd.return_id, ctx.clock.now())
    return cmd.return_id


async def close_return(cmd: CloseReturn, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get_by_return(cmd.return_id)
    order.close_return(cmd.return_id, ctx.clock.now())
    return cmd.return_id
