"""The inbox of the in-memory fakes."""

from __future__ import annotations

from adapters.memory.store import InMemoryStore
from ports.unit_of_work import ConcurrencyConflict


class InMemoryInbox:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._pending: set[tuple[str, str]] = set()

    async def seen(self, consumer: str, message_id: str) -> bool:
        return (consumer, message_id) in self._store.inbox

    def add(self, consumer: str, message_id: str) -> None:
        self._pending.add((consumer, message_id))

    def ensure_new(self) -> None:
        if self._pending & self._store.inbox:
            raise ConcurrencyConflict("a message was processed meanwhile")

    def flush(self) -> None:
        self._store.inbox |= self._pending
