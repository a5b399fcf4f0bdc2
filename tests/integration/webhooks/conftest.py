"""Webhooks end to end: the API side with its relay, a Dramatiq worker on Redis (database 15),
PostgreSQL, and a real HTTP receiver in the test process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import redis
from cryptography.fernet import Fernet
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from domain import commands as c
from entrypoints.http.app import create_app
from entrypoints.worker_process import start_worker
from ports.api_keys import Role
from tests.integration.delivery.conftest import Pipeline, build_pipeline
from tests.integration.webhooks.receiver import Receiver
from tests.redis_db import emptied

#: A Redis database of these tests' own (0 and 8–14 belong to others), emptied around each test.
REDIS_URL = "redis://127.0.0.1:6379/15"
SKU = "MUG"


@pytest.fixture
def redis_15() -> Iterator[redis.Redis]:
    with emptied(REDIS_URL) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    built = Receiver()
    built.start()
    yield built
    if built._server is not None:
        built.stop()


@pytest.fixture
async def hub(postgres_engine: AsyncEngine, redis_15: redis.Redis) -> AsyncIterator[Pipeline]:
    built = await build_pipeline(
        postgres_engine.url.render_as_string(hide_password=False),
        broker_url=REDIS_URL,
        webhook_allow_private=True,  # the receiver is on loopback
        webhook_secret_key=Fernet.generate_key().decode(),
        # Orders are booked as they come (no catch-up job runs here to book orders that queued
        # behind older ones thought to be waiting for the ERP).
        erp_grace_seconds=600,
    )
    built.worker = start_worker(built.worker_side, threads=4)
    await built.run(c.ApplyStockSnapshot(sku=SKU, location="dc-east", on_hand=10_000, sequence=1))
    try:
        yield built
    finally:
        built.worker.stop(timeout=5000)
        await built.api.engine().dispose()


@pytest.fixture
async def ops(hub: Pipeline) -> AsyncIterator[AsyncClient]:
    """The HTTP API of the hub's API side, as an ops key calls it."""
    _, key = await hub.api.api_keys().create(Role.OPS, None, "ops", frozenset())
    app = create_app(hub.api)
    async with AsyncClient(
        transport=ASGITransport(app=app),
        base_url="http://orderhub.test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


async def eventually(
    pipeline: Pipeline, condition: Callable[[], Awaitable[bool] | bool], timeout: float = 60.0
) -> None:
    """Relay (new events, and deliveries due again, as the relay's loop does) and wait until
    `condition` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pipeline.relay_until_quiet()
        await pipeline.api.relay().republish_due()
        result = condition()
        if await result if isinstance(result, Awaitable) else result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s")
