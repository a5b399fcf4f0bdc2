"""Per-key rate limits shared through the real Redis, as several API processes would share them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.http.conftest import Api, make_api

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def limited(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    async for api in make_api(sqlite_engine, rate_limit="5/minute", rate_limit_storage=REDIS):
        yield api
    client = aioredis.from_url(REDIS)
    async for key in client.scan_iter("orderhub:ratelimit*"):
        await client.delete(key)
    await client.aclose()


async def test_a_key_over_its_limit_gets_429_with_retry_after_and_others_do_not(
    limited: Api,
) -> None:
    path = f"/v1/inventory/SKU-{uuid.uuid4().hex[:6]}"
    statuses = [
        (await limited.client.get(path, headers=limited.auth("web"))).status_code for _ in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2
    refused = await limited.client.get(path, headers=limited.auth("web"))
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await limited.client.get(path, headers=limited.auth("agent"))).status_code == 200
    assert (await limited.client.get("/health/live")).status_code == 200
