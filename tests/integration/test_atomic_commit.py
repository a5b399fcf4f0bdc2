"""A failure anywhere in a command's transaction leaves nothing behind: no state, no events,
no idempotency record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.ids import RandomIds
from adapters.sql.idempotency import SqlIdempotencyGate
from adapters.sql.schema import idempotency_keys, orders, outbox
from adapters.sql.unit_of_work import SqlUnitOfWork
from application.bus import MessageBus
from ports.idempotency import ClaimState, StoredResponse
from ports.unit_of_work import CommandMeta
from tests.factories import LineSpecFactory, PlaceOrderFactory
from tests.integration.backends import SqlBackend


class PowerCut(Exception):
    """The failure injected after every row of the command was written."""


class FailingAtCommit(SqlUnitOfWork):
    async def _before_commit(self) -> None:
        raise PowerCut


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    return request.getfixturevalue(f"{request.param}_engine")


async def test_a_failure_after_the_events_are_written_leaves_nothing(engine: AsyncEngine) -> None:
    backend = SqlBackend(engine)
    await backend.stock("MUG", "dc-east", 5)
    events_before = await count(engine, outbox)
    clock, ids = FixedClock(), RandomIds()
    gate = SqlIdempotencyGate(engine, retention=timedelta(hours=24), lease=timedelta(seconds=30))
    claim = await gate.claim("key:web", "idem-1", "fp", clock.now())
    assert claim.token is not None

    def failing(meta: CommandMeta) -> FailingAtCommit:
        return FailingAtCommit(engine, meta, clock, ids)

    bus = MessageBus(failing, backend.context)

    async def store_response(result: object, uow: SqlUnitOfWork) -> None:
        uow.idempotency.complete(
            "key:web", "idem-1", claim.token, StoredResponse(status=201, headers={}, body=b"{}")
        )

    with pytest.raises(PowerCut):
        await bus.handle(
            PlaceOrderFactory(lines=(LineSpecFactory(sku="MUG", quantity=2),)),
            CommandMeta(actor="key:web", correlation_id="c"),
            finish=store_response,
        )

    assert await count(engine, orders) == 0
    assert await count(engine, outbox) == events_before
    assert await backend.level("MUG", "dc-east") == (5, 0)
    async with engine.connect() as conn:
        completed = (await conn.execute(select(idempotency_keys.c.completed))).scalars().all()
    assert completed == [False]
    await gate.release("key:web", "idem-1", claim.token)
    assert (await gate.claim("key:web", "idem-1", "fp", clock.now())).state is ClaimState.CLAIMED
