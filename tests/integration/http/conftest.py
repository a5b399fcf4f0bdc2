"""The HTTP app built from the real container, on a throwaway database, driven by httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FixedClock
from entrypoints.container import Container, build_container
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from ports.api_keys import Role, Source


@dataclass
class Api:
    client: AsyncClient
    container: Container
    clock: FixedClock
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


async def make_api(
    engine: AsyncEngine,
    prepare: Callable[[Container], None] | None = None,
    **settings: object,
) -> AsyncIterator[Api]:
    """The app on `engine`; `/metrics` reads the hub's state at every scrape (tests check it
    right after changing it; tests/unit/entrypoints/test_hub_state.py checks the spacing).
    `prepare` may override the container's providers before the app is built from them."""
    url = engine.url.render_as_string(hide_password=False)
    settings = {"metrics_state_seconds": 0, **settings}
    container = build_container(replace(Settings(), database_url=url, **settings))  # type: ignore[arg-type]
    clock = FixedClock()
    container.clock.override(clock)
    if prepare is not None:
        prepare(container)
    app = create_app(container)
    keys = {}
    for who, role, channel, sources in [
        ("web", Role.CHANNEL, "web", frozenset()),
        ("pos", Role.CHANNEL, "pos", frozenset()),
        ("agent", Role.AGENT, None, frozenset()),
        # The whole back office in one key, so that tests send from every source with it.
        ("system", Role.SYSTEM, None, frozenset(Source)),
        ("erp", Role.SYSTEM, None, frozenset({Source.ERP})),
        ("ops", Role.OPS, None, frozenset()),
    ]:
        _, keys[who] = await container.api_keys().create(role, channel, who, sources)
    async with AsyncClient(
        transport=ASGITransport(app=app), base_url="http://orderhub.test"
    ) as client:
        yield Api(client, container, clock, keys)
    await container.engine().dispose()
    await container.read_engine().dispose()


@pytest.fixture
async def api(sqlite_engine: AsyncEngine) -> AsyncIterator[Api]:
    async for built in make_api(sqlite_engine):
        yield built


@pytest.fixture
async def pg_api(postgres_engine: AsyncEngine) -> AsyncIterator[Api]:
    async for built in make_api(postgres_engine, db_pool_size=60):
        yield built
