"""What is kept and for how long (PRODUCT.md §8.7): published outbox events, finished deliveries,
inbox entries and replayed dead letters older than the retention are deleted, a small batch at a
time; order data, views and timelines are kept."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Kept(StrEnum):
    """The records retention deletes, in the order a run deletes them."""

    #: A published event whose deliveries all finished (processed) before the cutoff, with
    #: those deliveries. An event with a delivery still to do, or parked in the dead-letter store
    #: and not replayed, stays with all its deliveries.
    EVENTS = "events"
    #: An inbox entry (a message a consumer processed) processed before the cutoff.
    INBOX = "inbox"
    #: A dead letter replayed before the cutoff (one not replayed is kept: it awaits an operator).
    DEAD_LETTERS = "dead_letters"


class RetentionStore(Protocol):
    async def purge(self, kept: Kept, before: datetime, limit: int) -> int:
        """Delete up to `limit` records of `kind` that retention allows, older than `before`, in
        one short transaction; answer how many (the events count, not their deliveries). Safe
        to run in several processes at once."""
        ...
