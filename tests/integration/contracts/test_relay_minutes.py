"""The `RelayMinutes` contract: per-minute tallies that several relays combine into, read back
oldest first and pruned, on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ports.relay_minutes import RelayMinute
from tests.integration.backends import Backend

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def tally(at: int, published: int = 1, commands: int = 1, max_lag_ms: int = 10) -> RelayMinute:
    return RelayMinute(
        minute=T0 + at * MINUTE, published=published, commands=commands, max_lag_ms=max_lag_ms
    )


async def test_nothing_tallied_reads_as_no_minutes(backend: Backend) -> None:
    assert await backend.relay_minutes.between(T0, T0 + 60 * MINUTE) == []


async def test_tallies_of_one_minute_add_up_and_keep_the_longest_lag(backend: Backend) -> None:
    minutes = backend.relay_minutes

    await minutes.add([tally(0, published=5, commands=2, max_lag_ms=40), tally(1)])
    await minutes.add([tally(0, published=3, commands=1, max_lag_ms=25)])
    await minutes.add([tally(0, published=1, commands=0, max_lag_ms=900)])

    assert await minutes.between(T0, T0 + 60 * MINUTE) == [
        tally(0, published=9, commands=3, max_lag_ms=900),
        tally(1),
    ]


async def test_between_is_oldest_first_from_start_up_to_end(backend: Backend) -> None:
    await backend.relay_minutes.add([tally(at) for at in (3, 0, 2, 1)])

    found = await backend.relay_minutes.between(T0 + MINUTE, T0 + 3 * MINUTE)

    assert [m.minute for m in found] == [T0 + MINUTE, T0 + 2 * MINUTE]
    assert all(m.minute.tzinfo is not None for m in found)


async def test_relays_adding_to_one_minute_at_once_lose_nothing(backend: Backend) -> None:
    await asyncio.gather(
        *(backend.relay_minutes.add([tally(0, published=2, max_lag_ms=n)]) for n in range(8))
    )

    [minute] = await backend.relay_minutes.between(T0, T0 + MINUTE)
    assert (minute.published, minute.commands, minute.max_lag_ms) == (16, 8, 7)


async def test_pruning_forgets_the_minutes_before_the_moment(backend: Backend) -> None:
    await backend.relay_minutes.add([tally(at) for at in range(5)])

    await backend.relay_minutes.prune(T0 + 3 * MINUTE)

    found = await backend.relay_minutes.between(T0, T0 + 60 * MINUTE)
    assert [m.minute for m in found] == [T0 + 3 * MINUTE, T0 + 4 * MINUTE]
