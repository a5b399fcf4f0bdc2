"""The relay's minute tallies, folded in memory from the batches it publishes: per minute of
commit, the events published, the commands among them and the longest lag (`ports.relay_minutes`).

Folding costs a lookup and a count per event, and a parse per distinct commit time of a batch;
the tallies are stored every few seconds (`Relay.record_minutes`), not per event or per batch, so
a relay that dies loses at most those few seconds of its tallies (never an event)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ports.outbox import Message
from ports.relay_minutes import RelayMinute

#: A command's events may straddle two batches (a batch ends mid-commit; two lanes split one
#: commit): the commits of this many recent batches are remembered, so each counts once.
REMEMBERED_BATCHES = 4
_MILLISECOND = timedelta(milliseconds=1)

#: One commit no event caused: (correlation id, commit time). Correlation ids alone are not
#: enough: a client or a job may send several commands under one.
Commit = tuple[str, str]


class RelayTally:
    def __init__(self, remembered_batches: int = REMEMBERED_BATCHES) -> None:
        self._pending: dict[datetime, RelayMinute] = {}
        self._recent: deque[set[Commit]] = deque(maxlen=remembered_batches)

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def count(self, messages: Sequence[Message], published_at: datetime) -> None:
        """A batch was published at `published_at`: fold it into its minutes of commit."""
        commits: set[Commit] = set()
        #: The events of one commit share their time as written: each is parsed once.
        by_moment: dict[str, _Counts] = {}
        for message in messages:
            occurred: str = message["occurred_at"]
            counts = by_moment.get(occurred)
            if counts is None:
                counts = by_moment[occurred] = _Counts.at(_utc(occurred), published_at)
            counts.published += 1
            if message["causation_id"] is None:
                commit = (message["correlation_id"], occurred)
                if commit not in commits and not any(commit in seen for seen in self._recent):
                    commits.add(commit)
                    counts.commands += 1
        self._recent.append(commits)
        self.put_back(counts.tally() for counts in by_moment.values())

    def take(self) -> list[RelayMinute]:
        """The tallies folded since the last take, oldest minute first; the tally is empty after."""
        taken = [self._pending[m] for m in sorted(self._pending)]
        self._pending = {}
        return taken

    def put_back(self, minutes: Iterable[RelayMinute]) -> None:
        """Fold tallies in: a batch's, or those taken whose write failed (for the next try)."""
        for tally in minutes:
            held = self._pending.get(tally.minute)
            self._pending[tally.minute] = tally if held is None else held.combined(tally)


@dataclass(slots=True)
class _Counts:
    """The events of one commit time in a batch."""

    minute: datetime
    lag_ms: int
    published: int = 0
    commands: int = 0

    @classmethod
    def at(cls, moment: datetime, published_at: datetime) -> _Counts:
        lag_ms = max(int((published_at - moment) / _MILLISECOND), 0)
        return cls(moment.replace(second=0, microsecond=0), lag_ms)

    def tally(self) -> RelayMinute:
        return RelayMinute(
            minute=self.minute,
            published=self.published,
            commands=self.commands,
            max_lag_ms=self.lag_ms,
        )


def _utc(moment: str) -> datetime:
    parsed = datetime.fromisoformat(moment)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
