"""The inbox: which messages each consumer has already processed."""

from __future__ import annotations

from typing import Protocol


class Inbox(Protocol):
    async def seen(self, consumer: str, message_id: str) -> bool:
        """True when `consumer` already processed `message_id` (in a committed transaction)."""
        ...

    def add(self, consumer: str, message_id: str) -> None:
        """Mark the message processed when the unit of work commits. Two transactions adding the
        same message conflict at commit (`ConcurrencyConflict`), so only one of them lands."""
        ...
