"""Applying inbound back-office events once each, and later when they came too early."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from application.bus import DUPLICATE, MessageBus
from domain.commands import Command
from domain.errors import (
    DomainError,
    InvalidTransition,
    OrderNotFound,
    ReturnNotFound,
    ShipmentNotFound,
)
from ports.clock import Clock
from ports.inbound import DeferredInbound, InboundEvent
from ports.unit_of_work import CommandMeta

#: Refusals that mean "not yet": the event refers to something the hub has not heard of, or
#: comes before a step it depends on (a dispatch before the booking). Tried again later.
TOO_EARLY = (OrderNotFound, ReturnNotFound, ShipmentNotFound, InvalidTransition)


class InboundOutcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    DEFERRED = "deferred"


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundPolicy:
    #: After this many attempts (about 2 h with the backoff below; the container makes it outlast
    #: the outage horizon, `outlasting`) the event is a dead letter.
    max_attempts: int = 30
    first_retry: timedelta = timedelta(seconds=1)
    longest_wait: timedelta = timedelta(minutes=5)

    def next_wait(self, attempts: int) -> timedelta:
        doublings = min(max(attempts - 1, 0), 30)  # past 2^30 the longest wait rules anyway
        return min(self.first_retry * (1 << doublings), self.longest_wait)

    def patience(self) -> timedelta:
        """How long an early event is kept trying before it is a dead letter."""
        return sum((self.next_wait(n) for n in range(1, self.max_attempts)), timedelta(0))

    def outlasting(self, horizon: timedelta) -> InboundPolicy:
        """This policy, kept trying at least an hour longer than `horizon`: what an early event
        waits for (a booking, a capture) may itself be waiting out a remote's outage for up to
        the outage horizon (REMOTE_OUTAGE_HORIZON_SECONDS)."""
        wanted, attempts = horizon + timedelta(hours=1), self.max_attempts
        while replace(self, max_attempts=attempts).patience() < wanted:
            attempts += 1
        return replace(self, max_attempts=attempts)


class Inbound:
    def __init__(
        self,
        bus: MessageBus,
        deferred: DeferredInbound,
        clock: Clock,
        policy: InboundPolicy | None = None,
    ) -> None:
        self._bus = bus
        self._deferred = deferred
        self._clock = clock
        self._policy = policy or InboundPolicy()

    async def accept(self, event: InboundEvent, command: Command) -> InboundOutcome:
        """Apply the event at most once; keep it for later if it came too early."""
        try:
            return await self._apply(event, command)
        except TOO_EARLY as e:
            now = self._clock.now()
            await self._deferred.defer(event, _describe(e), now + self._policy.first_retry)
            return InboundOutcome.DEFERRED

    async def retry_due(self, decode: Callable[[InboundEvent], Command], limit: int = 100) -> int:
        """Try the deferred events that are due again; returns how many applied now."""
        applied = 0
        for event in await self._deferred.due(self._clock.now(), limit):
            now = self._clock.now()
            try:
                await self._apply(event, decode(event))
            except TOO_EARLY as e:
                if event.attempts + 1 >= self._policy.max_attempts:
                    await self._deferred.bury(event, _describe(e), now)
                else:
                    wait = self._policy.next_wait(event.attempts + 1)
                    await self._deferred.postpone(event, _describe(e), now + wait)
                continue
            except DomainError as e:  # it will never apply: ops decide
                await self._deferred.bury(event, _describe(e), now)
                continue
            await self._deferred.done(event)
            applied += 1
        return applied

    async def _apply(self, event: InboundEvent, command: Command) -> InboundOutcome:
        meta = CommandMeta(
            actor=event.actor, correlation_id=event.correlation_id, causation_id=event.event_id
        )
        result = await self._bus.handle(
            command, meta, once=(f"inbound:{event.source}", event.event_id)
        )
        return InboundOutcome.DUPLICATE if result is DUPLICATE else InboundOutcome.PROCESSED


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
