"""The common bookkeeping of aggregates: a version that counts events, and pending events."""

from __future__ import annotations

from domain.errors import VersionMismatch
from domain.events import DomainEvent


class Aggregate:
    """Every recorded event bumps `version` by one, so an event's aggregate version is its position.

    `events` holds what happened since the aggregate was loaded; the unit of work writes them to the
    outbox in the transaction that saves the aggregate, then clears them.
    """

    aggregate_type: str = "aggregate"

    def __init__(self, version: int = 0) -> None:
        self.version = version
        self.events: list[DomainEvent] = []

    @property
    def stream_id(self) -> str:
        """The aggregate's id as it appears on its events' envelopes."""
        raise NotImplementedError

    def _record(self, event: DomainEvent) -> None:
        self.version += 1
        self.events.append(event)

    def ensure_version(self, expected: int | None) -> None:
        """Refuse a change based on a stale read (`If-Match`); `None` means the caller did not ask."""
        if expected is not None and expected != self.version:
            raise VersionMismatch(expected, self.version)

    @property
    def first_pending_version(self) -> int:
        """The aggregate version of the first pending event."""
        return self.version - len(self.events) + 1

    def pull_events(self) -> list[DomainEvent]:
        """Hand over the pending events and forget them."""
        events, self.events = self.events, []
        return events
