"""Integration fixtures: the real PostgreSQL on 127.0.0.1:5432 (a database per run) and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.engine import create_engine
from tests.integration.backends import Backend, MemoryBackend, SqlBackend
from tests.integration.databases import TABLES, postgres_database, sqlite_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sqlite_database(str(tmp_path_factory.mktemp("sqlite"))) as url:
        yield url


async def _emptied(url: str) -> AsyncEngine:
    engine = create_engine(url, pool_size=20)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {TABLES}"))
        else:
            for table in TABLES.split(", "):
                await conn.execute(text(f"DELETE FROM {table}"))
    return engine


@pytest.fixture
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await _emptied(postgres_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = await _emptied(sqlite_url)
    yield engine
    await engine.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The write side on each store in turn: one contract, three implementations."""
    if request.param == "memory":
        return MemoryBackend()
    engine = request.getfixturevalue(f"{request.param}_engine")
    return SqlBackend(engine)
