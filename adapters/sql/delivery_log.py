"""The delivery log and the dead-letter store in SQL: one `deliveries` row per (event, consumer)
with our own count of attempts, and `dead_letters`, the store of record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.sql.per_dialect import lowered_ascii, one_of
from adapters.sql.schema import dead_letters, deliveries, outbox
from adapters.sql.statements import Statements, one_statement
from ports.delivery_log import (
    Attempt,
    DeadLetter,
    DeadLetterFilter,
    LetterKey,
    Predecessor,
    ascii_lower,
)
from ports.outbox import Message

d = deliveries.c

# The statements run for every message are built once: building them per call was most of a
# worker's CPU per delivery (bench/README.md, "projection worker").
_THIS_DELIVERY = and_(d.event_id == bindparam("b_event_id"), d.consumer == bindparam("b_consumer"))
#: Counts the attempt and takes the hold, unless another copy holds the delivery: then no row.
_START = (
    update(deliveries)
    .where(
        _THIS_DELIVERY,
        (d.running_until.is_(None)) | (d.running_until <= bindparam("b_now")),
    )
    .values(attempts=d.attempts + 1, running_until=bindparam("b_until"))
    .returning(d.attempts, d.processed_at, d.dead_at, d.failing_announced)
)
#: `_START` for a batch: the free deliveries among these; held or unrecorded ones give no row.
_START_MANY = {
    dialect: update(deliveries)
    .where(
        ids,
        d.consumer == bindparam("b_consumer"),
        (d.running_until.is_(None)) | (d.running_until <= bindparam("b_now")),
    )
    .values(attempts=d.attempts + 1, running_until=bindparam("b_until"))
    .returning(d.event_id, d.attempts, d.processed_at, d.dead_at, d.failing_announced)
    for dialect, ids in one_of(d.event_id, "b_event_ids").items()
}
#: Asked only when `_START` changed nothing: is the delivery held, or not recorded at all?
_HELD = select(d.attempts, d.processed_at, d.dead_at, d.failing_announced).where(_THIS_DELIVERY)
_RENEW = {
    dialect: update(deliveries)
    .where(ids, d.consumer == bindparam("b_consumer"))
    .values(running_until=bindparam("b_until"))
    for dialect, ids in one_of(d.event_id, "b_event_ids").items()
}
_WAIT = (
    update(deliveries)
    .where(_THIS_DELIVERY, d.attempts > 0)
    .values(attempts=d.attempts - 1, due_at=bindparam("b_due_at"), running_until=None)
)
#: This delivery, and those of the events its message stands for (`covers`, outbox/relay.py).
_FINISH = {
    dialect: update(deliveries)
    .where(ids, d.consumer == bindparam("b_consumer"))
    .values(
        processed_at=func.coalesce(d.processed_at, bindparam("b_now")),
        last_error=None,
        running_until=None,
    )
    for dialect, ids in one_of(d.event_id, "b_event_ids").items()
}
#: The attempt is given back (never below 0), the outage's start kept, the remote noted.
_RIDE_OUT = (
    update(deliveries)
    .where(_THIS_DELIVERY)
    .values(
        attempts=case((d.attempts > 0, d.attempts - 1), else_=0),
        outage_since=func.coalesce(d.outage_since, bindparam("b_now")),
        running_until=None,
        waiting_for=bindparam("b_remote"),
    )
    .returning(d.outage_since)
)
_POSTPONE = (
    update(deliveries)
    .where(_THIS_DELIVERY)
    .values(due_at=bindparam("b_due_at"), last_error=bindparam("b_error"), running_until=None)
)
#: Of two callers, the first notes the announcement and gets its row back; the second none.
_ANNOUNCE_FAILING = (
    update(deliveries)
    .where(_THIS_DELIVERY, d.failing_announced.is_(None))
    .values(failing_announced=bindparam("b_remote"))
    .returning(d.event_id)
)
_WITHDRAW_FAILING = (
    update(deliveries)
    .where(_THIS_DELIVERY, d.failing_announced.is_not(None))
    .values(failing_announced=None)
    .returning(d.event_id)
)


Of = Callable[[Any, Any], Sequence[Any]]  #: given the aliases `this` and `earlier`


def _unfinished_earlier(columns: Of, these: Of, earliest_first: bool = False) -> Any:
    """The unfinished deliveries, to `b_consumer`, of the events before `these` events in their
    aggregates' streams."""
    this, earlier = outbox.alias("this"), outbox.alias("earlier")
    query = (
        select(*columns(this, earlier))
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
            *these(this, earlier),
            d.consumer == bindparam("b_consumer"),
            d.processed_at.is_(None),
            d.dead_at.is_(None),
        )
    )
    return query.order_by(earlier.c.aggregate_version).limit(1) if earliest_first else query


_UNFINISHED_PREDECESSOR = _unfinished_earlier(
    lambda this, earlier: (d.attempts, d.due_at),
    lambda this, earlier: (this.c.event_id == bindparam("b_event_id"),),
    earliest_first=True,
)


def _unfinished_predecessors_query(dialect: str) -> Any:
    """Every unfinished earlier event of these events' aggregates, outside the batch, with the
    version it has (the earliest per event is picked in Python: few rows, any dialect)."""
    return _unfinished_earlier(
        lambda this, earlier: (this.c.event_id, earlier.c.aggregate_version, d.attempts, d.due_at),
        lambda this, earlier: (
            one_of(this.c.event_id, "b_event_ids")[dialect],
            ~one_of(earlier.c.event_id, "b_event_ids")[dialect],
        ),
    )


_UNFINISHED_PREDECESSORS = {
    dialect: _unfinished_predecessors_query(dialect) for dialect in ("postgresql", "sqlite")
}


def _key(event_id: UUID, consumer: str, **more: object) -> dict[str, object]:
    return {"b_event_id": event_id, "b_consumer": consumer, **more}


def _finished(row: Any) -> bool:
    return row.processed_at is not None or row.dead_at is not None


class SqlDeliveryLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        self._finish = _FINISH[dialect]
        self._start_many = _START_MANY[dialect]
        self._renew = _RENEW[dialect]
        self._predecessors = _UNFINISHED_PREDECESSORS[dialect]

    def _one(self) -> AbstractAsyncContextManager[Statements]:
        """The bookkeeping of an attempt is one statement at a time (count it, look for an earlier
        unfinished event, finish it)."""
        return one_statement(self._engine)

    async def start(self, event_id: UUID, consumer: str, now: datetime, until: datetime) -> Attempt:
        """One statement when the delivery is free (nearly always); a second only for a copy
        that finds it held, or a delivery with no record."""
        key = _key(event_id, consumer)
        async with self._one() as conn:
            row = (await conn.execute(_START, key | {"b_now": now, "b_until": until})).first()
            held = None if row is not None else (await conn.execute(_HELD, key)).first()
        if row is not None:
            return Attempt(
                row.attempts, finished=_finished(row), failing_announced=row.failing_announced
            )
        if held is None:
            return Attempt(1, finished=False)
        return Attempt(
            held.attempts, finished=_finished(held), running_elsewhere=True,
            failing_announced=held.failing_announced,
        )  # fmt: skip

    async def start_many(
        self, event_ids: Sequence[UUID], consumer: str, now: datetime, until: datetime
    ) -> dict[UUID, Attempt]:
        params = {"b_event_ids": list(event_ids), "b_consumer": consumer}
        async with self._one() as conn:
            rows = await conn.execute(self._start_many, params | {"b_now": now, "b_until": until})
            return {
                row.event_id: Attempt(
                    row.attempts, finished=_finished(row), failing_announced=row.failing_announced
                )
                for row in rows
            }

    async def renew(self, event_ids: Sequence[UUID], consumer: str, until: datetime) -> None:
        params = {"b_event_ids": list(event_ids), "b_consumer": consumer, "b_until": until}
        async with self._one() as conn:
            await conn.execute(self._renew, params)

    async def unfinished_predecessor(self, event_id: UUID, consumer: str) -> Predecessor | None:
        """Through the stream's unique index and the deliveries' key."""
        async with self._one() as conn:
            row = (await conn.execute(_UNFINISHED_PREDECESSOR, _key(event_id, consumer))).first()
        return Predecessor(row.attempts, row.due_at) if row else None

    async def unfinished_predecessors(
        self, event_ids: Sequence[UUID], consumer: str
    ) -> dict[UUID, Predecessor]:
        params = {"b_event_ids": list(event_ids), "b_consumer": consumer}
        async with self._one() as conn:
            rows = (await conn.execute(self._predecessors, params)).all()
        earliest: dict[UUID, Any] = {}
        for row in rows:
            if (known := earliest.get(row.event_id)) is None or (
                row.aggregate_version < known.aggregate_version
            ):
                earliest[row.event_id] = row
        return {event_id: Predecessor(r.attempts, r.due_at) for event_id, r in earliest.items()}

    async def wait(self, event_id: UUID, consumer: str, due_at: datetime) -> None:
        async with self._one() as conn:
            await conn.execute(_WAIT, _key(event_id, consumer, b_due_at=due_at))

    async def finish(
        self, event_id: UUID, consumer: str, now: datetime, covers: Sequence[UUID] = ()
    ) -> None:
        async with self._one() as conn:
            await conn.execute(
                self._finish,
                {"b_event_ids": [event_id, *covers], "b_consumer": consumer, "b_now": now},
            )

    async def postpone(self, event_id: UUID, consumer: str, due_at: datetime, error: str) -> None:
        async with self._one() as conn:
            await conn.execute(
                _POSTPONE, _key(event_id, consumer, b_due_at=due_at, b_error=error[:4000])
            )

    async def ride_out(self, event_id: UUID, consumer: str, now: datetime, remote: str) -> datetime:
        params = _key(event_id, consumer, b_now=now, b_remote=remote)
        async with self._one() as conn:
            since: datetime | None = (await conn.execute(_RIDE_OUT, params)).scalar()
        return now if since is None else since  # no record: this failure starts its outage

    async def bury(
        self, message: Message, consumer: str, attempts: int, reason: str, error: str, now: datetime
    ) -> None:
        letter = DeadLetter.of(message, consumer, attempts, reason, error, now)
        async with self._engine.begin() as conn:
            await conn.execute(insert(dead_letters).values(**asdict(letter)))
            await conn.execute(
                update(deliveries)
                .where(d.event_id == UUID(letter.message_id), d.consumer == consumer)
                .values(dead_at=now, last_error=letter.error, running_until=None)
            )

    async def announce_failing(self, event_id: UUID, consumer: str, remote: str) -> bool:
        async with self._one() as conn:
            noted = await conn.execute(_ANNOUNCE_FAILING, _key(event_id, consumer, b_remote=remote))
            return noted.first() is not None

    async def withdraw_failing(self, event_id: UUID, consumer: str) -> bool:
        async with self._one() as conn:
            forgot = await conn.execute(_WITHDRAW_FAILING, _key(event_id, consumer))
            return forgot.first() is not None


#: `error_contains` is a LIKE pattern's middle: these characters are escaped to stand for
#: themselves.
_LIKE_ESCAPE = "\\"
_LIKE_SPECIAL = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


class SqlDeadLetters:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._lowered_error = lowered_ascii(dead_letters.c.error)[engine.dialect.name]

    async def page(
        self, limit: int, after: LetterKey | None, where: DeadLetterFilter | None = None
    ) -> list[DeadLetter]:
        """Backwards through the index on `died_at`; a filter's conditions filter what it walks."""
        t = dead_letters.c
        conditions = self._conditions(where) if where is not None else []
        if after is not None:
            conditions.append((t.died_at < after[0]) | and_(t.died_at == after[0], t.id < after[1]))
        query = (
            select(dead_letters)
            .where(*conditions)
            .order_by(t.died_at.desc(), t.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [DeadLetter(**row._mapping) for row in await conn.execute(query)]

    async def matching(
        self, where: DeadLetterFilter, limit: int, after: LetterKey | None
    ) -> list[DeadLetter]:
        """Through the index on `died_at`; the other conditions filter what it walks."""
        t = dead_letters.c
        conditions = [t.replayed_at.is_(None), *self._conditions(where)]
        if after is not None:
            conditions.append((t.died_at > after[0]) | and_(t.died_at == after[0], t.id > after[1]))
        query = select(dead_letters).where(*conditions).order_by(t.died_at, t.id).limit(limit)
        async with self._engine.connect() as conn:
            return [DeadLetter(**row._mapping) for row in await conn.execute(query)]

    def _conditions(self, where: DeadLetterFilter) -> list[ColumnElement[bool]]:
        """`DeadLetterFilter`'s rules in SQL (`page` and `matching` share them)."""
        t = dead_letters.c
        conditions: list[ColumnElement[bool]] = []
        if where.consumer is not None:
            conditions.append(t.consumer == where.consumer)
        if where.event_type is not None:
            conditions.append(t.event_type == where.event_type)
        if where.error_contains is not None:
            needle = ascii_lower(where.error_contains).translate(_LIKE_SPECIAL)
            conditions.append(self._lowered_error.like(f"%{needle}%", escape=_LIKE_ESCAPE))
        if where.since is not None:
            conditions.append(t.died_at >= where.since)
        if where.until is not None:
            conditions.append(t.died_at < where.until)
        if where.ids is not None:
            conditions.append(t.id.in_(where.ids))
        return conditions

    async def get(self, dead_letter_id: UUID) -> DeadLetter | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(dead_letters).where(dead_letters.c.id == dead_letter_id))
            ).first()
        return DeadLetter(**row._mapping) if row else None

    async def revive(self, letter: DeadLetter, now: datetime, due_at: datetime) -> bool:
        async with self._engine.begin() as conn:
            if not await _mark_replayed(conn, letter.id, now):
                return False
            await conn.execute(
                update(deliveries)
                .where(d.event_id == UUID(letter.message_id), d.consumer == letter.consumer)
                .values(attempts=0, dead_at=None, processed_at=None, due_at=due_at,
                        publications=d.publications + 1, outage_since=None)
            )  # fmt: skip
        return True

    async def mark_replayed(self, dead_letter_id: UUID, now: datetime) -> bool:
        async with self._engine.begin() as conn:
            return await _mark_replayed(conn, dead_letter_id, now)


async def _mark_replayed(conn: AsyncConnection, dead_letter_id: UUID, now: datetime) -> bool:
    """Only a letter not replayed yet: of two concurrent replays, the second changes no row (on
    PostgreSQL it waits for the first's row lock, then finds `replayed_at` set)."""
    t = dead_letters.c
    result = await conn.execute(
        update(dead_letters)
        .where(t.id == dead_letter_id, t.replayed_at.is_(None))
        .values(replayed_at=now)
    )
    return bool(result.rowcount)
