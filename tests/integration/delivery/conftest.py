"""A hub split as in production: the API side and a Dramatiq worker, on PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import redis
from dependency_injector import providers
from dramatiq import Worker
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.memory.remote import InMemoryCommerce, InMemoryCrm, InMemoryErp, InMemoryPayments
from entrypoints.container import Container, build_container
from entrypoints.settings import Settings
from entrypoints.worker_process import start_worker
from ports.unit_of_work import CommandMeta
from tests.redis_db import emptied

#: A Redis database of the tests' own, emptied before each test.
REDIS_URL = "redis://127.0.0.1:6379/9"
META = CommandMeta(actor="key:test", correlation_id="corr-delivery")


@dataclass
class Pipeline:
    api: Container  # the API and relay side
    worker_side: Container
    worker: Worker | None = None

    async def run(self, command: Any) -> Any:
        return await self.api.bus().handle(command, META)

    async def relay_until_quiet(self) -> int:
        relayed = 0
        while taken := await self.api.relay().relay_once():
            relayed += taken
        return relayed

    async def until(self, condition: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
        """Relay and wait until `condition` holds (bounded: fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.relay_until_quiet()
            if await condition():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"not reached within {timeout} s")


def _settings(url: str, **overrides: Any) -> Settings:
    return replace(Settings(), database_url=url, **overrides)


@pytest.fixture
def clean_redis() -> Iterator[redis.Redis]:
    with emptied(REDIS_URL) as client:
        yield client


#: Fast clocks for the tests: republish after 1 s, treat an order as waiting for the ERP at once.
FAST = {"delivery_timeout_seconds": 1, "erp_grace_seconds": 0}


async def build_pipeline(url: str, broker_url: str = REDIS_URL, **overrides: Any) -> Pipeline:
    settings = _settings(url, broker_url=broker_url, **{**FAST, **overrides})
    built = Pipeline(api=build_container(settings), worker_side=build_container(settings))
    built.api.actors()  # the relay publishes through the actors' queues
    # The back office as in-memory fakes: what each system was told is easy to read back.
    built.worker_side.erp.override(providers.Singleton(InMemoryErp))
    built.worker_side.crm.override(providers.Singleton(InMemoryCrm))
    built.worker_side.commerce.override(providers.Singleton(InMemoryCommerce))
    built.worker_side.payment.override(providers.Singleton(InMemoryPayments))
    return built


@pytest.fixture
async def pipeline(
    postgres_engine: AsyncEngine, clean_redis: redis.Redis
) -> AsyncIterator[Pipeline]:
    built = await build_pipeline(postgres_engine.url.render_as_string(hide_password=False))
    built.worker = start_worker(built.worker_side, threads=4)
    try:
        yield built
    finally:
        built.worker.stop(timeout=5000)
        await built.api.engine().dispose()
