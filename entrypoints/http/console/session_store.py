"""Where console sessions live: in this process's memory (one API process: `make run`), or in
Redis, shared by every API process, so that any of them serves any signed-in agent."""

from __future__ import annotations

from datetime import timedelta

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

#: The prefix of every session's Redis key (`orderhub:console:<session id>`), apart from the
#: broker's and the rate limits' keys when they share one Redis database.
NAMESPACE = "orderhub:console"
#: How long a session lookup waits for Redis: a console page fails soon rather than hangs.
REDIS_TIMEOUT_SECONDS = 2.0


class SessionsUnavailable(Exception):
    """Raised when the shared session store (Redis) cannot be reached: no console page can
    tell who is signed in, so none is shown (the API, which needs no session, is unaffected)."""


class SharedSessionStore(RedisStore):
    """Litestar's Redis store (each session expires in Redis with itself), its Redis failures
    raised as `SessionsUnavailable`, which the console answers with a 503 page."""

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        try:
            await super().set(key, value, expires_in)
        except RedisError as e:
            raise SessionsUnavailable from e

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        try:
            return await super().get(key, renew_for)
        except RedisError as e:
            raise SessionsUnavailable from e

    async def delete(self, key: str) -> None:
        try:
            await super().delete(key)
        except RedisError as e:
            raise SessionsUnavailable from e

    async def exists(self, key: str) -> bool:
        try:
            return await super().exists(key)
        except RedisError as e:
            raise SessionsUnavailable from e


def session_store(url: str) -> Store:
    """`memory://`, or a `redis://` URL. Nothing connects until the first session is used."""
    if url.startswith("memory://"):
        return MemoryStore()
    client = Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    return SharedSessionStore(client, namespace=NAMESPACE, handle_client_shutdown=True)
