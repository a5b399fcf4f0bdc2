"""Handlers of stock: warehouse snapshots and adjustments, and filling backorders when it rises."""

from __future__ import annotations

from application.context import HandlerContext
from domain.commands import AdjustStock, ApplyStockSnapshot, FillBackorders
from domain.errors import FieldIssue, ValidationFailed
from domain.inventory import StockKey
from domain.order_lines import sku_issues, text_issues
from ports.unit_of_work import UnitOfWork


async def apply_stock_snapshot(
    cmd: ApplyStockSnapshot, uow: UnitOfWork, ctx: HandlerContext
) -> bool:
    """Returns whether the snapshot was newer than the last one applied."""
    key = _valid_key(cmd.sku, cmd.location)
    levels = await uow.stock.get_many([key])
    return levels[key].apply_snapshot(cmd.on_hand, cmd.sequence)


async def adjust_stock(cmd: AdjustStock, uow: UnitOfWork, ctx: HandlerContext) -> bool:
    key = _valid_key(cmd.sku, cmd.location)
    levels = await uow.stock.get_many([key])
    levels[key].adjust(cmd.delta, cmd.reason)
    return True


async def fill_backorders(cmd: FillBackorders, uow: UnitOfWork, ctx: HandlerContext) -> int:
    """Offer new units of a SKU to backordered orders, oldest first. Returns how many orders
    reserved something. The stock repository hands every order the same level objects, so what
    one order takes is gone for the next."""
    filled = 0
    for order_id in await uow.orders.backordered_with_sku(cmd.sku, ctx.settings.backorder_batch):
        order = await uow.orders.get(order_id)
        stock = await uow.stock.for_skus({line.sku for line in order.lines})
        reserved = order.fill_backorder(
            stock, ctx.settings.location_priority, ctx.ids.new_id, ctx.clock.now()
        )
        filled += reserved
    return filled


def _valid_key(sku: str, location: str) -> StockKey:
    issues: list[FieldIssue] = sku_issues("sku", sku) + text_issues("location", location)
    if issues:
        raise ValidationFailed(issues)
    return StockKey(sku, location)
