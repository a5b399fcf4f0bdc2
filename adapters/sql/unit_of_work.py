"""The SQL unit of work: one connection, one transaction; orders, stock, outbox and the
idempotency record are written together at commit, or not at all. On PostgreSQL the transaction
runs on the asyncpg connection directly (adapters/sql/statements.py)."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Self

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.errors import translate
from adapters.sql.idempotency import SqlIdempotencyLog
from adapters.sql.inbox import SqlInbox
from adapters.sql.order_repository import SqlOrderRepository
from adapters.sql.schema import outbox
from adapters.sql.statements import DirectStatements, release, unusable_after
from adapters.sql.stock_repository import SqlStockRepository
from domain.aggregate import Aggregate
from ports.clock import Clock
from ports.ids import IdGenerator
from ports.outbox import EventEnvelope
from ports.unit_of_work import CommandMeta, DatabaseUnavailable, UnitOfWork

#: Built once: building statements per call was the largest CPU cost of placing an order.
_INSERT_OUTBOX = insert(outbox)


class SqlUnitOfWork(UnitOfWork):
    orders: SqlOrderRepository
    stock: SqlStockRepository
    idempotency: SqlIdempotencyLog
    inbox: SqlInbox

    def __init__(
        self, engine: AsyncEngine, meta: CommandMeta, clock: Clock, ids: IdGenerator
    ) -> None:
        super().__init__(meta, clock, ids)
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._tx: AsyncConnection | DirectStatements | None = None

    async def __aenter__(self) -> Self:
        try:
            self._conn = await self._engine.connect()
            if self._conn.dialect.name == "postgresql":
                self._tx = await DirectStatements.begin(self._conn)
            else:
                await self._conn.begin()
                self._tx = self._conn
        except Exception as e:
            translated = translate(e) or e
            if self._conn is not None:
                await self._release(self._conn, broken=isinstance(translated, DatabaseUnavailable))
            raise translated from e
        self.orders = SqlOrderRepository(self._tx)
        self.stock = SqlStockRepository(self._tx)
        self.idempotency = SqlIdempotencyLog(self._tx)
        self.inbox = SqlInbox(self._tx, self._clock)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        assert self._tx is not None
        translated = translate(exc) if exc is not None else None
        broken = exc is not None and unusable_after(exc)
        try:
            if self._tx.in_transaction():
                await self._tx.rollback()
        except Exception:  # noqa: BLE001 - the connection is gone: out of the pool below
            broken = True
        await self._release(self._conn, broken=broken)
        if translated is not None:
            raise translated from exc

    async def _release(self, connection: AsyncConnection, *, broken: bool) -> None:
        await release(self._engine, connection, broken=broken)

    def _tracked(self) -> Iterable[Aggregate]:
        return [*self.orders.seen, *self.stock.seen]

    async def _commit(self, envelopes: list[EventEnvelope]) -> None:
        assert self._tx is not None
        await self.orders.save_all()
        if envelopes:
            channels = {order.stream_id: order.channel for order in self.orders.seen}
            await self._tx.execute(
                _INSERT_OUTBOX, [outbox_row(e, channels.get(e.aggregate_id)) for e in envelopes]
            )
        await self.idempotency.flush()
        await self.inbox.flush()
        # Stock last: its conditional UPDATEs lock the levels' rows until the commit, and on a
        # hot SKU every other order queues behind that lock; nothing else is written under it.
        await self.stock.save_all()
        await self._before_commit()
        await self._tx.commit()

    async def _before_commit(self) -> None:
        """Called inside the transaction once everything is written; does nothing here. (Tests
        subclass it to fail at the last moment and prove that nothing is left behind.)"""


def outbox_row(envelope: EventEnvelope, channel: str | None) -> dict[str, object]:
    """`channel`: of the order the event is about (a channel's feed reads by it); None for stock."""
    return {
        "channel": channel,
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "schema_version": envelope.schema_version,
        "aggregate_type": envelope.aggregate_type,
        "aggregate_id": envelope.aggregate_id,
        "aggregate_version": envelope.aggregate_version,
        "occurred_at": envelope.occurred_at,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "actor": envelope.actor,
        "payload": envelope.payload,
    }


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, clock: Clock, ids: IdGenerator) -> None:
        self.engine = engine
        self._clock = clock
        self._ids = ids

    def __call__(self, meta: CommandMeta) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, meta, self._clock, self._ids)
