"""What the relay published, minute by minute: the outbox's pace and lag over the last hour for
the ops console's charts, tallied by the relay from the batches it already holds (no per-event
write; `outbox/relay_tally.py`) and stored a few seconds' worth at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayMinute:
    """The events committed in one minute that the relay has published so far.

    Counted by the minute the events were committed in (`occurred_at`), not the minute they were
    published: commands a relay outage held back still count in the minute they were made, and
    that minute's lag grows when they are published at last."""

    minute: datetime  #: the minute's start (UTC, seconds zero)
    published: int  #: events of the minute published
    #: Commits no event caused (a command as sent from outside: `causation_id` empty), each once.
    commands: int
    #: The longest any of them waited from commit to publication, in milliseconds.
    max_lag_ms: int

    def combined(self, other: RelayMinute) -> RelayMinute:
        """Two tallies of the same minute as one: counts add up, the lag is the longer."""
        return RelayMinute(
            minute=self.minute,
            published=self.published + other.published,
            commands=self.commands + other.commands,
            max_lag_ms=max(self.max_lag_ms, other.max_lag_ms),
        )


class RelayMinutes(Protocol):
    """The stored tallies, one per minute, shared by every relay."""

    async def add(self, minutes: Sequence[RelayMinute]) -> None:
        """Combine each tally into its minute's (`RelayMinute.combined`): several relays adding
        to the same minute at once lose nothing. One transaction."""
        ...

    async def between(self, start: datetime, end: datetime) -> list[RelayMinute]:
        """The minutes from `start` (inclusive) to `end` (exclusive), oldest first; a minute
        with nothing published is absent."""
        ...

    async def prune(self, before: datetime) -> None:
        """Forget the minutes before `before`."""
        ...
