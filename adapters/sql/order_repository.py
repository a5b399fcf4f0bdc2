"""Orders in SQL: one row each, optimistic version check on save, lookup tables kept in step."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, delete, insert, select, update

from adapters.sql.order_record import order_from_row, order_row
from adapters.sql.schema import backorder_waits, order_returns, orders
from adapters.sql.statements import Statements
from domain.errors import OrderNotFound, ReturnNotFound
from domain.order import Order
from domain.order_lifecycle import OrderStatus
from ports.unit_of_work import ConcurrencyConflict

# Statements are built once and executed with parameters: building them per call was the largest
# CPU cost of placing an order.
_BY_ID = select(orders).where(orders.c.id == bindparam("b_id"))
_BY_CHANNEL_REF = select(orders.c.id).where(
    orders.c.channel == bindparam("b_channel"),
    orders.c.channel_order_ref == bindparam("b_channel_order_ref"),
)
_INSERT = insert(orders)
#: SET takes the columns of the parameters: the whole row.
_UPDATE = update(orders).where(
    orders.c.id == bindparam("b_id"), orders.c.version == bindparam("b_version")
)
_INSERT_RETURNS = insert(order_returns)
_INSERT_WAITS = insert(backorder_waits)
_DELETE_WAITS = delete(backorder_waits).where(backorder_waits.c.order_id == bindparam("b_order_id"))
_BY_RETURN = select(order_returns.c.order_id).where(
    order_returns.c.return_id == bindparam("b_return_id")
)
_WAITING_FOR_SKU = (
    select(backorder_waits.c.order_id)
    .where(backorder_waits.c.sku == bindparam("b_sku"))
    .order_by(backorder_waits.c.since, backorder_waits.c.order_id)
    .limit(bindparam("b_limit"))
)
_HOLDS_EXPIRING = (
    select(orders.c.id)
    .where(orders.c.next_hold_expiry <= bindparam("b_moment"))
    .order_by(orders.c.next_hold_expiry)
    .limit(bindparam("b_limit"))
)
#: Asked before every ERP booking (are older orders still waiting?): built once, like the rest.
_WAITING_FOR_ERP = {
    dated: select(orders.c.id)
    .where(
        orders.c.status == OrderStatus.RESERVED.value,
        orders.c.updated_at < bindparam("b_reserved_before"),
        *((orders.c.created_at < bindparam("b_created_before"),) if dated else ()),
    )
    .order_by(orders.c.created_at, orders.c.id)
    .limit(bindparam("b_limit"))
    for dated in (False, True)
}


class SqlOrderRepository:
    def __init__(self, connection: Statements) -> None:
        self._conn = connection
        self._seen: dict[UUID, Order] = {}
        #: id -> (version, status, return ids) as loaded; absent for new orders
        self._loaded: dict[UUID, tuple[int, OrderStatus, frozenset[UUID]]] = {}

    @property
    def seen(self) -> list[Order]:
        return list(self._seen.values())

    def add(self, order: Order) -> None:
        self._seen[order.id] = order

    async def get(self, order_id: UUID) -> Order:
        if order_id in self._seen:
            return self._seen[order_id]
        row = (await self._conn.execute(_BY_ID, {"b_id": order_id})).first()
        if row is None:
            raise OrderNotFound(order_id)
        order = order_from_row(row)
        self._seen[order_id] = order
        self._loaded[order_id] = (order.version, order.status, frozenset(order.returns))
        return order

    async def get_by_return(self, return_id: UUID) -> Order:
        for order in self._seen.values():  # a return opened in this transaction
            if return_id in order.returns:
                return order
        order_id = (await self._conn.execute(_BY_RETURN, {"b_return_id": return_id})).scalar()
        if order_id is None:
            raise ReturnNotFound(return_id)
        return await self.get(order_id)

    async def find_by_channel_ref(self, channel: str, channel_order_ref: str) -> UUID | None:
        params = {"b_channel": channel, "b_channel_order_ref": channel_order_ref}
        found: UUID | None = (await self._conn.execute(_BY_CHANNEL_REF, params)).scalar()
        return found

    async def backordered_with_sku(self, sku: str, limit: int) -> list[UUID]:
        params = {"b_sku": sku, "b_limit": limit}
        return list((await self._conn.execute(_WAITING_FOR_SKU, params)).scalars())

    async def with_holds_expiring_by(self, moment: datetime, limit: int) -> list[UUID]:
        params = {"b_moment": moment, "b_limit": limit}
        return list((await self._conn.execute(_HOLDS_EXPIRING, params)).scalars())

    async def waiting_for_erp(
        self, reserved_before: datetime, limit: int, created_before: datetime | None = None
    ) -> list[UUID]:
        params = {"b_reserved_before": reserved_before, "b_limit": limit}
        if created_before is not None:
            params["b_created_before"] = created_before
        query = _WAITING_FOR_ERP[created_before is not None]
        return list((await self._conn.execute(query, params)).scalars())

    async def save_all(self) -> None:
        """Insert new orders, update changed ones if nobody changed them meanwhile."""
        for order in self._seen.values():
            loaded = self._loaded.get(order.id)
            if loaded is None:
                await self._conn.execute(_INSERT, order_row(order))
            elif order.version != loaded[0]:
                result = await self._conn.execute(
                    _UPDATE, {**order_row(order), "b_id": order.id, "b_version": loaded[0]}
                )
                if result.rowcount != 1:
                    raise ConcurrencyConflict(f"order {order.id} changed underneath")
            else:
                continue
            await self._sync_lookups(order, loaded)

    async def _sync_lookups(
        self, order: Order, loaded: tuple[int, OrderStatus, frozenset[UUID]] | None
    ) -> None:
        known_returns = loaded[2] if loaded else frozenset()
        new_returns = [rid for rid in order.returns if rid not in known_returns]
        if new_returns:
            await self._conn.execute(
                _INSERT_RETURNS, [{"return_id": rid, "order_id": order.id} for rid in new_returns]
            )
        was_waiting = loaded is not None and loaded[1] is OrderStatus.BACKORDERED
        if was_waiting:
            await self._conn.execute(_DELETE_WAITS, {"b_order_id": order.id})
        if order.status is OrderStatus.BACKORDERED:
            missing = sorted(
                {ln.sku for ln in order.lines if ln.unshipped > order.reserved(ln.sku)}
            )
            if missing:
                await self._conn.execute(
                    _INSERT_WAITS,
                    [
                        {"sku": sku, "order_id": order.id, "since": order.created_at}
                        for sku in missing
                    ],
                )
