"""Delivering one message to one consumer: count the attempt, skip what is done, run the consumer,
and decide between done, retry later and the dead-letter store."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
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
    ) -> None:
        """`trouble`, when given, hears of the deliveries it watches that fail past their first
        retry, are buried, or go through after failing (PRODUCT.md §8.3)."""
        self._consumers = consumers
        self._log = log
        self._codec = codec
        self._clock = clock
        self._policy = policy or DeliveryPolicy()
        self._rng = rng or random.Random()
        self._tell = TroubleTeller(trouble, log, self._policy.trouble_timeout) if trouble else None

    async def deliver(self, consumer_name: str, message: Message) -> Result:
        """Deliver one message; the outcome says whether the broker should retry it later."""
        try:
            envelope = self._codec.decode(message)
        except UndecodableMessage as e:
            return await self._bury(message, consumer_name, 1, "undecodable", repr(e))
        with (
            correlated(envelope.correlation_id),  # its logs, spans and remote calls carry it
            span(
                f"deliver {envelope.event_type} to {consumer_name}",
                SpanKind.CONSUMER,
                **{"orderhub.event_id": str(envelope.event_id), "orderhub.consumer": consumer_name},
            ) as current,
        ):
            result = await self._deliver(consumer_name, envelope, message)
            current.set_attribute("orderhub.outcome", result.outcome.value)
            return result

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
        try:
            async with self._holding(envelope.event_id, consumer.name):
                await consumer.handle(envelope)
        except PERMANENT as e:
            return await self._bury(
                message, consumer.name, attempt.number, "permanent", _describe(e), trial, e
            )
        except RemoteUnavailable as e:
            return await self._ride_out(message, consumer.name, trial, e)
        except TRANSIENT as e:
            return await self._retry_or_bury(message, consumer.name, trial, e)
        except Exception as e:
            logger.exception("consumer %s failed on %s", consumer.name, envelope.event_type)
            return await self._retry_or_bury(message, consumer.name, trial, e)
        await self._log.finish(
            envelope.event_id, consumer.name, self._clock.now(), _covers(message)
        )
        if self._tell is not None:
            await self._tell.recovered(consumer.name, trial)
        return Result(Outcome.DONE)

    @asynccontextmanager
    async def _holding(self, event_id: UUID, consumer: str) -> AsyncIterator[None]:
        """Renew the attempt's hold on its delivery while it runs longer than a third of the
        lease (a remote call riding out its retries), so that no copy takes over a live attempt.
        An attempt that ends sooner (nearly all) costs one timer, no task and no statement."""
        every = self._policy.lease.total_seconds() / 3
        keeping: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

        def keep_holding() -> None:
            stop = asyncio.Event()
            keeper = asyncio.create_task(self._keep_holding(event_id, consumer, every, stop))
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
        self, event_id: UUID, consumer: str, every: float, stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            try:
                await self._log.renew(event_id, consumer, self._clock.now() + self._policy.lease)
            except Exception:  # a lost renewal costs at most a duplicate run, never the attempt
                logger.exception("could not renew the hold on %s for %s", event_id, consumer)
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
