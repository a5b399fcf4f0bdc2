"""The delivery log and the dead-letter store on the in-memory store, with the SQL ones' rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from adapters.memory.store import InMemoryStore
from ports.delivery_log import (
    Attempt,
    DeadLetter,
    DeadLetterFilter,
    LetterKey,
    Predecessor,
    ascii_lower,
)
from ports.outbox import Message


class InMemoryDeliveryLog:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def start(self, event_id: UUID, consumer: str, now: datetime, until: datetime) -> Attempt:
        record = self._store.deliveries.get((event_id, consumer))
        if record is None:
            return Attempt(1, finished=False)
        if record.running_until is not None and record.running_until > now:
            return Attempt(
                record.attempts, not record.unfinished, running_elsewhere=True,
                failing_announced=record.failing_announced,
            )  # fmt: skip
        record.attempts += 1
        record.running_until = until
        return Attempt(
            record.attempts, finished=not record.unfinished,
            failing_announced=record.failing_announced,
        )  # fmt: skip

    async def start_many(
        self, event_ids: Sequence[UUID], consumer: str, now: datetime, until: datetime
    ) -> dict[UUID, Attempt]:
        started: dict[UUID, Attempt] = {}
        for event_id in event_ids:
            record = self._store.deliveries.get((event_id, consumer))
            if record is None or (record.running_until is not None and record.running_until > now):
                continue
            started[event_id] = await self.start(event_id, consumer, now, until)
        return started

    async def renew(self, event_ids: Sequence[UUID], consumer: str, until: datetime) -> None:
        for event_id in event_ids:
            record = self._store.deliveries.get((event_id, consumer))
            if record is not None:
                record.running_until = until

    async def unfinished_predecessor(
        self, event_id: UUID, consumer: str, besides: Sequence[UUID] = ()
    ) -> Predecessor | None:
        this = self._store.envelope(event_id)
        if this is None:
            return None
        earlier = [
            (e.aggregate_version, record)
            for e in self._store.outbox
            if e.aggregate_type == this.aggregate_type
            and e.aggregate_id == this.aggregate_id
            and e.aggregate_version < this.aggregate_version
            and e.event_id not in besides
            and (record := self._store.deliveries.get((e.event_id, consumer))) is not None
            and record.unfinished
        ]
        if not earlier:
            return None
        _, record = min(earlier, key=lambda pair: pair[0])
        return Predecessor(record.attempts, record.due_at)

    async def unfinished_predecessors(
        self, event_ids: Sequence[UUID], consumer: str
    ) -> dict[UUID, Predecessor]:
        found = {e: await self.unfinished_predecessor(e, consumer, event_ids) for e in event_ids}
        return {event_id: p for event_id, p in found.items() if p is not None}

    async def wait(self, event_id: UUID, consumer: str, due_at: datetime) -> None:
        record = self._store.deliveries.get((event_id, consumer))
        if record is not None and record.attempts > 0:
            record.attempts -= 1
            record.due_at, record.running_until = due_at, None

    async def finish(
        self, event_id: UUID, consumer: str, now: datetime, covers: Sequence[UUID] = ()
    ) -> None:
        for done in (event_id, *covers):
            record = self._store.deliveries.get((done, consumer))
            if record is not None:
                record.processed_at = record.processed_at or now
                record.last_error = record.running_until = None

    async def postpone(self, event_id: UUID, consumer: str, due_at: datetime, error: str) -> None:
        record = self._store.deliveries.get((event_id, consumer))
        if record is not None:
            record.due_at, record.last_error = due_at, error[:4000]
            record.running_until = None

    async def ride_out(self, event_id: UUID, consumer: str, now: datetime, remote: str) -> datetime:
        record = self._store.deliveries.get((event_id, consumer))
        if record is None:
            return now
        record.attempts = max(record.attempts - 1, 0)
        record.outage_since = record.outage_since or now
        record.running_until = None
        record.waiting_for = remote
        return record.outage_since

    async def bury(
        self, message: Message, consumer: str, attempts: int, reason: str, error: str, now: datetime
    ) -> None:
        letter = DeadLetter.of(message, consumer, attempts, reason, error, now)
        self._store.dead_letters[letter.id] = letter
        record = self._store.deliveries.get((UUID(letter.message_id), consumer))
        if record is not None:
            record.dead_at, record.last_error = now, letter.error
            record.running_until = None

    async def announce_failing(self, event_id: UUID, consumer: str, remote: str) -> bool:
        record = self._store.deliveries.get((event_id, consumer))
        if record is None or record.failing_announced is not None:
            return False
        record.failing_announced = remote
        return True

    async def withdraw_failing(self, event_id: UUID, consumer: str) -> bool:
        record = self._store.deliveries.get((event_id, consumer))
        if record is None or record.failing_announced is None:
            return False
        record.failing_announced = None
        return True


class InMemoryDeadLetters:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def page(
        self, limit: int, after: LetterKey | None, where: DeadLetterFilter | None = None
    ) -> list[DeadLetter]:
        letters = sorted(
            (d for d in self._store.dead_letters.values() if where is None or _fits(d, where)),
            key=lambda d: (d.died_at, d.id),
            reverse=True,
        )
        if after is not None:
            letters = [d for d in letters if (d.died_at, d.id) < after]
        return letters[:limit]

    async def matching(
        self, where: DeadLetterFilter, limit: int, after: LetterKey | None
    ) -> list[DeadLetter]:
        letters = sorted(
            (
                d
                for d in self._store.dead_letters.values()
                if d.replayed_at is None and _fits(d, where)
            ),
            key=lambda d: (d.died_at, d.id),
        )
        if after is not None:
            letters = [d for d in letters if (d.died_at, d.id) > after]
        return letters[:limit]

    async def get(self, dead_letter_id: UUID) -> DeadLetter | None:
        return self._store.dead_letters.get(dead_letter_id)

    async def revive(self, letter: DeadLetter, now: datetime, due_at: datetime) -> bool:
        if not await self.mark_replayed(letter.id, now):
            return False
        record = self._store.deliveries.get((UUID(letter.message_id), letter.consumer))
        if record is not None:
            record.attempts, record.dead_at, record.processed_at = 0, None, None
            record.due_at, record.outage_since = due_at, None
            record.publications += 1
        return True

    async def mark_replayed(self, dead_letter_id: UUID, now: datetime) -> bool:
        letter = self._store.dead_letters.get(dead_letter_id)
        if letter is None or letter.replayed_at is not None:
            return False
        self._store.dead_letters[dead_letter_id] = replace(letter, replayed_at=now)
        return True


def _fits(letter: DeadLetter, where: DeadLetterFilter) -> bool:
    """`DeadLetterFilter`'s rules, as `SqlDeadLetters._conditions` writes them in SQL."""
    return (
        (where.consumer is None or letter.consumer == where.consumer)
        and (where.event_type is None or letter.event_type == where.event_type)
        and (
            where.error_contains is None
            or ascii_lower(where.error_contains) in ascii_lower(letter.error)
        )
        and (where.since is None or letter.died_at >= where.since)
        and (where.until is None or letter.died_at < where.until)
        and (where.ids is None or letter.id in where.ids)
    )
