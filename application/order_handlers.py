"""Handlers of the order lifecycle: place, amend, cancel, hold, resume, ERP answers, cases."""

from __future__ import annotations

from uuid import UUID

from application.context import HandlerContext
from domain.commands import (
    AddLines,
    AddNote,
    AmendOrder,
    BookOrder,
    CancelOrder,
    CancelRemaining,
    FollowChannelCancellation,
    HoldOrder,
    IssueAppeasement,
    LinkCase,
    PlaceOrder,
    RecordCaseUpdate,
    RecordChannelRefund,
    RecordIntegrationTrouble,
    RefuseAddedLines,
    RejectOrder,
    ResumeOrder,
)
from domain.errors import (
    ChannelOrderNotFound,
    DuplicateOrder,
    FieldIssue,
    ReturnNotFound,
    UnknownReplacementReturn,
    ValidationFailed,
)
from domain.money import Money
from domain.order import ChannelCancellation, Order
from ports.unit_of_work import UnitOfWork


async def place_order(cmd: PlaceOrder, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    existing = await uow.orders.find_by_channel_ref(cmd.channel, cmd.channel_order_ref)
    if existing is not None:
        raise DuplicateOrder(cmd.channel, cmd.channel_order_ref, existing)
    if cmd.replacement_for_return_id is not None:
        await _ensure_replaceable(uow, cmd.replacement_for_return_id, cmd.channel)
    stock = await uow.stock.for_skus({line.sku for line in cmd.lines})
    order = Order.place(
        id=ctx.ids.new_id(),
        channel=cmd.channel,
        channel_order_ref=cmd.channel_order_ref,
        customer=cmd.customer,
        shipping_address=cmd.shipping_address,
        currency=cmd.currency,
        lines=cmd.lines,
        payment_reference=cmd.payment_reference,
        payment_amount=cmd.payment_amount,
        allow_backorder=cmd.allow_backorder,
        shipping_amount=cmd.shipping_amount,
        replacement_for_return_id=cmd.replacement_for_return_id,
        now=ctx.clock.now(),
        stock=stock,
        priority=ctx.settings.location_priority,
        new_id=ctx.ids.new_id,
    )
    uow.orders.add(order)
    return order.id


async def _ensure_replaceable(uow: UnitOfWork, return_id: UUID, channel: str) -> None:
    """The return a replacement names exists, on an order of the replacement's channel. (The
    original order is only read: unchanged, it is not written at commit.)"""
    try:
        original = await uow.orders.get_by_return(return_id)
    except ReturnNotFound:
        raise UnknownReplacementReturn(return_id) from None
    original.ensure_replaceable_for(return_id, channel)


async def amend_order(cmd: AmendOrder, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.ensure_version(cmd.expected_version)
    stock = await uow.stock.get_many(order.stock_keys())
    order.amend(
        now=ctx.clock.now(),
        stock=stock,
        shipping_address=cmd.shipping_address,
        quantities={line.sku: line.quantity for line in cmd.lines},
    )
    return order.id


async def add_lines(cmd: AddLines, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.ensure_version(cmd.expected_version)
    skus = {ln.sku for ln in order.lines} | {ln.sku for ln in cmd.lines}
    stock = await uow.stock.for_skus(skus)
    order.add_lines(
        lines=cmd.lines,
        payment_reference=cmd.payment_reference,
        payment_amount=cmd.payment_amount,
        now=ctx.clock.now(),
        stock=stock,
        priority=ctx.settings.location_priority,
        new_id=ctx.ids.new_id,
    )
    return order.id


async def refuse_added_lines(cmd: RefuseAddedLines, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    stock = await uow.stock.get_many(order.stock_keys())
    order.refuse_added_lines(
        skus=cmd.skus,
        refused_payment_reference=cmd.payment_reference,
        previous_payment_reference=cmd.previous_payment_reference,
        previous_payment_amount=cmd.previous_payment_amount,
        reason=cmd.reason,
        now=ctx.clock.now(),
        stock=stock,
        hold_ttl=ctx.settings.reservation_ttl,
    )
    return order.id


async def cancel_order(cmd: CancelOrder, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.ensure_version(cmd.expected_version)
    stock = await uow.stock.get_many(order.stock_keys())
    order.cancel(cmd.reason, ctx.clock.now(), stock)
    return order.id


async def follow_channel_cancellation(
    cmd: FollowChannelCancellation, uow: UnitOfWork, ctx: HandlerContext
) -> tuple[UUID, ChannelCancellation]:
    order = await _channel_order(uow, cmd.channel, cmd.channel_order_ref)
    stock = await uow.stock.get_many(order.stock_keys())
    return order.id, order.follow_channel_cancellation(cmd.reason, ctx.clock.now(), stock)


async def record_channel_refund(
    cmd: RecordChannelRefund, uow: UnitOfWork, ctx: HandlerContext
) -> tuple[UUID, bool]:
    order = await _channel_order(uow, cmd.channel, cmd.channel_order_ref)
    amount = Money.of(cmd.amount, cmd.currency)
    return order.id, order.record_channel_refund(cmd.refund_ref, amount, ctx.clock.now())


async def issue_appeasement(
    cmd: IssueAppeasement, uow: UnitOfWork, ctx: HandlerContext
) -> tuple[UUID, bool]:
    order = await uow.orders.get(cmd.order_id)
    amount = Money.of(cmd.amount, order.currency)
    limits = ctx.settings.order_limits
    issued = order.issue_appeasement(
        cmd.refund_id, amount, cmd.reason, ctx.clock.now(), limits=limits
    )
    return order.id, issued


async def _channel_order(uow: UnitOfWork, channel: str, channel_order_ref: str) -> Order:
    order_id = await uow.orders.find_by_channel_ref(channel, channel_order_ref)
    if order_id is None:
        raise ChannelOrderNotFound(channel, channel_order_ref)
    return await uow.orders.get(order_id)


async def cancel_remaining(cmd: CancelRemaining, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    stock = await uow.stock.get_many(order.stock_keys())
    order.cancel_remaining(cmd.reason, ctx.clock.now(), stock)
    return order.id


async def add_note(cmd: AddNote, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.add_note(cmd.text, ctx.clock.now())
    return order.id


async def record_integration_trouble(
    cmd: RecordIntegrationTrouble, uow: UnitOfWork, ctx: HandlerContext
) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.record_integration_trouble(cmd.trouble, ctx.clock.now())
    return order.id


async def hold_order(cmd: HoldOrder, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.ensure_version(cmd.expected_version)
    order.hold(cmd.reason, ctx.clock.now(), ctx.settings.reservation_ttl)
    return order.id


async def resume_order(cmd: ResumeOrder, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.ensure_version(cmd.expected_version)
    stock = await uow.stock.for_skus({line.sku for line in order.lines})
    order.resume(ctx.clock.now(), stock, ctx.settings.location_priority, ctx.ids.new_id)
    return order.id


async def book_order(cmd: BookOrder, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.book(cmd.erp_order_ref, ctx.clock.now())
    return order.id


async def reject_order(cmd: RejectOrder, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.reject_by_erp(cmd.reason, ctx.clock.now(), ctx.settings.reservation_ttl)
    return order.id


async def record_case_update(cmd: RecordCaseUpdate, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    if cmd.order_id is not None:
        order = await uow.orders.get(cmd.order_id)
    elif cmd.return_id is not None:
        order = await uow.orders.get_by_return(cmd.return_id)
    else:
        raise ValidationFailed([FieldIssue("order_id", "a case update names an order or a return")])
    order.record_case_update(
        cmd.case_id,
        cmd.status,
        cmd.note,
        ctx.clock.now(),
        cmd.return_id,
        limits=ctx.settings.order_limits,
    )
    return order.id


async def link_case(cmd: LinkCase, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.link_case(cmd.case_id, ctx.clock.now(), limits=ctx.settings.order_limits)
    return order.id
