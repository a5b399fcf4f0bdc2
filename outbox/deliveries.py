"""Delivery bookkeeping in SQL: one row per (event, consumer), our own count of attempts, and the
dead-letter store of record."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.per_dialect import insert_or_skip, one_of
from adapters.sql.schema import dead_letters, deliveries, outbox
from adapters.sql.statements import Statements, one_statement
from outbox.messages import message_from_row

d = deliveries.c

# The statements run for every message are built once: building them per call was most of a
# worker's CPU per delivery (bench/README.md, "projection worker").
_THIS_DELIVERY = and_(d.event_id == bindparam("b_event_id"), d.consumer == bindparam("b_consumer"))
_START = (
    update(deliveries)
    .where(_THIS_DELIVERY)
    .values(attempts=d.attempts + 1)
    .returning(d.attempts, d.processed_at, d.dead_at)
)
_WAIT = (
    update(deliveries)
    .where(_THIS_DELIVERY, d.attempts > 0)
    .values(attempts=d.attempts - 1, due_at=bindparam("b_due_at"))
)
#: This delivery, and those of the events its message stands for (`covers`, outbox/relay.py).
_FINISH = {
    dialect: update(deliveries)
    .where(ids, d.consumer == bindparam("b_consumer"))
    .values(processed_at=func.coalesce(d.processed_at, bindparam("b_now")), last_error=None)
    for dialect, ids in one_of(d.event_id, "b_event_ids").items()
}
_RECORD_PUBLISHED = insert_or_skip(deliveries)
_POSTPONE = (
    update(deliveries)
    .where(_THIS_DELIVERY)
    .values(due_at=bindparam("b_due_at"), last_error=bindparam("b_error"))
)
_REPUBLISHED = (
    update(deliveries)
    .where(_THIS_DELIVERY)
    .values(due_at=bindparam("b_due_at"), publications=d.publications + 1)
)


def _unfinished_predecessor_query() -> Any:
    this, earlier = outbox.alias("this"), outbox.alias("earlier")
    return (
        select(d.attempts, d.due_at)
        .select_from(deliveries.join(earlier, earlier.c.event_id == d.event_id))
        .join(
            this,
            and_(
                this.c.aggregate_type == earlier.c.aggregate_type,
                this.c.aggregate_id == earlier.c.aggregate_id,
                earlier.c.aggregate_version < this.c.aggregate_version,
            ),
        )
        .where(
            this.c.event_id == bindparam("b_event_id"),
            d.consumer == bindparam("b_consumer"),
            d.processed_at.is_(None),
            d.dead_at.is_(None),
        )
        .order_by(earlier.c.aggregate_version)
        .limit(1)
    )


_UNFINISHED_PREDECESSOR = _unfinished_predecessor_query()


def _key(event_id: UUID, consumer: str, **more: object) -> dict[str, object]:
    return {"b_event_id": event_id, "b_consumer": consumer, **more}


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int
    finished: bool


@dataclass(frozen=True, slots=True)
class Predecessor:
    """An earlier event of the same aggregate that a consumer has not finished yet."""

    attempts: int  #: 0: published with this one and not started yet
    due_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: UUID
    message_id: str
    consumer: str
    event_type: str
    aggregate_id: str
    attempts: int
    reason: str
    error: str
    payload: dict[str, Any] | None
    died_at: datetime
    replayed_at: datetime | None


class Deliveries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._finish = _FINISH[engine.dialect.name]

    def _one(self) -> AbstractAsyncContextManager[Statements]:
        """The bookkeeping of an attempt is one statement at a time (count it, look for an earlier
        unfinished event, finish it)."""
        return one_statement(self._engine)

    async def record_published(
        self, conn: Statements, pairs: Sequence[tuple[UUID, str]], due_at: datetime
    ) -> None:
        """In the relay's transaction: each (event, consumer) now expects processing by `due_at`."""
        if pairs:
            await conn.execute(
                _RECORD_PUBLISHED[conn.dialect.name],
                [{"event_id": e, "consumer": c, "due_at": due_at} for e, c in pairs],
            )

    async def start(self, event_id: UUID, consumer: str) -> Attempt:
        """Count an attempt before it runs, in its own transaction: a message that kills its worker
        is still counted, and parked once it has crashed too often."""
        async with self._one() as conn:
            row = (await conn.execute(_START, _key(event_id, consumer))).first()
        if row is None:  # published before this table existed, or replayed by hand: count anew
            return Attempt(1, finished=False)
        return Attempt(
            row.attempts, finished=row.processed_at is not None or row.dead_at is not None
        )

    async def unfinished_predecessor(self, event_id: UUID, consumer: str) -> Predecessor | None:
        """The earliest event of the same aggregate, before this one, that `consumer` has neither
        processed nor parked (through the stream's unique index and the deliveries' key)."""
        async with self._one() as conn:
            row = (await conn.execute(_UNFINISHED_PREDECESSOR, _key(event_id, consumer))).first()
        return Predecessor(row.attempts, row.due_at) if row else None

    async def wait(self, event_id: UUID, consumer: str, due_at: datetime) -> None:
        """The attempt did not run (it waits for an earlier event): take its count back."""
        async with self._one() as conn:
            await conn.execute(_WAIT, _key(event_id, consumer, b_due_at=due_at))

    async def finish(
        self, event_id: UUID, consumer: str, now: datetime, covers: Sequence[UUID] = ()
    ) -> None:
        """Processed: this delivery and, for a consumer that catches up, those of the earlier
        events its message stands for."""
        async with self._one() as conn:
            await conn.execute(
                self._finish,
                {"b_event_ids": [event_id, *covers], "b_consumer": consumer, "b_now": now},
            )

    async def postpone(self, event_id: UUID, consumer: str, due_at: datetime, error: str) -> None:
        """A retry is scheduled: the relay must not publish again before `due_at`."""
        async with self._one() as conn:
            await conn.execute(
                _POSTPONE, _key(event_id, consumer, b_due_at=due_at, b_error=error[:4000])
            )

    async def bury(
        self,
        message: dict[str, Any],
        consumer: str,
        attempts: int,
        reason: str,
        error: str,
        now: datetime,
    ) -> None:
        """Park a message in the dead-letter store; the delivery stops being retried."""
        try:
            event_id = UUID(str(message.get("event_id")))
        except ValueError:
            event_id = UUID(int=0)  # not even an id: kept under the nil id for inspection
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(dead_letters).values(
                    id=uuid.uuid4(),
                    message_id=str(event_id),
                    consumer=consumer,
                    event_type=str(message.get("event_type", "?"))[:64],
                    aggregate_id=str(message.get("aggregate_id", "?"))[:200],
                    attempts=attempts,
                    reason=reason,
                    error=error[:4000],
                    died_at=now,
                )
            )
            await conn.execute(
                update(deliveries)
                .where(d.event_id == event_id, d.consumer == consumer)
                .values(dead_at=now, last_error=error[:4000])
            )

    async def due(
        self, conn: Statements, now: datetime, limit: int, skip_locked: bool
    ) -> list[tuple[str, dict[str, Any]]]:
        """Deliveries not processed by their due time (lost by the broker, or their worker died),
        locked for republishing: (consumer, message)."""
        query = (
            select(d.event_id, d.consumer, outbox)
            .join(outbox, outbox.c.event_id == d.event_id)
            .where(d.processed_at.is_(None), d.dead_at.is_(None), d.due_at < now)
            .order_by(d.due_at)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(of=deliveries, skip_locked=True)
        rows = (await conn.execute(query)).all()
        return [(row.consumer, message_from_row(row)) for row in rows]

    async def republished(
        self, conn: Statements, pairs: Iterable[tuple[str, UUID]], due_at: datetime
    ) -> None:
        rows = [_key(event_id, consumer, b_due_at=due_at) for consumer, event_id in pairs]
        if rows:
            await conn.execute(_REPUBLISHED, rows)

    # -- the ops view ------------------------------------------------------------------------

    async def dead_letters(
        self, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[DeadLetter]:
        t = dead_letters.c
        query = select(dead_letters).order_by(t.died_at.desc(), t.id.desc()).limit(limit)
        if after is not None:
            query = query.where(
                (t.died_at < after[0]) | and_(t.died_at == after[0], t.id < after[1])
            )
        async with self._engine.connect() as conn:
            return [DeadLetter(**row._mapping) for row in await conn.execute(query)]

    async def dead_letter(self, dead_letter_id: UUID) -> DeadLetter | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(dead_letters).where(dead_letters.c.id == dead_letter_id))
            ).first()
        return DeadLetter(**row._mapping) if row else None

    async def revive(
        self, dead_letter_id: UUID, event_id: UUID, consumer: str, now: datetime, due_at: datetime
    ) -> None:
        """Make a dead delivery live again, counting its attempts anew."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(dead_letters)
                .where(dead_letters.c.id == dead_letter_id)
                .values(replayed_at=now)
            )
            await conn.execute(
                update(deliveries)
                .where(d.event_id == event_id, d.consumer == consumer)
                .values(attempts=0, dead_at=None, processed_at=None, due_at=due_at,
                        publications=d.publications + 1)
            )  # fmt: skip
