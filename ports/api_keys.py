"""API keys: who is calling, in which role, for which channel or back-office sources."""

from __future__ import annotations

from dataclasses import dataclass
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


class ApiKeyStore(Protocol):
    async def create(
        self,
        role: Role,
        channel: str | None,
        label: str | None,
        sources: frozenset[Source] = frozenset(),
    ) -> tuple[Principal, str]:
        """A new key; returns the principal and the secret, which is shown once and only hashed.
        A channel key needs its channel and a system key at least one source; no other role takes
        either (`ValueError` naming the option)."""
        ...

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal of a valid, unrevoked key, or None. Answers may be a few seconds old."""
        ...

    def vouched_for(self, secret: str) -> bool:
        """Whether this key was found valid lately (within the hour), from memory, no I/O: such
        a key is looked up even for a caller whose address failed authentication too often.
        False says only that it is not known so, not that it is invalid."""
        ...

    async def is_active(self, key_id: UUID) -> bool:
        """Whether the key with this id exists and is not revoked, asked of the store itself
        (never of a cache): sessions opened with a key re-check it with this."""
        ...
