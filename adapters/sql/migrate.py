"""Schema migrations with Alembic: `orderhub migrate` brings any database to the newest schema."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade to `revision`; running it again changes nothing."""
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


@cache
def _scripts() -> ScriptDirectory:
    """This code's migrations, read from their files once per process (readiness asks at every
    probe)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str | None:
    """The newest revision this code knows."""
    return _scripts().get_current_head()


def known_revision(revision: str) -> bool:
    """Whether this code has a migration of that name (a database migrated by newer code has
    one it does not)."""
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def schema_behind(current: str | None) -> bool:
    """Whether a database at `current` lacks migrations this code needs (None: never migrated).
    A revision this code does not know is newer than it (a rollback of the code): not behind."""
    if current is None:
        return True
    return known_revision(current) and current != head_revision()
