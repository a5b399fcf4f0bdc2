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
    PlaceReplacement,
    PostCreditMemo,
    ReceiveReturn,
    RejectReturn,
    ReleaseReturnHold,
    RequestReturn,
)
from domain.money import Money
from domain.replacement import place_replacement
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
        exchange_lines=cmd.exchange_lines,
        exchange_payment=(cmd.exchange_payment.reference, cmd.exchange_payment.amount)
        if cmd.exchange_payment
        else None,
    )
    return ret.id


async def place_replacement_order(
    cmd: PlaceReplacement, uow: UnitOfWork, ctx: HandlerContext
) -> UUID:
    """The original order and its replacement commit together: the original's record of the
    replacement is what makes a second placement a no-op."""
    original = await uow.orders.get_by_return(cmd.return_id)
    exchange = original.get_return(cmd.return_id).exchange
    skus = {ln.sku for ln in exchange.lines} if exchange else set()
    replacement = place_replacement(
        original,
        cmd.return_id,
        id=ctx.ids.new_id(),
        now=ctx.clock.now(),
        stock=await uow.stock.for_skus(skus),
        priority=ctx.settings.location_priority,
        new_id=ctx.ids.new_id,
    )
    if replacement is not None:
        uow.orders.add(replacement)
        return replacement.id
    assert exchange is not None
    assert exchange.replacement_order_id is not None
    return exchange.replacement_order_id


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
