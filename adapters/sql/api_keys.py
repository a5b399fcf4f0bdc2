"""API keys in SQL: only a SHA-256 of each key is stored; lookups are cached for a few seconds,
valid keys and unknown ones apart, so that a flood of unknown keys never pushes a valid one out."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from uuid import UUID

from cachetools import TTLCache
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.schema import api_keys
from ports.api_keys import Principal, Role, Source
from ports.clock import Clock

logger = logging.getLogger("orderhub.keys")

#: Keys are 256 random bits: a plain SHA-256 is enough (no dictionary to guess from).
KEY_PREFIX = "ohk_"


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SqlApiKeys:
    """`engine` writes new keys; lookups go through `lookups` (the read pool, when there is one:
    a flood of unknown keys must not queue on the pool that place-order uses), at most
    `concurrent_lookups` at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        cache_seconds: float = 4.0,
        *,
        lookups: AsyncEngine | None = None,
        concurrent_lookups: int = 4,
        cache_size: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._lookups = lookups or engine
        self._clock = clock
        #: Valid keys, least recently used out first: only other valid keys ever push one out.
        self._valid: TTLCache[str, Principal] = TTLCache(cache_size, cache_seconds, timer)
        #: Keys found valid within the hour (`vouched_for`); a revoked one stays here, harmlessly:
        #: it only lets its lookups through, which then find it revoked.
        self._vouched: TTLCache[str, bool] = TTLCache(cache_size, 3600, timer)
        #: Unknown and revoked keys, briefly: a key created a moment ago is found soon.
        self._unknown: TTLCache[str, bool] = TTLCache(cache_size, min(cache_seconds, 2.0), timer)
        self._lookup_slots = asyncio.Semaphore(concurrent_lookups)
        #: Unbound system keys this process has already warned about (once each, not per request).
        self._warned: set[uuid.UUID] = set()

    async def create(
        self,
        role: Role,
        channel: str | None,
        label: str | None = None,
        sources: frozenset[Source] = frozenset(),
    ) -> tuple[Principal, str]:
        if (role is Role.CHANNEL) != bool(channel):
            raise ValueError("a channel key needs --channel, and only a channel key takes one")
        if (role is Role.SYSTEM) != bool(sources):
            raise ValueError(
                "a system key needs --source (the back-office system it speaks for), "
                "and only a system key takes one"
            )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        principal = Principal(
            uuid.uuid4(),
            role,
            channel if role is Role.CHANNEL else None,
            frozenset(sources) if role is Role.SYSTEM else None,
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=principal.key_id,
                    key_hash=key_hash(secret),
                    role=role.value,
                    channel=principal.channel,
                    sources=_sources_text(principal.sources),
                    label=label,
                    created_at=self._clock.now(),
                )
            )
        return principal, secret

    def vouched_for(self, secret: str) -> bool:
        return key_hash(secret) in self._vouched

    async def authenticate(self, secret: str) -> Principal | None:
        digest = key_hash(secret)
        if (principal := self._valid.get(digest)) is not None:
            return principal
        if digest in self._unknown:
            return None
        async with self._lookup_slots, self._lookups.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        api_keys.c.id, api_keys.c.role, api_keys.c.channel, api_keys.c.sources
                    ).where(api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None))
                )
            ).first()
        if row is None:
            self._unknown[digest] = True
            return None
        principal = Principal(row.id, Role(row.role), row.channel, _sources(row.sources))
        if principal.unbound_system_key:
            self._warn_unbound(principal)
        self._valid[digest], self._vouched[digest] = principal, True
        return principal

    async def is_active(self, key_id: UUID) -> bool:
        async with self._lookups.connect() as conn:  # the read pool, as lookups
            found = await conn.execute(
                select(api_keys.c.id).where(
                    api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
                )
            )
        return found.first() is not None

    def _warn_unbound(self, principal: Principal) -> None:
        if principal.key_id in self._warned:
            return
        self._warned.add(principal.key_id)
        logger.warning(
            "system key %s is bound to no source and may send events as any back-office system; "
            "replace it with one created with --source (docs/configuration.md)",
            principal.key_id,
        )


def _sources_text(sources: frozenset[Source] | None) -> str | None:
    return ",".join(sorted(sources)) if sources else None


def _sources(text: str | None) -> frozenset[Source] | None:
    return frozenset(Source(s) for s in text.split(",")) if text else None
