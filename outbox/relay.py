"""The outbox relay: claims unpublished events in batches, publishes one message per subscribed
consumer, and marks them published in the same transaction; it also publishes again what was
published but not processed in time (the broker may lose messages: Redis keeps nothing on disk).

The claim takes events `WHERE published_at IS NULL`, never "id greater than the last seen" (ids
are handed out before commit, and a high-water mark would skip rows that commit late). Several
relays may run at once: each claim gets its own events (`OutboxStore.concurrent_claims`), and
consumers tolerate the reordering that can cause between relays (`application/consumers.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from opentelemetry.trace import SpanKind

from outbox.registry import ConsumerRegistry
from outbox.relay_tally import RelayTally
from ports.audience import Audience
from ports.broker import Publisher
from ports.clock import Clock
from ports.outbox import ClaimedEvents, DeliveryKey, Message, OutboxStore
from ports.relay_minutes import RelayMinutes
from ports.tracing import span

logger = logging.getLogger("orderhub.relay")

#: Key of a message to a catching-up consumer: ids of the earlier events of its aggregate, from
#: the same relay batch, that it stands for (`Relay._coalesce`); `Delivery` finishes them too.
COVERS = "covers"

Outgoing = list[tuple[str, Message]]  #: (consumer, message)
#: How often stored minute tallies older than `RelaySettings.minutes_kept` are deleted.
_PRUNE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaySettings:
    batch_size: int = 500
    #: How long to sleep when the outbox is empty (PostgreSQL also wakes the relay by NOTIFY).
    idle_poll: float = 0.05
    #: After a batch that was not full, how long a lane lets commits gather before it claims
    #: again: at a steady trickle of commits it claims a few per batch instead of one per NOTIFY.
    gather: float = 0.02
    redelivery_timeout: timedelta = timedelta(seconds=30)
    #: A delivery published again waits longer each time before the next: the redelivery
    #: timeout doubled per publication, up to this. (A copy that keeps getting lost, or a worker
    #: that keeps dying on it, is not sent again every `redelivery_timeout`.)
    republish_cap: timedelta = timedelta(minutes=15)
    #: Batches in flight at once where claims are disjoint (`OutboxStore.concurrent_claims`):
    #: while one lane waits for the broker, another claims and records the next batch.
    #: Otherwise one.
    lanes: int = 2
    #: How often the relay stores its minute tallies (`RelayMinutes`): one small write per this
    #: much time, whatever the pace; a relay that dies loses at most this much of its tallies.
    minutes_every: timedelta = timedelta(seconds=5)
    #: How long stored minute tallies are kept (the console charts the last hour).
    minutes_kept: timedelta = timedelta(days=1)

    def republish_wait(self, publications: int) -> timedelta:
        """How long a delivery published `publications` times so far waits, once published
        again, before the relay publishes it once more: the timeout, doubled per publication."""
        doublings = min(max(publications, 1), 16)
        longer = self.redelivery_timeout * (1 << doublings)
        return max(self.redelivery_timeout, min(longer, self.republish_cap))


class Relay:
    def __init__(
        self,
        outbox: OutboxStore,
        publisher: Publisher,
        registry: ConsumerRegistry,
        clock: Clock,
        settings: RelaySettings | None = None,
        minutes: RelayMinutes | None = None,
        audience: Audience | None = None,
        on_batch: Callable[[int], None] | None = None,
        on_republished: Callable[[int], None] | None = None,
    ) -> None:
        """`audience`, when given, says which `on_demand` consumers have someone listening;
        without it they are sent every event they subscribe to. `on_batch` is told the number
        of events of each batch published for good, `on_republished` of each sweep's
        deliveries published again (for the metrics)."""
        self._on_batch = on_batch
        self._on_republished = on_republished
        #: Passes of the relay's loops so far, failed ones too: while it grows, the relay lives.
        self.passes = 0
        self._outbox = outbox
        self._audience = audience
        self._publisher = publisher
        self._registry = registry
        self._clock = clock
        self._settings = settings or RelaySettings()
        #: Consumers sent only an aggregate's newest event of a batch (`ConsumerRegistry`)
        self._newest_only = registry.newest_only
        self.relayed = 0
        self.republished = 0
        #: Per minute of commit, what this relay published and has not stored yet (`minutes`).
        self._minutes = minutes
        self._tally = RelayTally()
        self._minutes_recorded: datetime | None = None
        self._minutes_pruned: datetime | None = None

    async def relay_once(self) -> int:
        """Publish one batch of unpublished events; returns how many events it took."""
        async with self._outbox.claim(self._settings.batch_size) as batch:
            if not batch.messages:
                return 0
            with span("relay batch", SpanKind.PRODUCER, **{"orderhub.events": len(batch.messages)}):
                published_at = await self._publish(batch)
        # Committed: only now are the events published for good.
        self.relayed += len(batch.messages)
        if self._on_batch is not None:
            self._on_batch(len(batch.messages))
        if self._minutes is not None:
            self._tally.count(batch.messages, published_at)
        return len(batch.messages)

    async def _publish(self, batch: ClaimedEvents) -> datetime:
        """Record the deliveries, send the messages, mark the events published (one transaction)."""
        outgoing: Outgoing = []
        expected: list[DeliveryKey] = []
        unheard = await self._unheard()
        for message in batch.messages:
            event_id = UUID(message["event_id"])
            for consumer in self._registry.consumers_of(message["event_type"]):
                if consumer in unheard:
                    continue
                outgoing.append((consumer, message))
                expected.append((event_id, consumer))
        now = self._clock.now()
        await batch.expect_deliveries(expected, now + self._settings.redelivery_timeout)
        await asyncio.to_thread(self._publisher.publish, self._coalesce(outgoing))
        await batch.mark_published(now)
        return now

    async def _unheard(self) -> frozenset[str]:
        """The `on_demand` consumers nobody listens to now (asked after the claim)."""
        on_demand = self._registry.on_demand
        if not on_demand or self._audience is None:
            return frozenset()
        return on_demand - await self._audience.listening()

    def _coalesce(self, outgoing: Outgoing) -> Outgoing:
        """Of each aggregate's messages to a `newest_only` consumer, keep the newest event's, which
        names the events it stands for under `covers`: once it is handled, their deliveries are
        done too (`Delivery`). Every delivery is still recorded, and the relay publishes again
        whatever is not done by its due time."""
        if not self._newest_only:
            return outgoing

        def stream(consumer: str, message: Message) -> tuple[str, str, str]:
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
        out: Outgoing = []
        for i, (consumer, message) in enumerate(outgoing):
            if consumer not in self._newest_only:
                out.append((consumer, message))
            elif i in covered:  # its own copy: the message is shared with the other consumers
                out.append((consumer, {**message, COVERS: covered[i]} if covered[i] else message))
        return out

    async def record_minutes(self, *, force: bool = False) -> None:
        """Store the minute tallies folded since the last time, at most once per
        `minutes_every` (at once when `force`), and forget stored minutes older than
        `minutes_kept` every ten minutes. Tallies whose write fails are kept for the next."""
        if self._minutes is None or not self._tally.pending:
            return
        at = self._clock.now()
        last = self._minutes_recorded
        if not force and last is not None and at - last < self._settings.minutes_every:
            return
        self._minutes_recorded = at
        taken = self._tally.take()
        try:
            await self._minutes.add(taken)
        except BaseException:
            self._tally.put_back(taken)
            raise
        if self._minutes_pruned is None or at - self._minutes_pruned >= _PRUNE_EVERY:
            self._minutes_pruned = at
            await self._minutes.prune(at - self._settings.minutes_kept)

    async def republish_due(self) -> int:
        """Publish again deliveries that were not processed by their due time."""
        now = self._clock.now()
        async with self._outbox.claim_overdue(now, self._settings.batch_size) as overdue:
            if not overdue.deliveries:
                return 0
            outgoing = [(d.consumer, d.message) for d in overdue.deliveries]
            await asyncio.to_thread(self._publisher.publish, outgoing)
            await overdue.mark_republished(
                [now + self._settings.republish_wait(d.publications) for d in overdue.deliveries]
            )
        count = len(overdue.deliveries)
        self.republished += count
        if self._on_republished is not None:
            self._on_republished(count)
        logger.info("published %d deliveries again (not processed in time)", count)
        return count

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Relay until `stop` is set; `wake` (set when events commit, e.g. by a NOTIFY listener)
        cuts an idle sleep short."""
        lanes = self._settings.lanes if self._outbox.concurrent_claims else 1
        await asyncio.gather(*(self._lane(stop, wake, sweeps=i == 0) for i in range(lanes)))
        try:
            await self.record_minutes(force=True)
        except Exception:
            logger.exception("relay minutes not recorded at stop")

    async def _lane(self, stop: asyncio.Event, wake: asyncio.Event | None, sweeps: bool) -> None:
        last_sweep = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self.passes += 1
            try:
                taken = await self.relay_once()
                if sweeps and loop.time() - last_sweep >= 1.0:
                    last_sweep = loop.time()
                    await self.republish_due()
            except Exception:
                logger.exception("relay pass failed; retrying")
                taken = 0
                await _sleep_or(stop, 1.0)
            try:  # apart: a chart that cannot be written never slows the relay down
                await self.record_minutes()
            except Exception:
                logger.exception("relay minutes not recorded; kept for the next try")
            if taken < self._settings.batch_size:
                await _sleep_or(wake or stop, self._settings.idle_poll)
                await _sleep_or(stop, self._settings.gather)
                if wake is not None:
                    wake.clear()


async def _sleep_or(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
