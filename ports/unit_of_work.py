"""The unit of work: one transaction for state changes, their events and their bookkeeping.

`UnitOfWork` is an abstract base, as in *Architecture Patterns with Python*: what every store does
the same way (wrapping the pending events of the aggregates it handed out in envelopes, at commit)
is done here once; a store says only how it writes them, with the state, atomically."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from domain.aggregate import Aggregate
from ports.clock import Clock
from ports.idempotency import IdempotencyLog
from ports.ids import IdGenerator
from ports.inbox import Inbox
from ports.outbox import EventEnvelope
from ports.repositories import OrderRepository, StockRepository


class ConcurrencyConflict(Exception):
    """Raised at commit when another transaction changed what this one read (a lost update
    prevented, a serialization failure or a deadlock). Retrying the whole command is safe."""


class DatabaseUnavailable(Exception):
    """Raised when the database cannot be reached or answers too slowly; the caller should fail
    fast (HTTP 503 with Retry-After) and try again later."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandMeta:
    """Who asked, and which conversation this belongs to; copied onto every event's envelope."""

    actor: str
    correlation_id: str
    causation_id: str | None = None


class UnitOfWork(abc.ABC):
    """One command's transaction: the aggregates it loads or adds, saved with their events."""

    orders: OrderRepository
    stock: StockRepository
    idempotency: IdempotencyLog
    inbox: Inbox

    def __init__(self, meta: CommandMeta, clock: Clock, ids: IdGenerator) -> None:
        self._meta = meta
        self._clock = clock
        self._ids = ids

    async def __aenter__(self) -> Self:
        return self

    @abc.abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""

    async def commit(self) -> None:
        """Save every tracked aggregate and write its pending events to the outbox, atomically.
        Raises `ConcurrencyConflict` when a tracked aggregate changed underneath."""
        await self._commit(self._collect_envelopes(self._clock.now()))

    @abc.abstractmethod
    def _tracked(self) -> Iterable[Aggregate]:
        """Every aggregate this unit of work handed out or was given."""

    @abc.abstractmethod
    async def _commit(self, envelopes: list[EventEnvelope]) -> None:
        """Write the tracked aggregates, `envelopes` and the bookkeeping in one step, or nothing."""

    def _collect_envelopes(self, now: datetime) -> list[EventEnvelope]:
        """Take the pending events of every tracked aggregate, numbered by their position in its
        stream, in envelopes that say who asked and in which conversation (PRODUCT.md §2.4)."""
        envelopes = []
        for aggregate in self._tracked():
            first = aggregate.first_pending_version
            for i, event in enumerate(aggregate.pull_events()):
                envelopes.append(
                    EventEnvelope(
                        event_id=self._ids.new_id(),
                        event_type=type(event).__name__,
                        schema_version=event.schema_version,
                        aggregate_type=aggregate.aggregate_type,
                        aggregate_id=aggregate.stream_id,
                        aggregate_version=first + i,
                        occurred_at=now,
                        correlation_id=self._meta.correlation_id,
                        causation_id=self._meta.causation_id,
                        actor=self._meta.actor,
                        payload=event,
                    )
                )
        return envelopes


class UnitOfWorkFactory(Protocol):
    def __call__(self, meta: CommandMeta) -> UnitOfWork: ...
