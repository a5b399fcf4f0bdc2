"""API keys: who is calling, in which role, for which channel or back-office sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class Source(StrEnum):
    """The back-office systems that send inbound events (`POST /v1/inbound/{source}`)."""

    ERP = "erp"
    WAREHOUSE = "warehouse"
    PAYMENT = "payment"
    CRM = "crm"


class Role(StrEnum):
    CHANNEL = "channel"  #: commands and reads for its own channel's orders only
    AGENT = "agent"  #: reads everything; returns, holds, case links
    SYSTEM = "system"  #: inbound back-office events, from the sources the key is bound to
    OPS = "ops"  #: operations


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: UUID
    role: Role
    channel: str | None = None
    #: The sources a system key speaks for. None: a system key created before keys were bound to
    #: sources, which still speaks for any source until it is replaced (docs/configuration.md).
    sources: frozenset[Source] | None = None
    #: Which of the key's secrets this caller used: 0 at creation, one more at each rotation.
    #: Console sessions remember it, so that a session opened with a rotated-out secret ends
    #: with that secret's grace.
    generation: int = 0

    @property
    def unbound_system_key(self) -> bool:
        """A system key from before sources were bound: it may speak for any back-office system."""
        return self.role is Role.SYSTEM and self.sources is None

    def speaks_for(self, source: Source) -> bool:
        """Whether this key may send events as `source` (an unbound system key still may)."""
        return self.role is Role.SYSTEM and (self.sources is None or source in self.sources)

    @property
    def actor(self) -> str:
        """How this caller appears on events and in logs (never the key itself): role, channel
        for a channel key, and the key's id, e.g. `channel:web:9f2c…`, `agent:41ab…`."""
        scope = f"{self.role}:{self.channel}" if self.channel else str(self.role)
        return f"{scope}:{self.key_id}"


def key_scope(
    role: Role, channel: str | None, sources: frozenset[Source]
) -> tuple[str | None, frozenset[Source] | None]:
    """The channel and the sources a new key of `role` is bound to: a channel key needs its
    channel and a system key at least one source, and no other role takes either (`ValueError`
    naming the option)."""
    if (role is Role.CHANNEL) != bool(channel):
        raise ValueError("a channel key needs --channel, and only a channel key takes one")
    if (role is Role.SYSTEM) != bool(sources):
        raise ValueError(
            "a system key needs --source (the back-office system it speaks for), "
            "and only a system key takes one"
        )
    return (channel if role is Role.CHANNEL else None), (
        frozenset(sources) if role is Role.SYSTEM else None
    )


class UnknownKey(LookupError):
    """Raised when no key has the id given."""

    def __init__(self, key_id: UUID) -> None:
        super().__init__(f"no key has the id {key_id}")
        self.key_id = key_id


class RetiredKey(Exception):
    """Raised when a revoked or expired key is asked for a new secret: it would bring the key
    back. Create a new key instead."""

    def __init__(self, key_id: UUID, state: str) -> None:
        super().__init__(f"key {key_id} is {state}; create a new key instead")
        self.key_id = key_id
        self.state = state


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRecord:
    """A key as an operator sees it (`orderhub keys list`): never its secret nor its hash, and
    the rule that says which of its secrets are accepted when."""

    key_id: UUID
    role: Role
    channel: str | None
    sources: frozenset[Source] | None
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    #: The current secret's generation (the number of rotations so far).
    generation: int
    #: Until when the secret the last rotation replaced is still accepted (None: no such
    #: secret, or a rotation with no grace).
    grace_until: datetime | None

    def state(self, now: datetime) -> str:
        """`revoked`, `expired` or `active`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def accepts(self, generation: int, now: datetime) -> bool:
        """Whether the secret of `generation` opens the key at `now`: the key neither revoked
        nor expired, and that secret the current one, or the one before while its grace lasts."""
        if self.state(now) != "active":
            return False
        if generation == self.generation:
            return True
        return (
            generation == self.generation - 1
            and self.grace_until is not None
            and now < self.grace_until
        )

    def accepted_until(self, generation: int) -> datetime | None:
        """When the secret of `generation` stops being accepted if nothing else changes (None:
        not by the passing of time); a lookup cache keeps its answer no longer."""
        ends = [self.expires_at]
        if generation != self.generation:
            ends.append(self.grace_until)
        return min((end for end in ends if end is not None), default=None)

    def principal(self, generation: int) -> Principal:
        return Principal(self.key_id, self.role, self.channel, self.sources, generation)


class ApiKeyStore(Protocol):
    async def create(
        self,
        role: Role,
        channel: str | None,
        label: str | None,
        sources: frozenset[Source] = frozenset(),
        expires_in: timedelta | None = None,
    ) -> tuple[Principal, str]:
        """A new key; returns the principal and the secret, which is shown once and only hashed.
        A channel key needs its channel and a system key at least one source; no other role takes
        either (`ValueError` naming the option). `expires_in`: refused like a revoked key after
        that long (None: never)."""
        ...

    async def list_keys(self) -> list[KeyRecord]:
        """Every key, revoked and expired ones too, oldest first."""
        ...

    async def revoke(self, key_id: UUID) -> KeyRecord:
        """Refuse every secret of the key from now on (within the lookups' few seconds).
        Revoking a revoked key changes nothing: it keeps the time it was first revoked.
        Raises `UnknownKey`."""
        ...

    async def rotate(
        self, key_id: UUID, grace: timedelta, expires_in: timedelta | None = None
    ) -> tuple[Principal, str]:
        """A new secret for the same key (its id, role, channel and sources stay, so does the
        actor on events), shown once; the secret it replaces is accepted for `grace` more (zero:
        refused at once), a secret older than that no longer. `expires_in` sets a new expiry
        from now; None keeps the key's. Raises `UnknownKey`, or `RetiredKey` for a revoked or
        expired key."""
        ...

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal of an accepted secret (`KeyRecord.accepts`), or None. A revocation may
        take a few seconds to be seen; an expiry or the end of a grace is seen at once."""
        ...

    def vouched_for(self, secret: str) -> bool:
        """Whether this key was found valid lately (within the hour), from memory, no I/O: such
        a key is looked up even for a caller whose address failed authentication too often.
        False says only that it is not known so, not that it is invalid."""
        ...

    async def is_active(self, key_id: UUID, generation: int) -> bool:
        """Whether the key with this id exists and its secret of `generation` is still accepted
        (`KeyRecord.accepts`), asked of the store itself (never of a cache): sessions opened
        with a key re-check it with this."""
        ...
