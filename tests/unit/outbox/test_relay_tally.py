"""The relay's minute tallies (`outbox.relay_tally.RelayTally`): per minute of commit, the events
published, the commands among them (each commit no event caused, once) and the longest lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from outbox.relay_tally import RelayTally
from ports.outbox import Message
from ports.relay_minutes import RelayMinute

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def event(at: datetime, correlation: str = "req-1", caused_by: str | None = None) -> Message:
    """An event's message as the outbox writes it (`occurred_at` RFC 3339, as msgspec does)."""
    occurred = at.isoformat().replace("+00:00", "Z")
    return {"occurred_at": occurred, "correlation_id": correlation, "causation_id": caused_by}


def minute(at: int, **counts: Any) -> RelayMinute:
    return RelayMinute(minute=T0 + timedelta(minutes=at), **counts)


def test_a_batch_is_tallied_by_the_minute_its_events_were_committed_in() -> None:
    tally = RelayTally()
    placed = [event(T0 + 10 * SECOND, "a")] * 2  # one command's two events
    later = [event(T0 + 70 * SECOND, "b"), event(T0 + 75 * SECOND, "c")]

    tally.count([*placed, *later], published_at=T0 + 80 * SECOND)

    assert tally.take() == [
        minute(0, published=2, commands=1, max_lag_ms=70_000),
        minute(1, published=2, commands=2, max_lag_ms=10_000),
    ]
    assert tally.take() == []
    assert not tally.pending


def test_events_an_event_caused_are_published_but_are_no_command() -> None:
    tally = RelayTally()
    command = event(T0, "order-1")
    reactions = [event(T0 + SECOND, "order-1", caused_by="evt-1")] * 3  # e.g. OrderBooked

    tally.count([command, *reactions], published_at=T0 + 2 * SECOND)

    assert tally.take() == [minute(0, published=4, commands=1, max_lag_ms=2000)]


def test_commands_under_one_correlation_id_count_apart_by_their_commit_time() -> None:
    tally = RelayTally()
    jobs = [event(T0 + n * SECOND, "job") for n in range(3)]  # the same id every run

    tally.count(jobs, published_at=T0 + 3 * SECOND)

    assert tally.take()[0].commands == 3


def test_a_commit_split_across_batches_counts_once() -> None:
    tally = RelayTally()
    one_commit = event(T0, "order-1")

    tally.count([event(T0, "order-0"), one_commit], published_at=T0 + SECOND)
    tally.count([one_commit, one_commit], published_at=T0 + 2 * SECOND)

    assert tally.take() == [minute(0, published=4, commands=2, max_lag_ms=2000)]


def test_batches_add_up_until_taken_and_the_longest_lag_wins() -> None:
    tally = RelayTally()
    tally.count([event(T0, "a")], published_at=T0 + 5 * SECOND)
    tally.count([event(T0 + SECOND, "b")], published_at=T0 + 2 * SECOND)

    assert tally.take() == [minute(0, published=2, commands=2, max_lag_ms=5000)]


def test_tallies_put_back_after_a_failed_write_join_the_next_ones() -> None:
    tally = RelayTally()
    tally.count([event(T0, "a")], published_at=T0 + SECOND)
    taken = tally.take()
    tally.count([event(T0 + 2 * SECOND, "b")], published_at=T0 + 3 * SECOND)

    tally.put_back(taken)

    assert tally.take() == [minute(0, published=2, commands=2, max_lag_ms=1000)]


def test_a_clock_behind_the_commit_counts_no_negative_lag() -> None:
    tally = RelayTally()
    tally.count([event(T0 + SECOND, "a")], published_at=T0)

    assert tally.take()[0].max_lag_ms == 0
