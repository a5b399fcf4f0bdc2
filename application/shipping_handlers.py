"""Handlers of what the warehouse and the payment provider report: shipments, deliveries, payment."""

from __future__ import annotations

from uuid import UUID

from application.context import HandlerContext
from domain.commands import CapturePayment, FailPayment, RecordDelivery, RecordShipment
from domain.money import Money
from ports.unit_of_work import UnitOfWork


async def record_shipment(cmd: RecordShipment, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    stock = await uow.stock.get_many(order.stock_keys(also_at=cmd.location))
    order.record_shipment(
        shipment_id=cmd.shipment_id,
        location=cmd.location,
        carrier=cmd.carrier,
        tracking_number=cmd.tracking_number,
        lines=[(line.sku, line.quantity) for line in cmd.lines],
        dispatched_at=cmd.dispatched_at,
        now=ctx.clock.now(),
        stock=stock,
    )
    return order.id


async def record_delivery(cmd: RecordDelivery, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.record_delivery(cmd.shipment_id, cmd.delivered_at, ctx.clock.now())
    return order.id


async def capture_payment(cmd: CapturePayment, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    amount = None if cmd.amount is None else Money.of(cmd.amount, order.currency)
    order.capture_payment(ctx.clock.now(), amount, refund_excess=cmd.refund_excess)
    return order.id


async def fail_payment(cmd: FailPayment, uow: UnitOfWork, ctx: HandlerContext) -> UUID:
    order = await uow.orders.get(cmd.order_id)
    order.fail_payment(cmd.reason, ctx.clock.now(), ctx.settings.reservation_ttl)
    return order.id
