"""API keys in SQL: only a SHA-256 of each secret is stored (the current one, and the one the last
rotation replaced while its grace lasts); lookups are cached for a few seconds, valid keys and
unknown ones apart, so that a flood of unknown keys never pushes a valid one out."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from cachetools import TTLCache
from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.key_secrets import key_hash, new_secret
from adapters.sql.schema import api_keys
from ports.api_keys import (
    KeyRecord,
    Principal,
    RetiredKey,
    Role,
    Source,
    UnknownKey,
    key_scope,
)
from ports.clock import Clock

logger = logging.getLogger("orderhub.keys")

#: Every column but the hashes: what a `KeyRecord` is made of.
_RECORD = (
    api_keys.c.id,
    api_keys.c.role,
    api_keys.c.channel,
    api_keys.c.sources,
    api_keys.c.label,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
    api_keys.c.generation,
    api_keys.c.previous_valid_until,
)


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
        #: Valid keys, least recently used out first: only other valid keys ever push one out;
        #: each with the time its secret stops being accepted (an expiry, a grace's end), which a
        #: hit checks, so the cache never outlives it.
        self._valid: TTLCache[str, tuple[Principal, datetime | None]] = TTLCache(
            cache_size, cache_seconds, timer
        )
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
        expires_in: timedelta | None = None,
    ) -> tuple[Principal, str]:
        channel, bound = key_scope(role, channel, sources)
        principal = Principal(uuid.uuid4(), role, channel, bound)
        secret, now = new_secret(), self._clock.now()
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(api_keys).values(
                    id=principal.key_id,
                    key_hash=key_hash(secret),
                    role=role.value,
                    channel=principal.channel,
                    sources=_sources_text(principal.sources),
                    label=label,
                    created_at=now,
                    expires_at=now + expires_in if expires_in is not None else None,
                )
            )
        return principal, secret

    async def list_keys(self) -> list[KeyRecord]:
        async with self._lookups.connect() as conn:
            rows = await conn.execute(
                select(*_RECORD).order_by(api_keys.c.created_at, api_keys.c.id)
            )
            return [_record(row) for row in rows]

    async def revoke(self, key_id: UUID) -> KeyRecord:
        async with self._engine.begin() as conn:
            # Only a key not revoked yet: a second revocation keeps the first one's time.
            await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self._clock.now())
            )
            return await _read(conn, key_id)

    async def rotate(
        self, key_id: UUID, grace: timedelta, expires_in: timedelta | None = None
    ) -> tuple[Principal, str]:
        if grace < timedelta(0):
            raise ValueError("the grace cannot be negative")
        secret, now = new_secret(), self._clock.now()
        changes: dict[str, Any] = {
            "key_hash": key_hash(secret),
            "generation": api_keys.c.generation + 1,
            # With no grace the replaced secret is forgotten at once, not kept until a time
            # already past.
            "previous_key_hash": api_keys.c.key_hash if grace else None,
            "previous_valid_until": now + grace if grace else None,
        }
        if expires_in is not None:
            changes["expires_at"] = now + expires_in
        async with self._engine.begin() as conn:
            rotated = await conn.execute(
                update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    api_keys.c.revoked_at.is_(None),
                    or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
                )
                .values(**changes)
            )
            record = await _read(conn, key_id)
            if rotated.rowcount == 0:
                raise RetiredKey(key_id, record.state(now))
        return record.principal(record.generation), secret

    def vouched_for(self, secret: str) -> bool:
        return key_hash(secret) in self._vouched

    async def authenticate(self, secret: str) -> Principal | None:
        digest = key_hash(secret)
        if (cached := self._valid.get(digest)) is not None:
            principal, until = cached
            if until is None or self._clock.now() < until:
                return principal
            del self._valid[digest]
        if digest in self._unknown:
            return None
        async with self._lookup_slots, self._lookups.connect() as conn:
            row = (
                await conn.execute(
                    select(*_RECORD, api_keys.c.key_hash).where(
                        or_(api_keys.c.key_hash == digest, api_keys.c.previous_key_hash == digest),
                        api_keys.c.revoked_at.is_(None),
                    )
                )
            ).first()
        if row is None:
            self._unknown[digest] = True
            return None
        record = _record(row)
        generation = record.generation if row.key_hash == digest else record.generation - 1
        if not record.accepts(generation, self._clock.now()):  # expired, or its grace over
            self._unknown[digest] = True
            return None
        principal = record.principal(generation)
        if principal.unbound_system_key:
            self._warn_unbound(principal)
        self._valid[digest] = (principal, record.accepted_until(generation))
        self._vouched[digest] = True
        return principal

    async def is_active(self, key_id: UUID, generation: int) -> bool:
        async with self._lookups.connect() as conn:  # the read pool, as lookups
            row = (await conn.execute(select(*_RECORD).where(api_keys.c.id == key_id))).first()
        return row is not None and _record(row).accepts(generation, self._clock.now())

    def _warn_unbound(self, principal: Principal) -> None:
        if principal.key_id in self._warned:
            return
        self._warned.add(principal.key_id)
        logger.warning(
            "system key %s is bound to no source and may send events as any back-office system; "
            "replace it with one created with --source (docs/configuration.md)",
            principal.key_id,
        )


async def _read(conn: AsyncConnection, key_id: UUID) -> KeyRecord:
    row = (await conn.execute(select(*_RECORD).where(api_keys.c.id == key_id))).first()
    if row is None:
        raise UnknownKey(key_id)
    return _record(row)


def _record(row: Any) -> KeyRecord:
    return KeyRecord(
        key_id=row.id,
        role=Role(row.role),
        channel=row.channel,
        sources=_sources(row.sources),
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        generation=row.generation,
        grace_until=row.previous_valid_until,
    )


def _sources_text(sources: frozenset[Source] | None) -> str | None:
    return ",".join(sorted(sources)) if sources else None


def _sources(text: str | None) -> frozenset[Source] | None:
    return frozenset(Source(s) for s in text.split(",")) if text else None
