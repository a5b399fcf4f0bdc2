"""API keys in SQL (SQLite and PostgreSQL): whether a key is active is read from the store."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from adapters.sql.api_keys import SqlApiKeys
from adapters.sql.schema import api_keys
from ports.api_keys import Role


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> AsyncEngine:
    return request.getfixturevalue(f"{request.param}_engine")


async def test_a_key_is_active_until_it_is_revoked_and_an_unknown_id_never_is(
    engine: AsyncEngine,
) -> None:
    clock = FixedClock()
    keys = SqlApiKeys(engine, clock)
    principal, secret = await keys.create(Role.AGENT, None, "desk")
    other, _ = await keys.create(Role.OPS, None, "ops")
    assert await keys.is_active(principal.key_id, 0)
    assert await keys.authenticate(secret) == principal  # now in the lookup cache

    async with engine.begin() as conn:
        await conn.execute(
            update(api_keys).where(api_keys.c.id == principal.key_id).values(revoked_at=clock.now())
        )

    assert not await keys.is_active(principal.key_id, 0)  # asked of the store, not of the cache
    assert await keys.is_active(other.key_id, 0)
    assert not await keys.is_active(uuid.uuid4(), 0)
