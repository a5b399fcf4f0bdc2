"""Delivering one message to one consumer: count the attempt, skip what is done, run the consumer,
and decide between done, retry later and the dead-letter store."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from opentelemetry.trace import SpanKind

from application.consumers import Consumer, NotYet
from application.integration_trouble import TroubleReporter
from domain.errors import DomainError
from outbox.policy import DeliveryPolicy
from outbox.relay import COVERS
from outbox.trouble import Trial, TroubleTeller
from ports.clock import Clock
from ports.correlation import correlated
from ports.delivery_log import Attempt, DeliveryLog, Predecessor
from ports.outbox import EventEnvelope, Message, MessageCodec, UndecodableMessage
from ports.remote import RemoteRejected, RemoteUnavailable
from ports.tracing import span
from ports.unit_of_work import ConcurrencyConflict, DatabaseUnavailable

logger = logging.getLogger("orderhub.delivery")

#: Failures that a later attempt can cure. (A remote system that is away is ridden out apart:
#: it spends no attempt, `Delivery._ride_out`.)
TRANSIENT = (
    DatabaseUnavailable,
    ConcurrencyConflict,
    NotYet,
    TimeoutError,
    OSError,
)
#: Where a delivery waits when its `RemoteUnavailable` did not say which remote was away (no
#: breaker or adapter named it): counted under this name in GET /v1/ops/remotes.
UNNAMED_REMOTE = "unknown"
#: Failures that no retry cures: the message goes to the dead-letter store at once.
PERMANENT = (RemoteRejected, DomainError)


class Outcome(StrEnum):
    DONE = "done"
    DUPLICATE = "duplicate"  #: already processed or parked: nothing done
    #: another copy of the delivery is running: nothing done, no attempt spent; this copy comes
    #: back once that one's hold would have run out (and then finds it done, or its worker dead)
    BUSY = "busy"
    RETRY = "retry"
    WAIT = "wait"  #: an earlier event of the aggregate comes first: not run, retried later
    OUTAGE = "outage"  #: the remote it needs is away: no attempt spent, retried later
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    delay_ms: int = 0

    @property
    def retry_in_ms(self) -> int | None:
        """When the broker should bring the message again; None when it is done with it."""
        return self.delay_ms if self.outcome in _LATER else None


_LATER = frozenset({Outcome.RETRY, Outcome.WAIT, Outcome.OUTAGE, Outcome.BUSY})


#: Told of each message handed to a consumer: (consumer, outcome, seconds spent on it); the
#: outcome is an `Outcome`'s value, or `ERROR` when the delivery's own bookkeeping failed.
Observer = Callable[[str, str, float], None]
ERROR = "error"


class Delivery:
    def __init__(
        self,
        consumers: Mapping[str, Consumer],
        log: DeliveryLog,
        codec: MessageCodec,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
        trouble: TroubleReporter | None = None,
        observe: Observer | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """`trouble`, when given, hears of the deliveries it watches that fail past their first
        retry, are buried, or go through after failing (PRODUCT.md §8.3); `observe` of every
        message's outcome and the time spent on it (by `timer`), for the metrics."""
        self._observe = observe
        self._timer = timer
        self._consumers = consumers
        self._log = log
        self._codec = codec
        self._clock = clock
        self._policy = policy or DeliveryPolicy()
        self._rng = rng or random.Random()
        self._tell = TroubleTeller(trouble, log, self._policy.trouble_timeout) if trouble else None

    async def deliver(self, consumer_name: str, message: Message) -> Result:
        """Deliver one message; the outcome says whether the broker should retry it later."""
        started = self._timer()
        try:
            result = await self._deliver_one(consumer_name, message)
        except Exception:
            self._observed(consumer_name, ERROR, self._timer() - started)
            raise
        self._observed(consumer_name, result.outcome.value, self._timer() - started)
        return result

    def _observed(self, consumer: str, outcome: str, seconds: float) -> None:
        if self._observe is not None:
            self._observe(consumer, outcome, seconds)

    async def _deliver_one(self, consumer_name: str, message: Message) -> Result:
        try:
            envelope = self._codec.decode(message)
        except UndecodableMessage as e:
            return await self._bury(message, consumer_name, 1, "undecodable", repr(e))
        with _tracing(consumer_name, envelope) as current:
            result = await self._deliver(consumer_name, envelope, message)
            current.set_attribute("orderhub.outcome", result.outcome.value)
            return result

    async def deliver_many(self, consumer_name: str, messages: Sequence[Message]) -> list[Result]:
        """Deliver a batch of messages to one consumer, each with its own outcome (in the order
        of `messages`), under the same rules as one at a time, with the bookkeeping of the
        whole batch in three statements (count the attempts and hold the deliveries; look for
        earlier unfinished events outside the batch; finish what went through). An aggregate's
        events run in stream order; one that does not go through makes its aggregate's later
        events in the batch wait for it. A delivery that another copy holds, or that has no
        record, is delivered on its own (`deliver`)."""
        if len(messages) == 1:
            return [await self.deliver(consumer_name, messages[0])]
        started = self._timer()
        batch = _Batch(self, consumer_name, messages)
        try:
            results = await batch.run()
        except Exception:
            share = (self._timer() - started) / len(messages)
            for _ in messages:
                self._observed(consumer_name, ERROR, share)
            raise
        # Each message's own step, and an even share of what the batch did for all of them.
        shared = (self._timer() - started - sum(batch.spent.values())) / len(messages)
        for i, result in enumerate(results):
            self._observed(consumer_name, result.outcome.value, batch.spent.get(i, 0.0) + shared)
        return results

    async def _deliver(
        self, consumer_name: str, envelope: EventEnvelope, message: Message
    ) -> Result:
        now = self._clock.now()
        attempt = await self._log.start(
            envelope.event_id, consumer_name, now, now + self._policy.lease
        )
        if attempt.finished:
            if covers := _covers(message):  # done by a catch-up meanwhile: what it stands for too
                await self._log.finish(covers[0], consumer_name, self._clock.now(), covers[1:])
            return Result(Outcome.DUPLICATE)
        if attempt.running_elsewhere:
            return Result(Outcome.BUSY, self._policy.busy_wait_ms(self._rng))
        try:
            return await self._attempt(consumer_name, envelope, message, attempt)
        except Exception as e:  # the bookkeeping failed (the database is away): let go, then fail
            await self._let_go(envelope.event_id, consumer_name, e)
            raise

    async def _attempt(
        self, consumer_name: str, envelope: EventEnvelope, message: Message, attempt: Attempt
    ) -> Result:
        if attempt.number > self._policy.max_attempts:
            # Earlier attempts never finished: they crashed their worker or timed out.
            return await self._bury(
                message, consumer_name, attempt.number - 1, "too_many_attempts",
                "attempts never finished (did the message crash its worker?)",
                Trial(envelope, attempt),
            )  # fmt: skip
        consumer = self._consumers[consumer_name]
        if consumer.in_order:
            predecessor = await self._log.unfinished_predecessor(envelope.event_id, consumer_name)
            if predecessor is not None:
                return await self._wait(envelope, consumer_name, predecessor)
        return await self._run(consumer, envelope, message, attempt)

    async def _let_go(self, event_id: UUID, consumer: str, error: Exception) -> None:
        """Give up the hold of an attempt that failed outside its consumer, so that the relay's
        next copy runs at once rather than after the hold; if that fails too, the hold runs out."""
        due = self._clock.now() + self._policy.redelivery_timeout
        try:
            await self._log.postpone(event_id, consumer, due, _describe(error))
        except Exception:
            logger.warning("could not let go of %s for %s; its hold will run out", event_id,
                           consumer, exc_info=True)  # fmt: skip

    async def _wait(
        self, envelope: EventEnvelope, consumer: str, predecessor: Predecessor
    ) -> Result:
        now = self._clock.now()
        delay = self._policy.wait_for_ms(predecessor, now, self._rng)
        due = now + timedelta(milliseconds=delay) + self._policy.redelivery_timeout
        await self._log.wait(envelope.event_id, consumer, due)
        return Result(Outcome.WAIT, delay)

    async def _run(
        self, consumer: Consumer, envelope: EventEnvelope, message: Message, attempt: Attempt
    ) -> Result:
        trial = Trial(envelope, attempt)
        async with self._holding(lambda: (envelope.event_id,), consumer.name):
            failed = await self._handle(consumer, message, trial)
        if failed is not None:
            return failed
        await self._log.finish(
            envelope.event_id, consumer.name, self._clock.now(), _covers(message)
        )
        await self._recovered(consumer.name, trial)
        return Result(Outcome.DONE)

    async def _recovered(self, consumer: str, trial: Trial) -> None:
        if self._tell is not None:
            await self._tell.recovered(consumer, trial)

    async def _handle(self, consumer: Consumer, message: Message, trial: Trial) -> Result | None:
        """Run the consumer; None when it went through (its delivery is still to be finished),
        else the outcome of its failure, with the failure's bookkeeping done."""
        envelope = trial.envelope
        try:
            await consumer.handle(envelope)
        except PERMANENT as e:
            return await self._bury(
                message, consumer.name, trial.attempt.number, "permanent", _describe(e), trial, e
            )
        except RemoteUnavailable as e:
            return await self._ride_out(message, consumer.name, trial, e)
        except TRANSIENT as e:
            return await self._retry_or_bury(message, consumer.name, trial, e)
        except Exception as e:
            logger.exception("consumer %s failed on %s", consumer.name, envelope.event_type)
            return await self._retry_or_bury(message, consumer.name, trial, e)
        return None

    @asynccontextmanager
    async def _holding(self, held: Held, consumer: str) -> AsyncIterator[None]:
        """Renew the hold on the deliveries `held` names (asked each time) while they run longer
        than a third of the lease (a remote call riding out its retries, a long batch), so that
        no copy takes over a live attempt. An attempt that ends sooner (nearly all) costs one
        timer, no task and no statement."""
        every = self._policy.lease.total_seconds() / 3
        keeping: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

        def keep_holding() -> None:
            stop = asyncio.Event()
            keeper = asyncio.create_task(self._keep_holding(held, consumer, every, stop))
            keeping.append((stop, keeper))

        timer = asyncio.get_running_loop().call_later(every, keep_holding)
        try:
            yield
        finally:
            timer.cancel()
            for stop, keeper in keeping:
                stop.set()  # the keeper finishes a renewal it has begun: no statement cut short
                await keeper

    async def _keep_holding(
        self, held: Held, consumer: str, every: float, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            event_ids = tuple(held())
            try:
                if event_ids:
                    until = self._clock.now() + self._policy.lease
                    await self._log.renew(event_ids, consumer, until)
            except Exception:  # a lost renewal costs at most a duplicate run, never the attempt
                logger.exception("could not renew the hold on %s for %s", event_ids, consumer)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def _ride_out(
        self, message: Message, consumer: str, trial: Trial, error: RemoteUnavailable
    ) -> Result:
        """The remote is away: wait for it without spending the attempt, for up to the outage
        horizon; per-aggregate order holds meanwhile (later events of an in-order consumer wait
        behind this one until its next try). Riding out a second time in a row is failing."""
        now = self._clock.now()
        event_id, attempt = _event_id(message), trial.attempt.number
        since = await self._log.ride_out(event_id, consumer, now, error.remote or UNNAMED_REMOTE)
        if now - since > self._policy.outage_horizon:
            return await self._bury(
                message, consumer, attempt, "outage_outlasted_horizon",
                f"the remote was away since {since.isoformat()}: {_describe(error)}", trial, error,
            )  # fmt: skip
        delay = self._policy.outage_wait_ms(now - since, error.retry_after, self._rng)
        due = now + timedelta(milliseconds=delay) + self._policy.redelivery_timeout
        await self._log.postpone(event_id, consumer, due, _describe(error))
        if since < now and self._tell is not None:
            await self._tell.failing(consumer, trial, error, _describe(error))
        return Result(Outcome.OUTAGE, delay)

    async def _retry_or_bury(
        self, message: Message, consumer: str, trial: Trial, error: Exception
    ) -> Result:
        attempt = trial.attempt.number
        if attempt >= self._policy.max_attempts:
            return await self._bury(
                message, consumer, attempt, "retries_exhausted", _describe(error), trial, error
            )
        delay = self._policy.backoff_ms(attempt, self._rng)
        due = self._clock.now() + timedelta(milliseconds=delay) + self._policy.redelivery_timeout
        await self._log.postpone(_event_id(message), consumer, due, _describe(error))
        if attempt >= 2 and self._tell is not None:  # failed again after its first retry
            await self._tell.failing(consumer, trial, error, _describe(error))
        return Result(Outcome.RETRY, delay)

    async def _bury(
        self,
        message: Message,
        consumer: str,
        attempts: int,
        reason: str,
        error: str,
        trial: Trial | None = None,
        cause: BaseException | None = None,
    ) -> Result:
        logger.warning("dead letter: %s for %s after %d attempts (%s): %s",
                       message.get("event_type"), consumer, attempts, reason, error)  # fmt: skip
        await self._log.bury(message, consumer, attempts, reason, error, self._clock.now())
        if trial is not None and self._tell is not None:
            await self._tell.dead_lettered(consumer, trial, attempts, reason, error, cause)
        return Result(Outcome.DEAD)


class _Batch:
    """One run of `Delivery.deliver_many`: the events it decoded, by their place in the batch."""

    def __init__(self, delivery: Delivery, consumer: str, messages: Sequence[Message]) -> None:
        self._delivery = delivery
        self._consumer = delivery._consumers[consumer]
        self._envelopes: dict[int, EventEnvelope] = {}
        self._messages = messages
        #: Seconds each message's own step took, by its place in the batch.
        self.spent: dict[int, float] = {}
        self._started: dict[UUID, Attempt] = {}
        #: Started by this batch and not concluded: the batch holds them (and lets go of them
        #: if its bookkeeping fails).
        self._pending: set[UUID] = set()
        #: Earlier unfinished events outside the batch, by the event that waits for them.
        self._waits: dict[UUID, Predecessor] = {}
        #: An aggregate whose event did not go through: its later events in the batch wait.
        self._blocked: dict[tuple[str, str], Predecessor] = {}
        #: Went through: to be finished (with the events their messages stand for).
        self._through: list[Trial] = []
        self._finished: list[UUID] = []

    async def run(self) -> list[Result]:
        """Each message's outcome, in the order of the batch."""
        delivery, consumer = self._delivery, self._consumer.name
        results: dict[int, Result] = {}
        for i, message in enumerate(self._messages):
            try:
                self._envelopes[i] = delivery._codec.decode(message)
            except UndecodableMessage as e:
                results[i] = await delivery._bury(message, consumer, 1, "undecodable", repr(e))
        results.update(await self._run())
        return [results.get(i, Result(Outcome.DUPLICATE)) for i in range(len(self._messages))]

    async def _run(self) -> dict[int, Result]:
        delivery, consumer = self._delivery, self._consumer.name
        ids = [e.event_id for e in self._envelopes.values()]
        if not ids:
            return {}
        now = delivery._clock.now()
        self._started = await delivery._log.start_many(
            ids, consumer, now, now + delivery._policy.lease
        )
        self._pending = {i for i, a in self._started.items() if not a.finished}
        results: dict[int, Result] = {}
        try:
            if self._consumer.in_order and self._pending:
                self._waits = await delivery._log.unfinished_predecessors(
                    list(self._pending), consumer
                )
            async with delivery._holding(lambda: tuple(self._pending), consumer):
                for i in self._in_stream_order():
                    envelope = self._envelopes[i]
                    started = delivery._timer()
                    with _tracing(consumer, envelope) as current:
                        results[i] = await self._one(envelope, self._messages[i])
                        current.set_attribute("orderhub.outcome", results[i].outcome.value)
                    self.spent[i] = delivery._timer() - started
                    self._pending.discard(envelope.event_id)
                    self._block_after(envelope, results[i])
            if self._finished:
                first, *rest = self._finished
                await delivery._log.finish(first, consumer, delivery._clock.now(), rest)
        except Exception as e:  # the bookkeeping failed (the database is away)
            for event_id in sorted(self._pending):
                await delivery._let_go(event_id, consumer, e)
            raise
        for trial in self._through:
            await delivery._recovered(consumer, trial)
        return results

    def _in_stream_order(self) -> list[int]:
        """The batch's order, but an aggregate's events by version, from where its first is."""
        first: dict[tuple[str, str], int] = {}
        for i, envelope in self._envelopes.items():
            first.setdefault(_stream(envelope), i)

        def place(i: int) -> tuple[int, int]:
            return first[_stream(self._envelopes[i])], self._envelopes[i].aggregate_version

        return sorted(self._envelopes, key=place)

    async def _one(self, envelope: EventEnvelope, message: Message) -> Result:
        delivery, consumer = self._delivery, self._consumer
        attempt = self._started.get(envelope.event_id)
        if attempt is None:  # held by another copy, or not recorded: on its own
            return await delivery._deliver(consumer.name, envelope, message)
        if attempt.finished:  # done by a catch-up meanwhile: what it stands for too
            self._finished.extend(_covers(message))
            return Result(Outcome.DUPLICATE)
        trial = Trial(envelope, attempt)
        if attempt.number > delivery._policy.max_attempts:
            return await delivery._bury(
                message, consumer.name, attempt.number - 1, "too_many_attempts",
                "attempts never finished (did the message crash its worker?)", trial,
            )  # fmt: skip
        if consumer.in_order:
            predecessor = self._blocked.get(_stream(envelope)) or self._waits.get(envelope.event_id)
            if predecessor is not None:
                return await delivery._wait(envelope, consumer.name, predecessor)
        failed = await delivery._handle(consumer, message, trial)
        if failed is not None:
            return failed
        self._through.append(trial)
        self._finished.extend((envelope.event_id, *_covers(message)))
        return Result(Outcome.DONE)

    def _block_after(self, envelope: EventEnvelope, result: Result) -> None:
        """An event of an in-order consumer that did not go through holds back its aggregate's
        later events in the batch until after its own next try."""
        if not self._consumer.in_order or result.outcome in _CONCLUDED:
            return
        policy, now = self._delivery._policy, self._delivery._clock.now()
        attempt = self._started.get(envelope.event_id)
        due = now + timedelta(milliseconds=result.delay_ms) + policy.redelivery_timeout
        self._blocked.setdefault(
            _stream(envelope),
            Predecessor(attempt.number if attempt else 1, due),
        )


def _stream(envelope: EventEnvelope) -> tuple[str, str]:
    return envelope.aggregate_type, str(envelope.aggregate_id)


#: Outcomes after which an aggregate's later events need not wait for this one.
_CONCLUDED = frozenset({Outcome.DONE, Outcome.DUPLICATE, Outcome.DEAD})
#: Which deliveries an attempt holds, asked afresh at each renewal.
Held = Callable[[], Iterable[UUID]]


@contextmanager
def _tracing(consumer: str, envelope: EventEnvelope) -> Iterator[Any]:
    with (
        correlated(envelope.correlation_id),  # its logs, spans and remote calls carry it
        span(
            f"deliver {envelope.event_type} to {consumer}",
            SpanKind.CONSUMER,
            **{"orderhub.event_id": str(envelope.event_id), "orderhub.consumer": consumer},
        ) as current,
    ):
        yield current


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _covers(message: Message) -> list[UUID]:
    """The earlier events a catching-up consumer's message stands for. Not readable: none (their
    deliveries are then published again at their due time, and found done)."""
    try:
        return [UUID(str(e)) for e in message.get(COVERS, ())]
    except (TypeError, ValueError):
        return []


def _event_id(message: Message) -> UUID:
    return UUID(message["event_id"])
