"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.key_secrets import key_hash
from adapters.sql.api_keys import SqlApiKeys
from adapters.sql.engine import create_engine
from adapters.sql.migrate import current_revision, migrate
from adapters.sql.schema import metadata
from ports.api_keys import Principal, Role
from tests.integration.databases import _admin, pg_url


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    return request.getfixturevalue(f"{request.param}_engine")


async def test_the_migrated_schema_matches_the_declared_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert diff == []


async def test_migrating_twice_changes_nothing(engine: AsyncEngine) -> None:
    before = await current_revision(engine)
    await migrate(engine)
    assert await current_revision(engine) == before is not None


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_the_events_kept_before_the_feed_get_their_orders_channel(
    database: str, tmp_path: Path
) -> None:
    """0011 on an outbox with events: each order's events get its channel, stock's none, and
    they all stand at txid 0, ahead of any event written afterwards."""
    async with _fresh_database(database, tmp_path) as url:
        engine = create_engine(url)
        try:
            await migrate(engine, "0010")
            order_id = uuid.uuid4()
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO orders (id, channel, channel_order_ref, status, version, "
                        "created_at, updated_at, state) VALUES (:id, 'pos', 'P-1', 'placed', 1, "
                        ":at, :at, '{}')"
                    ),
                    {"id": order_id.hex if database == "sqlite" else order_id, "at": AT},
                )
                for kind, stream in [("order", str(order_id)), ("stock", "SKU:dc")]:
                    await conn.execute(
                        text(
                            "INSERT INTO outbox (event_id, event_type, schema_version, "
                            "aggregate_type, aggregate_id, aggregate_version, occurred_at, "
                            "correlation_id, actor, payload) VALUES (:e, 'X', 1, :kind, :stream, "
                            "1, :at, 'c', 'a', '{}')"
                        ),
                        {"e": uuid.uuid4().hex if database == "sqlite" else uuid.uuid4(),
                         "kind": kind, "stream": stream, "at": AT},
                    )  # fmt: skip
            await migrate(engine)
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text("SELECT aggregate_type, channel, txid FROM outbox ORDER BY id")
                    )
                ).all()
            assert [tuple(r) for r in rows] == [("order", "pos", 0), ("stock", None, 0)]
        finally:
            await engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_keys_made_before_rotation_keep_working_and_can_be_rotated(
    database: str, tmp_path: Path
) -> None:
    """0012 on a key table with keys: each stands at generation 0 with no expiry, its secret
    still opens it, and it can be rotated and revoked like a new one."""
    async with _fresh_database(database, tmp_path) as url:
        engine = create_engine(url)
        try:
            await migrate(engine, "0011")
            key_id, secret = uuid.uuid4(), "ohk_made-before-0012"
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO api_keys (id, key_hash, role, channel, label, created_at) "
                        "VALUES (:id, :hash, 'channel', 'web', 'old', :at)"
                    ),
                    {"id": key_id.hex if database == "sqlite" else key_id,
                     "hash": key_hash(secret), "at": AT},
                )  # fmt: skip
            await migrate(engine)
            keys = SqlApiKeys(engine, FixedClock(AT))

            principal = await keys.authenticate(secret)
            assert principal == Principal(key_id, Role.CHANNEL, "web", None, 0)
            [record] = await keys.list_keys()
            assert (record.generation, record.expires_at, record.grace_until) == (0, None, None)
            rotated, _ = await keys.rotate(key_id, timedelta(0))
            assert (rotated.key_id, rotated.generation) == (key_id, 1)
            assert (await keys.revoke(key_id)).revoked_at == AT
        finally:
            await engine.dispose()


AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@asynccontextmanager
async def _fresh_database(database: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, not yet migrated."""
    if database == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/before-0011.db"
        return
    name = f"orderhub_test_0011_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
