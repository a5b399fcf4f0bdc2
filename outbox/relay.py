"""The outbox relay: claims unpublished events in batches, publishes one message per subscribed
consumer, and marks them published in the same transaction; it also publishes again what was
published but not processed in time (the broker may lose messages: Redis keeps nothing on disk).

It selects `WHERE published_at IS NULL`, never "id greater than the last seen": ids are handed out
before commit, and a high-water mark would skip rows that commit late. Several relays may run at
once: `FOR UPDATE SKIP LOCKED` gives each its own rows (consumers tolerate the reordering that
can cause between relays, see `application/consumers.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

from opentelemetry.trace import SpanKind
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.spans import span
from adapters.sql.per_dialect import one_of
from adapters.sql.schema import outbox
from adapters.sql.statements import Statements, transaction
from outbox.deliveries import Deliveries
from outbox.messages import COVERS, message_from_row
from ports.clock import Clock

logger = logging.getLogger("orderhub.relay")


class Publisher(Protocol):
    def publish(self, outgoing: Sequence[tuple[str, dict[str, Any]]]) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaySettings:
    batch_size: int = 500
    #: How long to sleep when the outbox is empty (PostgreSQL also wakes the relay by NOTIFY).
    idle_poll: float = 0.05
    #: After a batch that was not full, how long a lane lets commits gather before it claims
    #: again: at a steady trickle of commits it claims a few per batch instead of one per NOTIFY.
    gather: float = 0.02
    redelivery_timeout: timedelta = timedelta(seconds=30)
    #: Batches in flight at once on PostgreSQL: while one lane waits for the broker, another
    #: claims and records the next batch (`SKIP LOCKED` keeps their rows apart). SQLite: one.
    lanes: int = 2


class Relay:
    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Publisher,
        consumers_of: Callable[[str], list[str]],
        deliveries: Deliveries,
        clock: Clock,
        settings: RelaySettings | None = None,
        newest_only: frozenset[str] = frozenset(),
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._consumers_of = consumers_of
        self._deliveries = deliveries
        self._clock = clock
        self._settings = settings or RelaySettings()
        #: Consumers sent only an aggregate's newest event of a batch (`application/consumers.py`)
        self._newest_only = newest_only
        self._skip_locked = engine.dialect.name == "postgresql"
        self._claim = _claim_query(self._settings.batch_size, skip_locked=self._skip_locked)
        self._mark_published = _MARK_PUBLISHED[engine.dialect.name]
        self.relayed = 0
        self.republished = 0

    async def relay_once(self) -> int:
        """Publish one batch of unpublished events; returns how many events it took."""
        async with transaction(self._engine) as conn:
            rows = (await conn.execute(self._claim)).all()
            if not rows:
                return 0
            with span("relay batch", SpanKind.PRODUCER, **{"orderhub.events": len(rows)}):
                await self._publish(conn, rows)
        self.relayed += len(rows)
        return len(rows)

    async def _publish(self, conn: Statements, rows: Sequence[Any]) -> None:
        """Record the deliveries, send the messages, mark the events published (one transaction)."""
        outgoing: list[tuple[str, dict[str, Any]]] = []
        pairs: list[tuple[UUID, str]] = []
        for row in rows:
            message = message_from_row(row)
            for consumer in self._consumers_of(row.event_type):
                outgoing.append((consumer, message))
                pairs.append((row.event_id, consumer))
        now = self._clock.now()
        await self._deliveries.record_published(
            conn, pairs, now + self._settings.redelivery_timeout
        )
        await asyncio.to_thread(self._publisher.publish, self._coalesce(outgoing))
        await conn.execute(self._mark_published, {"b_ids": [row.id for row in rows], "b_now": now})

    def _coalesce(
        self, outgoing: list[tuple[str, dict[str, Any]]]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Of each aggregate's messages to a `newest_only` consumer, keep the newest event's, which
        names the events it stands for under `covers`: once it is handled, their deliveries are
        done too (`Delivery`). Every delivery is still recorded, and the relay publishes again
        whatever is not done by its due time."""
        if not self._newest_only:
            return outgoing

        def stream(consumer: str, message: dict[str, Any]) -> tuple[str, str, str]:
            return consumer, message["aggregate_type"], message["aggregate_id"]

        newest: dict[tuple[str, str, str], int] = {}
        for i, (consumer, message) in enumerate(outgoing):
            if consumer in self._newest_only:
                best = newest.get(stream(consumer, message))
                if (
                    best is None
                    or outgoing[best][1]["aggregate_version"] < message["aggregate_version"]
                ):
                    newest[stream(consumer, message)] = i
        covered: dict[int, list[str]] = {i: [] for i in newest.values()}
        for i, (consumer, message) in enumerate(outgoing):
            if consumer in self._newest_only and (top := newest[stream(consumer, message)]) != i:
                covered[top].append(message["event_id"])
        out: list[tuple[str, dict[str, Any]]] = []
        for i, (consumer, message) in enumerate(outgoing):
            if consumer not in self._newest_only:
                out.append((consumer, message))
            elif i in covered:  # its own copy: the message is shared with the other consumers
                out.append((consumer, {**message, COVERS: covered[i]} if covered[i] else message))
        return out

    async def republish_due(self) -> int:
        """Publish again deliveries that were not processed by their due time."""
        now = self._clock.now()
        async with transaction(self._engine) as conn:
            due = await self._deliveries.due(
                conn, now, self._settings.batch_size, self._skip_locked
            )
            if not due:
                return 0
            await asyncio.to_thread(self._publisher.publish, due)
            await self._deliveries.republished(
                conn,
                [(consumer, UUID(message["event_id"])) for consumer, message in due],
                now + self._settings.redelivery_timeout,
            )
        self.republished += len(due)
        logger.info("published %d deliveries again (not processed in time)", len(due))
        return len(due)

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Relay until `stop` is set; `wake` (set by a NOTIFY listener) cuts an idle sleep short."""
        lanes = self._settings.lanes if self._skip_locked else 1
        await asyncio.gather(*(self._lane(stop, wake, sweeps=i == 0) for i in range(lanes)))

    async def _lane(self, stop: asyncio.Event, wake: asyncio.Event | None, sweeps: bool) -> None:
        last_sweep = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                taken = await self.relay_once()
                if sweeps and loop.time() - last_sweep >= 1.0:
                    last_sweep = loop.time()
                    await self.republish_due()
            except Exception:
                logger.exception("relay pass failed; retrying")
                taken = 0
                await _sleep_or(stop, 1.0)
            if taken < self._settings.batch_size:
                await _sleep_or(wake or stop, self._settings.idle_poll)
                await _sleep_or(stop, self._settings.gather)
                if wake is not None:
                    wake.clear()


def _claim_query(batch_size: int, *, skip_locked: bool) -> Any:
    query = (
        select(outbox)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(batch_size)
    )
    return query.with_for_update(skip_locked=True) if skip_locked else query


_MARK_PUBLISHED = {
    dialect: update(outbox).where(ids).values(published_at=bindparam("b_now"))
    for dialect, ids in one_of(outbox.c.id, "b_ids").items()
}


async def _sleep_or(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
