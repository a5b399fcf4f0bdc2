"""In-memory idempotency keys, with the same semantics as the SQL ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters.memory.store import InMemoryStore
from ports.idempotency import Claim, ClaimLost, ClaimState, StoredResponse, verdict


@dataclass
class IdempotencyRecord:
    fingerprint: str
    token: str
    locked_until: datetime
    expires_at: datetime
    response: StoredResponse | None = None


class InMemoryIdempotencyGate:
    def __init__(self, store: InMemoryStore, retention: timedelta, lease: timedelta) -> None:
        self._store = store
        self._retention = retention
        self._lease = lease

    async def claim(self, principal: str, key: str, fingerprint: str, now: datetime) -> Claim:
        records = self._store.idempotency
        record = records.get((principal, key))
        if (
            record is None
            or record.expires_at <= now
            or (record.response is None and record.locked_until <= now)
        ):
            token = str(uuid.uuid4())
            records[(principal, key)] = IdempotencyRecord(
                fingerprint, token, now + self._lease, now + self._retention
            )
            return Claim(ClaimState.CLAIMED, token=token)
        return verdict(record.fingerprint, fingerprint, record.response)

    async def release(self, principal: str, key: str, token: str) -> None:
        record = self._store.idempotency.get((principal, key))
        if record is not None and record.token == token and record.response is None:
            del self._store.idempotency[(principal, key)]

    async def purge_expired(self, now: datetime) -> int:
        expired = [k for k, r in self._store.idempotency.items() if r.expires_at <= now]
        for k in expired:
            del self._store.idempotency[k]
        return len(expired)


class InMemoryIdempotencyLog:
    def __init__(self) -> None:
        self.completed: dict[tuple[str, str], tuple[str, StoredResponse]] = {}

    def complete(self, principal: str, key: str, token: str, response: StoredResponse) -> None:
        self.completed[(principal, key)] = (token, response)

    def ensure_claims_held(self, store: InMemoryStore) -> None:
        for k, (token, _) in self.completed.items():
            record = store.idempotency.get(k)
            if record is None or record.token != token or record.response is not None:
                raise ClaimLost(f"idempotency key {k[1]!r} was taken over")

    def flush(self, store: InMemoryStore) -> None:
        for k, (_, response) in self.completed.items():
            store.idempotency[k].response = response
