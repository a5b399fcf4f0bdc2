"""The outbox's last hour as operators chart it: per minute, the longest wait from commit to
publication and the commands made, from the relays' minute tallies (`ports.relay_minutes`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ports.relay_minutes import RelayMinutes

MINUTE = timedelta(minutes=1)
#: Minutes in the charted hour.
HOUR_MINUTES = 60


@dataclass(frozen=True, slots=True)
class LastHour:
    """The 59 whole minutes before the current one and the current one so far, oldest first."""

    start: datetime  #: the first minute's start
    end: datetime  #: the next minute's start: the hour ends here
    #: Per minute, the longest any of its events waited for the relay, in seconds; None where
    #: nothing committed in the minute has been published (a quiet minute, or a relay that has
    #: not caught up yet: the outbox's backlog says which).
    lag_seconds: list[float | None]
    #: Per minute, the commits no event caused (commands from outside) published so far.
    commands: list[int]
    #: Per minute, the events committed in it and published so far.
    published: list[int]


class RelayHistory:
    def __init__(self, minutes: RelayMinutes) -> None:
        self._minutes = minutes

    async def last_hour(self, now: datetime) -> LastHour:
        """The minute now running is the last, as it stands: in an incident the latest minute is
        the one an operator needs (its commands so far may read as a drop; the page says so)."""
        end = now.replace(second=0, microsecond=0) + MINUTE
        start = end - HOUR_MINUTES * MINUTE
        tallied = {m.minute: m for m in await self._minutes.between(start, end)}
        hour = [tallied.get(start + i * MINUTE) for i in range(HOUR_MINUTES)]
        return LastHour(
            start=start,
            end=end,
            lag_seconds=[None if m is None else m.max_lag_ms / 1000 for m in hour],
            commands=[0 if m is None else m.commands for m in hour],
            published=[0 if m is None else m.published for m in hour],
        )
