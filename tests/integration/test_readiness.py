"""Readiness (PRODUCT.md §8.7) names what is down: the database, a schema older than the code,
the broker; each check says its kind of failure and nothing more (no address, no secret)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.dramatiq.broker import make_broker
from adapters.sql.engine import create_engine
from adapters.sql.migrate import head_revision, migrate
from entrypoints.readiness import Readiness


async def test_a_migrated_database_and_a_live_broker_are_ready(
    postgres_engine: AsyncEngine,
) -> None:
    health = await Readiness(postgres_engine, make_broker("redis://127.0.0.1:6379/6")).check()

    assert (health.status, health.checks) == (
        "ok", {"database": "ok", "schema": "ok", "broker": "ok"}
    )  # fmt: skip


async def test_a_database_never_migrated_is_not_ready(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    try:
        health = await Readiness(engine, None).check()
    finally:
        await engine.dispose()

    assert health.status == "unavailable"
    assert health.checks["schema"] == (
        f"behind: at nothing, the code needs {head_revision()} (orderhub migrate)"
    )
    assert health.checks["database"] == "ok"


async def test_a_schema_older_than_the_code_is_not_ready(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrate(engine, "0001")
        behind = await Readiness(engine, None).check()
        await migrate(engine)
        caught_up = await Readiness(engine, None).check()
    finally:
        await engine.dispose()

    assert behind.status == "unavailable"
    assert behind.checks["schema"].startswith("behind: at 0001")
    assert caught_up.status == "ok"


async def test_a_database_away_is_named_without_its_address_or_password() -> None:
    password = "s3cret-in-the-url"
    engine = create_engine(f"postgresql+asyncpg://orderhub:{password}@127.0.0.1:1/orderhub")
    try:
        health = await Readiness(engine, None).check()
    finally:
        await engine.dispose()

    assert health.status == "unavailable"
    assert health.checks["database"].startswith("unavailable: ")
    assert password not in str(health.checks)
    assert "127.0.0.1" not in str(health.checks)


async def test_a_broker_away_is_named(postgres_engine: AsyncEngine) -> None:
    health = await Readiness(postgres_engine, make_broker("redis://127.0.0.1:1/0")).check()

    assert health.status == "unavailable"
    assert health.checks["broker"].startswith("unavailable: ")
    assert health.checks["database"] == "ok"
