"""The order lookup in SQL: reads of the write side's own tables, outside any command."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.order_record import order_from_row
from adapters.sql.schema import order_returns, orders, stock_levels
from domain.order import Order
from ports.order_lookup import LocationStock


class SqlOrderLookup:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def order(self, order_id: UUID) -> Order | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(orders).where(orders.c.id == order_id))).first()
        return order_from_row(row) if row else None

    async def channel_of_order(self, order_id: UUID) -> str | None:
        async with self._engine.connect() as conn:
            return (
                await conn.execute(select(orders.c.channel).where(orders.c.id == order_id))
            ).scalar()

    async def owner_of_return(self, return_id: UUID) -> tuple[UUID, str] | None:
        """(order id, channel) of the order a return belongs to."""
        query = (
            select(orders.c.id, orders.c.channel)
            .join(order_returns, order_returns.c.order_id == orders.c.id)
            .where(order_returns.c.return_id == return_id)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.id, row.channel) if row else None

    async def stock(self, sku: str) -> list[LocationStock]:
        query = (
            select(stock_levels.c.location, stock_levels.c.on_hand, stock_levels.c.reserved)
            .where(stock_levels.c.sku == sku)
            .order_by(stock_levels.c.location)
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            return [LocationStock(r.location, r.on_hand, r.reserved) for r in rows]
