"""Throwaway databases for one test run: a PostgreSQL database of its own, or a SQLite file."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from adapters.sql.engine import create_engine
from adapters.sql.migrate import migrate

PG_HOST = os.environ.get("ORDERHUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ORDERHUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("ORDERHUB_TEST_PG_USER", "postgres")

TABLES = (
    "order_returns, backorder_waits, stock_levels, outbox, orders, inbox, deliveries, dead_letters, inbound_deferred, order_views, order_view_cases, order_view_returns, timeline_entries, "
    "idempotency_keys, api_keys, remote_circuits, relay_minutes, webhook_subscriptions, webhook_sends"
)


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrated(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, migrated database named after this run; dropped afterwards."""
    name = f"orderhub_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrated(pg_url(name)))
        yield pg_url(name)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def sqlite_database(directory: str) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{directory}/orderhub-test.db"
    asyncio.run(_migrated(url))
    yield url
