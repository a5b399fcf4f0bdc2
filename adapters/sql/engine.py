"""Engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), set up for short transactions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from outbox.codec import decode_json, encode_json


def create_engine(
    url: str, *, pool_size: int = 10, pool_timeout: float = 2.0, for_writes: bool = True
) -> AsyncEngine:
    """An engine that fails fast when the database is away (pre-ping, short pool timeout).

    On SQLite, `for_writes=False` gives an engine whose transactions only read: they start
    deferred and never queue behind writers (WAL lets them read while one writes).
    """
    parsed = make_url(url)
    common: dict[str, Any] = {"json_serializer": encode_json, "json_deserializer": decode_json}
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30}, **common)
        _make_sqlite_transactional(engine, immediate=for_writes)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"timeout": 5, "command_timeout": 30},
        **common,
    )


def _make_sqlite_transactional(engine: AsyncEngine, *, immediate: bool) -> None:
    """SQLite: WAL, a busy timeout, foreign keys, and `BEGIN IMMEDIATE` so that two writers queue
    on the write lock up front instead of failing to upgrade a read lock mid-transaction."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
