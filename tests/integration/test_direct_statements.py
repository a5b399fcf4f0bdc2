"""On PostgreSQL the command transaction runs on the asyncpg connection below SQLAlchemy
(adapters/sql/statements.py). What SQLAlchemy did for us there, the unit of work now does: a
failed transaction is rolled back before its connection goes back to the pool, and a connection
found dead leaves the pool and gets the others pinged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import bindparam, func, literal, select, text
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.sql import engine as engines
from adapters.sql.errors import translate
from adapters.sql.idempotency import SqlIdempotencyGate
from adapters.sql.schema import stock_levels
from adapters.sql.statements import DirectStatements, one_statement, transaction
from adapters.sql.unit_of_work import SqlUnitOfWork
from adapters.sql.view_store import SqlViewStore
from application.consumers import NotYet
from ports.idempotency import ClaimState
from ports.unit_of_work import CommandMeta, DatabaseUnavailable
from read_models.projector import OrderProjection
from tests.integration.backends import Backend, SqlBackend
from tests.integration.test_engine_ping import kill_backend

pytestmark = pytest.mark.postgres


@pytest.fixture
async def small_pool(postgres_engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """Two connections at most, on the emptied database of `postgres_engine`. None is pinged when
    lent (none counts as idle): a dead one is met by its statement, as under load right after a
    database restart."""
    built = engines.create_engine(str(postgres_engine.url), pool_size=2, ping_after_idle=3600.0)
    yield built
    await built.dispose()


class DividesByZeroAtCommit(SqlUnitOfWork):
    async def _before_commit(self) -> None:
        assert self._tx is not None
        await self._tx.execute(text("SELECT 1 / 0"))  # aborts the transaction


async def backend_pids(engine: AsyncEngine) -> set[int]:
    """The server pids of the pool's connections, all checked out at once (so both exist)."""

    async def one(ready: asyncio.Event) -> int:
        async with engine.connect() as conn:
            pid = int(await conn.scalar(text("SELECT pg_backend_pid()")))
            ready.set()
            await asyncio.sleep(0.05)
            return pid

    pids = await asyncio.gather(one(asyncio.Event()), one(asyncio.Event()))
    return set(pids)


async def test_a_failed_transaction_is_rolled_back_before_its_connection_is_lent_again(
    small_pool: AsyncEngine,
) -> None:
    backend = SqlBackend(small_pool)
    await backend.stock("MUG", "dc-east", 5)

    def failing(meta: CommandMeta) -> DividesByZeroAtCommit:
        return DividesByZeroAtCommit(small_pool, meta, backend.clock, backend.ids)

    failing_backend = Backend(failing, backend.clock, backend.ids)
    with pytest.raises(Exception, match="division by zero"):
        await failing_backend.stock("MUG", "dc-east", 9, sequence=2)

    # Both pooled connections work: an aborted transaction left on one would refuse everything.
    for sequence in (3, 4, 5):
        await backend.stock("MUG", "dc-east", sequence * 10, sequence=sequence)
    assert await backend.level("MUG", "dc-east") == (50, 0)


async def test_after_a_restart_one_command_fails_and_the_pool_renews_itself(
    small_pool: AsyncEngine,
) -> None:
    backend = SqlBackend(small_pool)
    await backend.stock("MUG", "dc-east", 5)
    pids = await backend_pids(small_pool)
    assert len(pids) == 2
    for pid in pids:  # as a database restart would
        await kill_backend(small_pool, pid)

    with pytest.raises(DatabaseUnavailable):
        await backend.stock("MUG", "dc-east", 7, sequence=2)

    # The other dead connection is pinged (suspect since the first was found dead) and replaced.
    await backend.stock("MUG", "dc-east", 8, sequence=3)
    await backend.stock("MUG", "dc-east", 9, sequence=4)
    assert await backend.level("MUG", "dc-east") == (9, 0)
    assert not (await backend_pids(small_pool)) & pids


async def test_after_a_restart_one_claim_fails_and_the_pool_renews_itself(
    small_pool: AsyncEngine,
) -> None:
    gate = SqlIdempotencyGate(small_pool, retention=timedelta(days=1), lease=timedelta(seconds=30))
    now = FixedClock().now()
    await gate.claim("key:web", "k0", "fp", now)
    pids = await backend_pids(small_pool)
    for pid in pids:
        await kill_backend(small_pool, pid)

    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)) as failed:
        await gate.claim("key:web", "k1", "fp", now)
    assert isinstance(translate(failed.value), DatabaseUnavailable)  # a 503, as the API answers

    assert (await gate.claim("key:web", "k2", "fp", now)).state is ClaimState.CLAIMED
    assert (await gate.claim("key:web", "k3", "fp", now)).state is ClaimState.CLAIMED
    assert (await gate.claim("key:web", "k0", "fp", now)).state is ClaimState.IN_PROGRESS
    assert not (await backend_pids(small_pool)) & pids


async def test_after_a_restart_one_projection_fails_and_the_pool_renews_itself(
    small_pool: AsyncEngine,
) -> None:
    projection = OrderProjection(SqlViewStore(small_pool), FixedClock())
    pids = await backend_pids(small_pool)
    for pid in pids:
        await kill_backend(small_pool, pid)
    no_such_order = uuid4()

    with pytest.raises(DatabaseUnavailable):
        await projection.catch_up(no_such_order, 1)

    for _ in range(2):  # both connections: the dead one left, the other was pinged and replaced
        with pytest.raises(NotYet):  # what the projection says of an order it cannot see yet
            await projection.catch_up(no_such_order, 1)


async def test_a_transaction_whose_block_fails_is_rolled_back(small_pool: AsyncEngine) -> None:
    backend = SqlBackend(small_pool)
    await backend.stock("MUG", "dc-east", 5)
    set_on_hand = stock_levels.update().values(on_hand=bindparam("b_on_hand"))

    async def write_then_fail() -> None:
        async with transaction(small_pool) as conn:
            await conn.execute(set_on_hand, {"b_on_hand": 99})
            raise RuntimeError("after the write")

    with pytest.raises(RuntimeError, match="after the write"):
        await write_then_fail()
    assert await backend.level("MUG", "dc-east") == (5, 0)

    for on_hand in (6, 7):  # both pooled connections take a new transaction
        async with transaction(small_pool) as conn:
            await conn.execute(set_on_hand, {"b_on_hand": on_hand})
    assert await backend.level("MUG", "dc-east") == (7, 0)


async def test_rows_answer_like_sqlalchemys_and_an_expanding_in_is_refused(
    postgres_engine: AsyncEngine,
) -> None:
    await SqlBackend(postgres_engine).stock("MUG", "dc-east", 5)
    async with postgres_engine.connect() as conn:
        statements = await DirectStatements.begin(conn)
        by_sku = select(stock_levels.c.sku, stock_levels.c.on_hand).where(
            stock_levels.c.sku == "MUG"
        )
        assert (await statements.execute(by_sku)).one() == ("MUG", 5)
        assert (await statements.execute(by_sku)).first().on_hand == 5
        nothing = by_sku.where(stock_levels.c.on_hand < 0)
        assert (await statements.execute(nothing)).first() is None
        assert (await statements.execute(nothing)).scalar() is None
        with pytest.raises(NoResultFound):
            (await statements.execute(nothing)).one()
        given = select(stock_levels.c.on_hand).where(stock_levels.c.sku == bindparam("b_sku"))
        literal = given.limit(1)  # a LIMIT is a parameter with its own value
        assert (await statements.execute(literal, {"b_sku": "MUG"})).scalars() == [5]
        with pytest.raises(KeyError, match="b_sku"):
            await statements.execute(given, {})
        with pytest.raises(ValueError, match="expanding IN or a callable"):
            await statements.execute(
                select(stock_levels).where(stock_levels.c.sku.in_(["MUG", "CUP"]))
            )
        await statements.rollback()


async def test_a_statement_cut_short_by_a_cancellation_leaves_a_usable_pool(
    small_pool: AsyncEngine,
) -> None:
    """asyncpg cancels the statement on the server; the connection goes back to the pool usable."""

    async def sleeps() -> None:
        async with one_statement(small_pool) as conn:
            await conn.execute(select(func.pg_sleep(5)))

    task = asyncio.create_task(sleeps())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    for _ in range(3):  # every pooled connection answers at once
        async with one_statement(small_pool) as conn:
            assert (await conn.execute(select(literal(1)))).scalar() == 1
