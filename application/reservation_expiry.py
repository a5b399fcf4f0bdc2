"""The reservation expiry job: stock stuck behind an unhandled hold goes back to sale."""

from __future__ import annotations

from application.context import HandlerContext
from domain.commands import ExpireReservations
from ports.unit_of_work import UnitOfWork


async def expire_reservations(cmd: ExpireReservations, uow: UnitOfWork, ctx: HandlerContext) -> int:
    """Returns how many orders had holds expired."""
    now = ctx.clock.now()
    expired = 0
    for order_id in await uow.orders.with_holds_expiring_by(now, cmd.limit):
        order = await uow.orders.get(order_id)
        stock = await uow.stock.get_many(order.stock_keys())
        expired += order.expire_holds(now, stock)
    return expired
