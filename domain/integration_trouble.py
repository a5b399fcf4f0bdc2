"""Integration trouble: what the hub tells an order's timeline about delivering its events to the
remote systems (PRODUCT.md §8.3): failing, given up on, or through again."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain import events


class TroubleKind(StrEnum):
    FAILING = "failing"  #: failed again after its first retry; tried again automatically
    DEAD_LETTERED = "dead_lettered"  #: given up on, parked for operators
    RECOVERED = "recovered"  #: through, after it was announced failing


@dataclass(frozen=True, slots=True, kw_only=True)
class Trouble:
    kind: TroubleKind
    remote: str  #: `erp`, `payment`, `crm`, `commerce`, or `hub` when no remote was to blame
    consumer: str
    event_type: str
    attempts: int
    error: str = ""  #: a short summary of the last failure, free of secrets
    reason: str = ""  #: why a dead letter was given up on

    def event(self, order_id: UUID) -> events.IntegrationEvent:
        """The fact this trouble records on the order's stream."""
        remote, consumer, event_type, attempts = (
            self.remote, self.consumer, self.event_type, self.attempts
        )  # fmt: skip
        match self.kind:
            case TroubleKind.FAILING:
                return events.IntegrationFailing(
                    order_id=order_id, remote=remote, consumer=consumer, event_type=event_type,
                    attempts=attempts, error=self.error,
                )  # fmt: skip
            case TroubleKind.DEAD_LETTERED:
                return events.IntegrationDeadLettered(
                    order_id=order_id, remote=remote, consumer=consumer, event_type=event_type,
                    attempts=attempts, reason=self.reason, error=self.error,
                )  # fmt: skip
            case TroubleKind.RECOVERED:
                return events.IntegrationRecovered(
                    order_id=order_id, remote=remote, consumer=consumer, event_type=event_type,
                    attempts=attempts,
                )  # fmt: skip
