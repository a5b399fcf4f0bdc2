"""Engines for PostgreSQL (asyncpg) and SQLite (aiosqlite), set up for short transactions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import msgspec
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(
    url: str,
    *,
    pool_size: int = 20,
    pool_timeout: float = 2.0,
    for_writes: bool = True,
    ping_after_idle: float | None = None,
) -> AsyncEngine:
    """An engine that fails fast when the database is away (ping when idle, short pool timeout).
    `ping_after_idle`: seconds back in the pool after which a connection is pinged before it is
    lent again (default `PING_AFTER_IDLE_SECONDS`).

    On PostgreSQL the pool opens up to `pool_size` connections as they are needed and keeps them
    (no overflow): an overflow connection is closed when it is returned, so a load above the pool
    size opened and closed connections all the time, each new one preparing every statement and
    setting up its codecs again (place-order: ~370 req/s with 10 + 10 overflow under 16 clients,
    ~540 with 20 kept; bench/README.md).

    On SQLite, `for_writes=False` gives an engine whose transactions only read: they start
    deferred and never queue behind writers (WAL lets them read while one writes).
    """
    parsed = make_url(url)
    common: dict[str, Any] = {
        "json_serializer": _json_text,
        "json_deserializer": msgspec.json.decode,
    }
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30}, **common)
        _make_sqlite_transactional(engine, immediate=for_writes)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        connect_args={"timeout": 5, "command_timeout": 30},
        **common,
    )
    _ping_when_idle(engine, PING_AFTER_IDLE_SECONDS if ping_after_idle is None else ping_after_idle)
    return engine


def _json_text(value: Any) -> str:
    """JSON columns' text, by msgspec: dicts, events (dataclasses), Decimals as strings, UUIDs
    and datetimes."""
    return msgspec.json.encode(value).decode()


#: A pooled connection back in the pool for less than this is taken as alive without a ping.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """`pool_pre_ping`, but only for connections idle a while, or returned before a connection of
    this pool was found dead (`suspect_pooled_connections`). The asyncpg ping is three round trips
    (BEGIN, `;`, ROLLBACK) on every checkout, ~15 % of a command's round trips and of a
    delivery's CPU. A dead connection that skipped its ping fails its statement instead; that
    marks every connection returned before it as suspect, so after a database restart one request
    or delivery per process fails (503, or a retried delivery) instead of none."""
    _suspect_before[engine.sync_engine] = 0.0

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None:
            return  # a new connection
        idle = time.monotonic() - checked_in_at >= after
        if not idle and checked_in_at > _suspect_before.get(engine.sync_engine, 0.0):
            return  # in use a moment ago, and nothing was found dead since
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as e:
            raise DisconnectionError("the pooled connection is gone") from e  # the pool retries


#: Per engine: connections returned to the pool before this moment are pinged on checkout.
_suspect_before: WeakKeyDictionary[Engine, float] = WeakKeyDictionary()


def suspect_pooled_connections(engine: AsyncEngine) -> None:
    """A connection of this engine was found dead: ping the others before lending them (what
    SQLAlchemy does on its own after a disconnect error, for work that runs below it)."""
    _suspect_before[engine.sync_engine] = time.monotonic()


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


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database; raises when it does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def database_files(url: str) -> list[Path] | None:
    """The files a SQLite database URL keeps its data in (the database, its WAL and journal);
    None for a database server."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return [Path(parsed.database + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def connections_in_use(engine: AsyncEngine) -> int:
    """Connections lent out of `engine`'s pool now. Pools that keep no count (SQLite's in-memory
    `StaticPool`, a `NullPool`) answer 0."""
    checked_out = getattr(engine.pool, "checkedout", None)
    return int(checked_out()) if checked_out is not None else 0
