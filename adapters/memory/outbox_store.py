"""The relay's side of the outbox on the in-memory store. A claim's writes land when its block
ends normally, as a transaction's would; events and deliveries held by an open claim are skipped
by the others, of any relay over the same store, as `FOR UPDATE SKIP LOCKED` skips them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from adapters.memory.store import DeliveryRecord, InMemoryStore
from ports.outbox import DeliveryKey, Message, MessageCodec, Overdue


class _Claimed:
    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        self.expected: list[tuple[DeliveryKey, datetime]] = []
        self.published_at: datetime | None = None

    async def expect_deliveries(self, deliveries: Sequence[DeliveryKey], due_at: datetime) -> None:
        self.expected += [(key, due_at) for key in deliveries]

    async def mark_published(self, now: datetime) -> None:
        self.published_at = now


class _Overdue:
    def __init__(self, deliveries: list[Overdue]) -> None:
        self.deliveries = deliveries
        self.due_at: Sequence[datetime] | None = None

    async def mark_republished(self, due_at: Sequence[datetime]) -> None:
        if len(due_at) != len(self.deliveries):
            raise ValueError("one due time per delivery")
        self.due_at = due_at


class InMemoryOutboxStore:
    concurrent_claims = True

    def __init__(self, store: InMemoryStore, codec: MessageCodec) -> None:
        self._store = store
        self._codec = codec

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[_Claimed]:
        held = self._store.held_events
        events = [
            e
            for e in self._store.outbox
            if e.event_id not in self._store.published and e.event_id not in held
        ][:limit]
        ids = {e.event_id for e in events}
        held |= ids
        try:
            batch = _Claimed([self._codec.encode(e) for e in events])
            yield batch
            for key, due_at in batch.expected:
                self._store.deliveries.setdefault(key, DeliveryRecord(due_at=due_at))
            if batch.published_at is not None:
                for event_id in ids:
                    self._store.published[event_id] = batch.published_at
        finally:
            held -= ids

    @asynccontextmanager
    async def claim_overdue(self, now: datetime, limit: int) -> AsyncIterator[_Overdue]:
        held = self._store.held_deliveries
        due = sorted(
            (
                (record.due_at, key)
                for key, record in self._store.deliveries.items()
                if record.unfinished and record.due_at < now and key not in held
            ),
            key=lambda pair: pair[0],
        )[:limit]
        keys = [key for _, key in due]
        held |= set(keys)
        try:
            overdue = []
            for event_id, consumer in keys:
                envelope = self._store.envelope(event_id)
                assert envelope is not None, "a delivery's event is in the outbox"
                publications = self._store.deliveries[(event_id, consumer)].publications
                overdue.append(Overdue(consumer, self._codec.encode(envelope), publications))
            batch = _Overdue(overdue)
            yield batch
            if batch.due_at is not None:
                for key, due_at in zip(keys, batch.due_at, strict=True):
                    record = self._store.deliveries[key]
                    record.due_at = due_at
                    record.publications += 1
        finally:
            held -= set(keys)
