"""`orderhub_db_pool_connections_in_use` reads the connections a process's pool has lent out,
by engine, at each scrape."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.metrics import REGISTRY, watch_pool


def in_use(engine: str) -> float | None:
    return REGISTRY.get_sample_value("orderhub_db_pool_connections_in_use", {"engine": engine})


async def test_the_pool_gauge_follows_connections_lent_and_returned(
    postgres_engine: AsyncEngine,
) -> None:
    watch_pool("write", postgres_engine, 20)
    before = in_use("write")

    async with postgres_engine.connect(), postgres_engine.connect():
        during = in_use("write")
    after = in_use("write")

    assert (before, during, after) == (0, 2, 0)
    assert REGISTRY.get_sample_value("orderhub_db_pool_size", {"engine": "write"}) == 20
