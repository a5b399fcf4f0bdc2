"""The event feed as channels read it (PRODUCT.md §8.5): pages of envelopes and a cursor that
always says where to resume, refused once the events after it may have been deleted."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.events import EVENT_TYPES
from ports.clock import Clock
from ports.event_feed import START, EventFeed, FeedPosition
from ports.outbox import Message

_VERSION = "1"


class InvalidCursor(ValueError):
    """Raised when a cursor is not one the feed handed out."""


class CursorExpired(Exception):
    """Raised when a cursor is older than the retention: events after it may have been deleted,
    so resuming from it could skip some without saying so."""

    def __init__(self, issued_at: datetime, retention: timedelta) -> None:
        super().__init__(
            f"the cursor dates from {issued_at.isoformat()}, older than the "
            f"{retention.days}-day retention of the feed; events after it may have been deleted"
        )
        self.issued_at = issued_at


class UnknownEventTypes(ValueError):
    """Raised when a filter names event types that do not exist."""

    def __init__(self, unknown: Collection[str]) -> None:
        self.unknown = sorted(unknown)
        super().__init__(f"unknown event types: {', '.join(self.unknown)}")


@dataclass(frozen=True, slots=True)
class Cursor:
    """A feed position and how fresh the reader's view of the feed was there (`as_of`): the
    events after it are at least about that recent, so it is good until `as_of` + retention."""

    position: FeedPosition
    as_of: datetime

    def encode(self) -> str:
        text = f"{_VERSION}.{self.position.txid}.{self.position.id}.{int(self.as_of.timestamp())}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            version, txid, event_id, as_of = raw.split(".")
            if version != _VERSION:
                raise ValueError(version)
            position = FeedPosition(int(txid), int(event_id))
            moment = datetime.fromtimestamp(int(as_of), UTC)
        except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError, OSError) as e:
            raise InvalidCursor("the cursor is not one this API handed out") from e
        if position.txid < 0 or position.id < 0:
            raise InvalidCursor("the cursor is not one this API handed out")
        return cls(position, moment)


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: list[Message]
    next_cursor: str


def event_types(names: Collection[str] | None) -> frozenset[str] | None:
    """The filter as given, checked: None (every type) when no name is given."""
    if not names:
        return None
    unknown = set(names) - EVENT_TYPES.keys()
    if unknown:
        raise UnknownEventTypes(unknown)
    return frozenset(names)


class Feed:
    def __init__(self, feed: EventFeed, clock: Clock, retention: timedelta) -> None:
        self._feed = feed
        self._clock = clock
        self.retention = retention

    def cursor(self, text: str | None) -> Cursor:
        """The cursor a client sent (none: the start of the feed), refused when expired.
        Raises `InvalidCursor`, `CursorExpired`."""
        now = self._clock.now()
        if text is None:
            return Cursor(START, now)
        cursor = Cursor.decode(text)
        if cursor.as_of < now - self.retention:
            raise CursorExpired(cursor.as_of, self.retention)
        return cursor

    async def page(
        self,
        after: str | None,
        limit: int,
        *,
        types: Collection[str] | None = None,
        channel: str | None = None,
    ) -> FeedPage:
        """The events after the cursor `after` (the feed's start when None), oldest first, and
        the cursor to resume from, even when there were none (then it is `after`, renewed). A
        short page means the reader is caught up as of now; a full one is as fresh as its last
        event. Raises `InvalidCursor`, `CursorExpired`, `UnknownEventTypes`."""
        wanted = event_types(types)
        cursor = self.cursor(after)
        now = self._clock.now()
        items = await self._feed.read(cursor.position, limit, types=wanted, channel=channel)
        if len(items) < limit:
            position = items[-1].position if items else cursor.position
            renewed = Cursor(position, now)
        else:
            last = items[-1]
            renewed = Cursor(last.position, _occurred(last.message, now))
        return FeedPage([item.message for item in items], renewed.encode())


def _occurred(message: Message, default: datetime) -> datetime:
    try:
        return min(datetime.fromisoformat(str(message["occurred_at"])), default)
    except (KeyError, ValueError):
        return default
