"""Waking the relay the moment events commit: PostgreSQL NOTIFY from a trigger on the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

logger = logging.getLogger("orderhub.relay")

CHANNEL = "orderhub_outbox"


@contextlib.asynccontextmanager
async def outbox_notifications(database_url: str, wake: asyncio.Event) -> AsyncIterator[None]:
    """Set `wake` on every commit that wrote to the outbox. On SQLite, or when listening fails,
    nothing is set and the relay's short idle poll does the job."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield
        return
    connection: Any = None
    try:
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password,
            database=url.database,
        )  # fmt: skip
        await connection.add_listener(CHANNEL, lambda *_: wake.set())
    except (OSError, asyncpg.PostgresError) as e:
        logger.warning("cannot LISTEN for outbox notifications (%s); polling instead", e)
    try:
        yield
    finally:
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
