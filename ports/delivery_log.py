"""Our own record of every delivery of an event to a consumer, and the dead-letter store of record.

The broker's bookkeeping is not enough (PRODUCT.md §4.1): a message that kills its worker never
reaches Dramatiq's retries, and Dramatiq's own dead letters expire. So every attempt is counted
here before it runs, and every message that is given up on is parked here, to be replayed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

from ports.outbox import Message


@dataclass(frozen=True, slots=True)
class Attempt:
    number: int  #: 1 for the first attempt; crashed attempts count
    finished: bool  #: processed or parked already: this copy is a duplicate
    #: Another copy of the delivery holds it and is running: this copy does not run, and no
    #: attempt was counted for it.
    running_elsewhere: bool = False
    #: The remote this delivery was announced failing with on its order's timeline in its current
    #: episode (`DeliveryLog.announce_failing`); None: not announced.
    failing_announced: str | None = None


@dataclass(frozen=True, slots=True)
class Predecessor:
    """An earlier event of the same aggregate that a consumer has not finished yet."""

    attempts: int  #: 0: published with this one and not started yet
    due_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: UUID
    message_id: str
    consumer: str  #: a consumer's name, or `inbound:<source>` for a deferred inbound event
    event_type: str
    aggregate_id: str
    attempts: int
    reason: str
    error: str
    payload: dict[str, Any] | None  #: an inbound event's body (outbox events stay in the outbox)
    died_at: datetime
    replayed_at: datetime | None

    @classmethod
    def of(
        cls, message: Message, consumer: str, attempts: int, reason: str, error: str, now: datetime
    ) -> DeadLetter:
        """The letter that parks `message`: a message without a readable event id is kept under
        the nil id, for inspection; long texts are cut to what the store keeps."""
        try:
            event_id = UUID(str(message.get("event_id")))
        except ValueError:
            event_id = UUID(int=0)
        return cls(
            id=uuid4(),
            message_id=str(event_id),
            consumer=consumer,
            event_type=str(message.get("event_type", "?"))[:64],
            aggregate_id=str(message.get("aggregate_id", "?"))[:200],
            attempts=attempts,
            reason=reason,
            error=error[:4000],
            payload=None,
            died_at=now,
            replayed_at=None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetterFilter:
    """Which dead letters an operator means; every field left `None` matches every letter, and
    the fields that are set must all match.

    - `consumer`, `event_type`: equal, exactly;
    - `error_contains`: a substring of the error, case-insensitive for the ASCII letters A-Z
      only (other characters compare exactly, on every store alike); `%`, `_` and `\\` are plain
      characters;
    - `since` (inclusive) and `until` (exclusive): bounds on `died_at`;
    - `ids`: the letter is one of these dead-letter ids (an empty tuple matches none)."""

    consumer: str | None = None
    event_type: str | None = None
    error_contains: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ids: tuple[UUID, ...] | None = None


#: The key of a dead letter in `DeadLetterStore.matching`'s order: (died_at, id), oldest first.
LetterKey = tuple[datetime, UUID]


def ascii_lower(text: str) -> str:
    """`text` with A-Z lowered and every other character kept: the case folding of
    `DeadLetterFilter.error_contains`, the same on every store (SQLite's `lower` folds no more)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class DeliveryLog(Protocol):
    """One record per (event, consumer), written by the relay when it publishes (`OutboxStore`).
    Each method here is a transaction of its own: an attempt is counted even if its worker dies."""

    async def start(self, event_id: UUID, consumer: str, now: datetime, until: datetime) -> Attempt:
        """Count an attempt before it runs, and hold the delivery until `until`: a copy that comes
        while another holds it (a republished or redelivered duplicate) is told so, counts no
        attempt and takes no hold. A hold ends when the attempt ends (every method below) or at
        its `until` (its worker died). A delivery with no record (published before the record
        existed, or by hand) starts at attempt 1, unheld."""
        ...

    async def start_many(
        self, event_ids: Sequence[UUID], consumer: str, now: datetime, until: datetime
    ) -> dict[UUID, Attempt]:
        """`start` for a batch, in one transaction, for the deliveries that are free: the
        answer holds only those it started (and those already finished). A delivery held by
        another copy, or with no record, is left out untouched: its caller takes it by `start`."""
        ...

    async def renew(self, event_ids: Sequence[UUID], consumer: str, until: datetime) -> None:
        """The attempts still run (or wait their turn in a batch): hold these deliveries until
        `until`."""
        ...

    async def unfinished_predecessor(self, event_id: UUID, consumer: str) -> Predecessor | None:
        """The earliest event of the same aggregate, before this one, that `consumer` has
        neither processed nor parked."""
        ...

    async def unfinished_predecessors(
        self, event_ids: Sequence[UUID], consumer: str
    ) -> dict[UUID, Predecessor]:
        """`unfinished_predecessor` for a batch, in one statement, leaving out predecessors that
        are themselves in `event_ids` (the batch runs an aggregate's events in order itself):
        an entry only for the events that have one."""
        ...

    async def wait(self, event_id: UUID, consumer: str, due_at: datetime) -> None:
        """The attempt did not run (an earlier event comes first): take its count back, let go of
        the delivery, and expect it by `due_at`."""
        ...

    async def finish(
        self, event_id: UUID, consumer: str, now: datetime, covers: Sequence[UUID] = ()
    ) -> None:
        """Processed: this delivery and, for a consumer that catches up, the deliveries of the
        earlier events its message stands for (`covers`). Finishing twice changes nothing."""
        ...

    async def postpone(self, event_id: UUID, consumer: str, due_at: datetime, error: str) -> None:
        """A retry is scheduled: the delivery is let go, and the relay does not publish it again
        before `due_at`."""
        ...

    async def ride_out(self, event_id: UUID, consumer: str, now: datetime, remote: str) -> datetime:
        """The remote the consumer needs (named `remote`) is away: take the attempt back (an
        outage spends none), let go of the delivery, note that it waits for `remote`, and answer
        since when it has been waiting out an outage: `now` at the first failure of an outage,
        that first moment after. (`postpone` then says when to try again.)"""
        ...

    async def bury(
        self, message: Message, consumer: str, attempts: int, reason: str, error: str, now: datetime
    ) -> None:
        """Park the message in the dead-letter store; its delivery is no longer retried. A
        message without a readable event id is kept under the nil id, for inspection."""
        ...

    async def announce_failing(self, event_id: UUID, consumer: str, remote: str) -> bool:
        """Note that this delivery is being announced failing with `remote` (PRODUCT.md §8.3),
        once per episode (from its first publication, or its dead letter's replay, until it is
        done or dead): True for the one caller that noted it; False when it was noted already, or
        the delivery has no record."""
        ...

    async def withdraw_failing(self, event_id: UUID, consumer: str) -> bool:
        """Forget the noted announcement: its recovery is being announced, or announcing it
        failed (so that a later failure announces it again). True for the one caller that
        forgot it; False when none was noted."""
        ...


class DeadLetterStore(Protocol):
    """The parked messages, as operators see them."""

    async def page(
        self, limit: int, after: LetterKey | None, where: DeadLetterFilter | None = None
    ) -> list[DeadLetter]:
        """Newest first, replayed or not; `after` is the (died_at, id) of the last letter of the
        previous page; `where`, when given, keeps only the letters that match it, by the rules
        `matching` follows."""
        ...

    async def matching(
        self, where: DeadLetterFilter, limit: int, after: LetterKey | None
    ) -> list[DeadLetter]:
        """Up to `limit` letters that match `where` and have not been replayed yet, oldest first
        by (died_at, id); `after` is the key of the last letter of the previous batch."""
        ...

    async def get(self, dead_letter_id: UUID) -> DeadLetter | None: ...

    async def revive(self, letter: DeadLetter, now: datetime, due_at: datetime) -> bool:
        """The parked delivery lives again, its attempts counted anew (and any outage it waited
        out, and any failing it was announced, forgotten: a new one gets the whole horizon and
        its own announcement; its last error stays until it succeeds),
        due for the relay at `due_at`; the letter is marked replayed. One transaction. False, and nothing changed,
        when the letter had been replayed already (by a concurrent caller)."""
        ...

    async def mark_replayed(self, dead_letter_id: UUID, now: datetime) -> bool:
        """The letter is marked replayed at `now`; False, and nothing changed, when it had been
        replayed already (or does not exist)."""
        ...
