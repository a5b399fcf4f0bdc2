"""API keys: who is calling, in which role, for which channel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class Role(StrEnum):
    CHANNEL = "channel"  #: commands and reads for its own channel's orders only
    AGENT = "agent"  #: reads everything; returns, holds, case links
    SYSTEM = "system"  #: inbound back-office events
    OPS = "ops"  #: operations


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: UUID
    role: Role
    channel: str | None = None

    @property
    def actor(self) -> str:
        """How this caller appears on events and in logs (never the key itself): role, channel
        for a channel key, and the key's id, e.g. `channel:web:9f2c…`, `agent:41ab…`."""
        scope = f"{self.role}:{self.channel}" if self.channel else str(self.role)
        return f"{scope}:{self.key_id}"


class ApiKeyStore(Protocol):
    async def create(
        self, role: Role, channel: str | None, label: str | None
    ) -> tuple[Principal, str]:
        """A new key; returns the principal and the secret, which is shown once and only hashed."""
        ...

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal of a valid, unrevoked key, or None."""
        ...

    async def is_active(self, key_id: UUID) -> bool:
        """Whether the key with this id exists and is not revoked, asked of the store itself
        (never of a cache): sessions opened with a key re-check it with this."""
        ...
