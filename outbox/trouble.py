"""Telling an order's timeline of a delivery's integration trouble (PRODUCT.md §8.3): failing,
once per episode; dead lettered; through again after failing or after a replay of its dead letter. Told after the delivery's own
bookkeeping and within a time bound; a failure to tell is logged, and the delivery's outcome
stands whatever happens here."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from application.integration_trouble import TroubleReporter
from domain.integration_trouble import Trouble, TroubleKind
from ports.delivery_log import Attempt, DeliveryLog
from ports.outbox import EventEnvelope

logger = logging.getLogger("orderhub.delivery")

_NOT_TOLD = "could not record %s (%s) of %s %s for %s on order %s"


@dataclass(frozen=True, slots=True)
class Trial:
    """One attempt of a delivery: the event it delivers, and the attempt as the log counted it."""

    envelope: EventEnvelope
    attempt: Attempt

    def trouble(
        self, kind: TroubleKind, consumer: str, remote: str, attempts: int, *, error: str = "",
        reason: str = "",
    ) -> Trouble:  # fmt: skip
        return Trouble(
            kind=kind, remote=remote, consumer=consumer, event_type=self.envelope.event_type,
            attempts=attempts, error=error, reason=reason,
        )  # fmt: skip


class TroubleTeller:
    """Tells `reporter` of the trouble of the deliveries it watches, each within `timeout`."""

    def __init__(self, reporter: TroubleReporter, log: DeliveryLog, timeout: timedelta) -> None:
        self._reporter = reporter
        self._log = log
        self._timeout = timeout.total_seconds()

    async def failing(
        self, consumer: str, trial: Trial, error: BaseException, described: str
    ) -> None:
        """Once per episode: `announce_failing` lets one caller through (a copy, a later failure
        and the attempt after a failed telling find it noted, or withdrawn to be told again).
        `described`: the error as the delivery log records it."""
        envelope = trial.envelope
        if trial.attempt.failing_announced is not None or not self._watches(consumer, envelope):
            return
        remote = self._reporter.remote_of(envelope.event_type, error)
        trouble = trial.trouble(
            TroubleKind.FAILING, consumer, remote, trial.attempt.number, error=described
        )
        noted = False
        try:
            async with asyncio.timeout(self._timeout):
                noted = await self._log.announce_failing(envelope.event_id, consumer, remote)
                if noted:
                    await self._reporter.report(trouble, envelope)
        except Exception:
            logger.warning(_NOT_TOLD, *_told_of(trouble, envelope), exc_info=True)
            if noted:  # so that the delivery's next failure tells it again
                await self._withdraw(envelope.event_id, consumer)

    async def recovered(self, consumer: str, trial: Trial) -> None:
        """Through after it was told failing: once, by whoever withdraws the announcement."""
        envelope, remote = trial.envelope, trial.attempt.failing_announced
        if remote is None or not self._watches(consumer, envelope):
            return
        trouble = trial.trouble(TroubleKind.RECOVERED, consumer, remote, trial.attempt.number)
        try:
            async with asyncio.timeout(self._timeout):
                if await self._log.withdraw_failing(envelope.event_id, consumer):
                    await self._reporter.report(trouble, envelope)
        except Exception:
            logger.warning(_NOT_TOLD, *_told_of(trouble, envelope), exc_info=True)

    async def dead_lettered(
        self,
        consumer: str,
        trial: Trial,
        attempts: int,
        reason: str,
        error: str,
        cause: BaseException | None,
    ) -> None:
        """Whether or not it was told failing. Once per burial: a delivery is buried once
        (finished then, its copies are duplicates) until it is replayed. The delivery is then
        noted as announced failing (if it was not), so that a replay that goes through is told
        as recovered, and one that fails again is not told failing twice."""
        envelope = trial.envelope
        if not self._watches(consumer, envelope):
            return
        if cause is None:  # its attempts crashed their workers: no error to name a remote
            remote = trial.attempt.failing_announced or self._reporter.remote_of(
                envelope.event_type, None
            )
        else:
            remote = self._reporter.remote_of(envelope.event_type, cause)
        trouble = trial.trouble(
            TroubleKind.DEAD_LETTERED, consumer, remote, attempts, error=error, reason=reason
        )
        try:
            async with asyncio.timeout(self._timeout):
                await self._reporter.report(trouble, envelope)
                await self._log.announce_failing(envelope.event_id, consumer, remote)
        except Exception:
            logger.warning(_NOT_TOLD, *_told_of(trouble, envelope), exc_info=True)

    def _watches(self, consumer: str, envelope: EventEnvelope) -> bool:
        return self._reporter.watches(consumer, envelope)

    async def _withdraw(self, event_id: UUID, consumer: str) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._log.withdraw_failing(event_id, consumer)
        except Exception:
            logger.warning("could not withdraw the failing announcement of %s for %s", event_id,
                           consumer, exc_info=True)  # fmt: skip


def _told_of(trouble: Trouble, envelope: EventEnvelope) -> tuple[str, ...]:
    return (f"integration.{trouble.kind}", trouble.remote, envelope.event_type,
            str(envelope.event_id), trouble.consumer, envelope.aggregate_id)  # fmt: skip
