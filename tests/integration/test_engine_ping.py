"""Pooled connections are pinged only after they sat idle a while (`adapters/sql/engine.py`):
an idle connection whose server side died is replaced without anyone noticing; one used a
moment ago is not pinged, fails its statement once, and that failure renews the whole pool."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from adapters.sql import engine as engines

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(postgres_url: str, request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """Two connections at most; each test says after how long back in the pool one is pinged."""
    built = engines.create_engine(postgres_url, pool_size=2, ping_after_idle=request.param)
    yield built
    await built.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def kill_backend(engine: AsyncEngine, pid: int) -> None:
    """Ends the server side of a pooled connection, as a database restart would."""
    admin = create_async_engine(engine.url, poolclass=NullPool)
    async with admin.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    await admin.dispose()


@pytest.mark.parametrize("engine", [0.0], indirect=True)  # everything counts as idle
async def test_an_idle_connection_that_died_is_replaced_on_checkout(engine: AsyncEngine) -> None:
    pid = await backend_pid(engine)
    await kill_backend(engine, pid)

    assert await backend_pid(engine) != pid  # pinged, found dead, replaced: no error


@pytest.mark.parametrize("engine", [3600.0], indirect=True)  # nothing is pinged
async def test_a_connection_used_a_moment_ago_fails_once_then_the_pool_is_renewed(
    engine: AsyncEngine,
) -> None:
    pid = await backend_pid(engine)
    await kill_backend(engine, pid)

    with pytest.raises(DBAPIError) as failed:
        await backend_pid(engine)
    assert failed.value.connection_invalidated

    assert await backend_pid(engine) != pid
