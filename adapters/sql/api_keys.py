"""API keys in SQL: only a SHA-256 of each key is stored; lookups are cached for a few seconds."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import api_keys
from ports.api_keys import Principal, Role
from ports.clock import Clock

#: Keys are 256 random bits: a plain SHA-256 is enough (no dictionary to guess from).
KEY_PREFIX = "ohk_"


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SqlApiKeys:
    def __init__(self, engine: AsyncEngine, clock: Clock, cache_seconds: float = 10.0) -> None:
        self._engine = engine
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def create(
        self, role: Role, channel: str | None, label: str | None = None
    ) -> tuple[Principal, str]:
        if (role is Role.CHANNEL) != bool(channel):
            raise ValueError("a channel key needs --channel, and only a channel key takes one")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        principal = Principal(uuid.uuid4(), role, channel if role is Role.CHANNEL else None)
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=principal.key_id,
                    key_hash=key_hash(secret),
                    role=role.value,
                    channel=principal.channel,
                    label=label,
                    created_at=self._clock.now(),
                )
            )
        return principal, secret

    async def authenticate(self, secret: str) -> Principal | None:
        digest = key_hash(secret)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(api_keys.c.id, api_keys.c.role, api_keys.c.channel).where(
                        api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
                    )
                )
            ).first()
        principal = Principal(row.id, Role(row.role), row.channel) if row else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._cache_seconds, principal)
        return principal

    async def is_active(self, key_id: UUID) -> bool:
        # The adapter's one engine, as `authenticate`: on SQLite a write transaction (BEGIN
        # IMMEDIATE), held for one primary-key read, once per signed-in key every few seconds.
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(api_keys.c.id).where(
                    api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
                )
            )
        return found.first() is not None
