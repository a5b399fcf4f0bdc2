"""The relay's minute tallies on the in-memory store, with the SQL ones' rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.memory.store import InMemoryStore
from ports.relay_minutes import RelayMinute


class InMemoryRelayMinutes:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def add(self, minutes: Sequence[RelayMinute]) -> None:
        held = self._store.relay_minutes
        for tally in minutes:
            before = held.get(tally.minute)
            held[tally.minute] = tally if before is None else before.combined(tally)

    async def between(self, start: datetime, end: datetime) -> list[RelayMinute]:
        held = self._store.relay_minutes
        return [held[m] for m in sorted(held) if start <= m < end]

    async def prune(self, before: datetime) -> None:
        for minute in [m for m in self._store.relay_minutes if m < before]:
            del self._store.relay_minutes[minute]
