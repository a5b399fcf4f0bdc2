"""The outbox's last hour (`read_models.relay_history.RelayHistory`): the 59 whole minutes before
this one and this one so far, oldest first, from the relays' minute tallies; a minute nobody
tallied has no lag and no commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.memory.relay_minutes import InMemoryRelayMinutes
from adapters.memory.store import InMemoryStore
from ports.relay_minutes import RelayMinute
from read_models.relay_history import RelayHistory

NOW = datetime(2026, 11, 2, 10, 30, 40, tzinfo=UTC)
THIS_MINUTE = datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def tally(minutes_ago: int, commands: int, max_lag_ms: int) -> RelayMinute:
    return RelayMinute(
        minute=THIS_MINUTE - minutes_ago * MINUTE,
        published=commands * 2,
        commands=commands,
        max_lag_ms=max_lag_ms,
    )


async def test_the_hour_ends_with_the_minute_still_running() -> None:
    minutes = InMemoryRelayMinutes(InMemoryStore())
    await minutes.add([tally(60, 9, 9000), tally(59, 1, 1500), tally(1, 4, 250), tally(0, 7, 7000)])

    hour = await RelayHistory(minutes).last_hour(NOW)

    assert (hour.start, hour.end) == (THIS_MINUTE - 59 * MINUTE, THIS_MINUTE + MINUTE)
    assert len(hour.lag_seconds) == len(hour.commands) == len(hour.published) == 60
    assert (hour.lag_seconds[0], hour.commands[0], hour.published[0]) == (1.5, 1, 2)  # 60 ago: out
    assert (hour.lag_seconds[-2], hour.commands[-2]) == (0.25, 4)
    assert (hour.lag_seconds[-1], hour.commands[-1]) == (7.0, 7)  # this minute so far
    assert hour.lag_seconds[1:-2] == [None] * 57
    assert hour.commands[1:-2] == [0] * 57


async def test_an_hour_nobody_tallied_has_no_lag_and_no_commands() -> None:
    hour = await RelayHistory(InMemoryRelayMinutes(InMemoryStore())).last_hour(NOW)

    assert hour.lag_seconds == [None] * 60
    assert hour.commands == [0] * 60
