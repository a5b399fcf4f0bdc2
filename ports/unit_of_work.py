"""The unit of work: one transaction for state changes, their events and their bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from ports.idempotency import IdempotencyLog
from ports.inbox import Inbox
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


class UnitOfWork(Protocol):
    orders: OrderRepository
    stock: StockRepository
    idempotency: IdempotencyLog
    inbox: Inbox

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    async def commit(self) -> None:
        """Save every tracked aggregate and write its pending events to the outbox, atomically.
        Raises `ConcurrencyConflict` when a tracked aggregate changed underneath."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, meta: CommandMeta) -> UnitOfWork: ...
