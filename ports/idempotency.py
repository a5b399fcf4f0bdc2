"""Idempotency keys: a request is claimed before it runs and completed in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredResponse:
    """What the first request answered, replayed byte for byte to its retries."""

    status: int
    headers: dict[str, str]
    body: bytes


class ClaimState(StrEnum):
    CLAIMED = "claimed"  #: first time: run the request
    REPLAY = "replay"  #: done before with the same request: answer the stored response
    MISMATCH = "mismatch"  #: done or running with a different request: 422
    IN_PROGRESS = "in_progress"  #: the same request is running right now: 409


@dataclass(frozen=True, slots=True)
class Claim:
    state: ClaimState
    response: StoredResponse | None = None
    #: Identifies this claim; completing requires it, so a request whose lease was taken over
    #: cannot also complete.
    token: str | None = None


class ClaimLost(Exception):
    """Raised at commit when the request's claim on its key was taken over after its lease
    ran out; the transaction is rolled back and nothing is applied twice."""


class IdempotencyGate(Protocol):
    """Claims and releases keys, each in a transaction of its own, so that concurrent requests
    with one key see each other."""

    async def claim(self, principal: str, key: str, fingerprint: str, now: datetime) -> Claim:
        """Claim `key` for this request, or say why not. A claim whose request died is taken over
        once its lease has passed; a key past its retention is a new key."""
        ...

    async def release(self, principal: str, key: str, token: str) -> None:
        """Forget the claim `token` names, whose request failed: nothing was stored, the client
        may retry. Only that claim: if its lease ran out and another request took the key over,
        the other request's claim stays."""
        ...

    async def purge_expired(self, now: datetime) -> int:
        """Delete records past their retention; returns how many."""
        ...


class IdempotencyLog(Protocol):
    """The unit of work's side: the response is stored in the command's own transaction."""

    def complete(self, principal: str, key: str, token: str, response: StoredResponse) -> None:
        """Store the response at commit; raises `ClaimLost` then if the claim is no longer ours."""
        ...


def verdict(stored: str, asked: str, response: StoredResponse | None) -> Claim:
    """The rule every gate follows for a key that is already taken: a request with fingerprint
    `asked` against the first request's `stored` one (and its response, once it completed)."""
    if stored != asked:
        return Claim(ClaimState.MISMATCH)
    if response is None:
        return Claim(ClaimState.IN_PROGRESS)
    return Claim(ClaimState.REPLAY, response)
