"""The event feed: the outbox read as one ordered stream that a client resumes by position
(PRODUCT.md §8.5)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from ports.outbox import Message


@dataclass(frozen=True, slots=True, order=True)
class FeedPosition:
    """Where an event stands in the feed. Every event that becomes readable after a page was read
    stands after every event of that page, so a client that resumes after the last position it
    read misses nothing, whatever order transactions committed in."""

    txid: int
    id: int


#: The position before every event.
START = FeedPosition(0, 0)


@dataclass(frozen=True, slots=True)
class FeedItem:
    position: FeedPosition
    message: Message  #: the §2.4 envelope, JSON-ready (`ports.outbox.Message`)


class EventFeed(Protocol):
    async def read(
        self,
        after: FeedPosition,
        limit: int,
        *,
        types: Collection[str] | None = None,
        channel: str | None = None,
    ) -> Sequence[FeedItem]:
        """Up to `limit` events after `after`, in feed order: only of `types` when given, only
        of `channel`'s orders when given. Events whose transaction may still commit before an
        earlier-numbered one are held back until it has, so no later read finds one before a
        position already handed out."""
        ...
