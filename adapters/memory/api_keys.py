"""API keys in memory, held to the same contract as the SQL store (unit tests of sessions and
authentication); like it, only the hashes of the secrets are kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from uuid import UUID

from adapters.key_secrets import key_hash, new_secret
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


@dataclass(frozen=True, slots=True)
class _Stored:
    record: KeyRecord
    current: str
    previous: str | None = None


class InMemoryApiKeys:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[UUID, _Stored] = {}
        self._vouched: set[str] = set()

    async def create(
        self,
        role: Role,
        channel: str | None,
        label: str | None = None,
        sources: frozenset[Source] = frozenset(),
        expires_in: timedelta | None = None,
    ) -> tuple[Principal, str]:
        channel, bound = key_scope(role, channel, sources)
        secret, now = new_secret(), self._clock.now()
        record = KeyRecord(
            key_id=uuid.uuid4(), role=role, channel=channel, sources=bound, label=label,
            created_at=now, expires_at=now + expires_in if expires_in is not None else None,
            revoked_at=None, generation=0, grace_until=None,
        )  # fmt: skip
        self._keys[record.key_id] = _Stored(record, key_hash(secret))
        return record.principal(0), secret

    async def list_keys(self) -> list[KeyRecord]:
        return sorted(
            (s.record for s in self._keys.values()), key=lambda r: (r.created_at, r.key_id)
        )

    async def revoke(self, key_id: UUID) -> KeyRecord:
        stored = self._stored(key_id)
        if stored.record.revoked_at is None:
            stored = replace(stored, record=replace(stored.record, revoked_at=self._clock.now()))
            self._keys[key_id] = stored
        return stored.record

    async def rotate(
        self, key_id: UUID, grace: timedelta, expires_in: timedelta | None = None
    ) -> tuple[Principal, str]:
        if grace < timedelta(0):
            raise ValueError("the grace cannot be negative")
        stored, now = self._stored(key_id), self._clock.now()
        if (state := stored.record.state(now)) != "active":
            raise RetiredKey(key_id, state)
        secret = new_secret()
        record = replace(
            stored.record,
            generation=stored.record.generation + 1,
            grace_until=now + grace if grace else None,
            expires_at=now + expires_in if expires_in is not None else stored.record.expires_at,
        )
        self._keys[key_id] = _Stored(record, key_hash(secret), stored.current if grace else None)
        return record.principal(record.generation), secret

    async def authenticate(self, secret: str) -> Principal | None:
        digest = key_hash(secret)
        for stored in self._keys.values():
            if digest in (stored.current, stored.previous):
                generation = stored.record.generation - (digest != stored.current)
                if stored.record.accepts(generation, self._clock.now()):
                    self._vouched.add(digest)
                    return stored.record.principal(generation)
                return None
        return None

    def vouched_for(self, secret: str) -> bool:
        return key_hash(secret) in self._vouched

    async def is_active(self, key_id: UUID, generation: int) -> bool:
        stored = self._keys.get(key_id)
        return stored is not None and stored.record.accepts(generation, self._clock.now())

    def _stored(self, key_id: UUID) -> _Stored:
        if (stored := self._keys.get(key_id)) is None:
            raise UnknownKey(key_id)
        return stored
