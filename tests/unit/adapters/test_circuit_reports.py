"""A breaker tells its listener of each change of state or failure count (and of nothing else),
names its remote on the errors it lets out, and the reporter posts the changes to the circuit
board in the background, so a slow or failing board never touches the remote call."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from adapters.circuit_reporter import CircuitReporter
from adapters.clock import FixedClock
from adapters.http.resilience import CircuitBreaker, CircuitOpen, CircuitStatus
from adapters.memory.circuit_board import InMemoryCircuitBoard
from adapters.memory.store import InMemoryStore
from ports.circuits import Circuit, CircuitReport, CircuitState
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.unit.adapters.test_circuit_breaker import Remote, fail
from tests.unit.adapters.timing import FakeMonotonic

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


class Heard:
    """A listener that keeps what it was told: (state, consecutive failures)."""

    def __init__(self) -> None:
        self.told: list[tuple[CircuitState, int]] = []

    def __call__(self, status: CircuitStatus) -> None:
        self.told.append((status.state, status.consecutive_failures))


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def breaker(clock: FakeMonotonic, heard: Heard) -> CircuitBreaker:
    return CircuitBreaker(
        "erp", failure_threshold=3, reset_timeout=30.0, clock=clock, listener=heard
    )


async def test_successes_while_closed_without_failures_are_not_told(
    breaker: CircuitBreaker, heard: Heard
) -> None:
    remote = Remote()
    for _ in range(100):
        await breaker.call(remote)

    assert heard.told == []


async def test_each_failure_is_told_then_the_opening(breaker: CircuitBreaker, heard: Heard) -> None:
    await fail(breaker, Remote(), 3)

    assert heard.told == [(CLOSED, 1), (CLOSED, 2), (OPEN, 3)]


async def test_calls_refused_while_open_are_not_told(
    breaker: CircuitBreaker, heard: Heard, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    heard.told.clear()

    for _ in range(10):
        with pytest.raises(CircuitOpen):
            await breaker.call(remote)
    clock.advance(30)  # cooled down: half-open only once a call makes the probe

    assert heard.told == []
    assert breaker.state is HALF_OPEN


async def test_the_probe_is_told_and_its_failure_reopens(
    breaker: CircuitBreaker, heard: Heard, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    heard.told.clear()
    clock.advance(30)

    await fail(breaker, remote, 1)

    assert heard.told == [(HALF_OPEN, 3), (OPEN, 4)]


async def test_the_probe_that_succeeds_closes_and_is_told(
    breaker: CircuitBreaker, heard: Heard, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    heard.told.clear()
    clock.advance(30)

    await breaker.call(remote)
    await breaker.call(remote)

    assert heard.told == [(HALF_OPEN, 3), (CLOSED, 0)]


async def test_the_first_success_after_failures_is_told_once(
    breaker: CircuitBreaker, heard: Heard
) -> None:
    remote = Remote()
    await fail(breaker, remote, 2)
    heard.told.clear()

    for _ in range(5):
        await breaker.call(remote)

    assert heard.told == [(CLOSED, 0)]


async def test_a_refusal_proves_the_remote_up_and_is_told_as_a_success(
    breaker: CircuitBreaker, heard: Heard
) -> None:
    remote = Remote()
    await fail(breaker, remote, 1)
    remote.failure = RemoteRejected("422")

    with pytest.raises(RemoteRejected):
        await breaker.call(remote)

    assert heard.told == [(CLOSED, 1), (CLOSED, 0)]


async def test_a_listener_that_fails_never_fails_the_call(
    clock: FakeMonotonic, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: CircuitStatus) -> None:
        raise RuntimeError("listener bug")

    breaker = CircuitBreaker("erp", failure_threshold=1, clock=clock, listener=broken)
    remote = Remote()

    with caplog.at_level(logging.ERROR), pytest.raises(RemoteUnavailable, match="down"):
        await fail_once(breaker, remote)

    assert breaker.state is OPEN
    assert "its listener failed" in caplog.text


async def fail_once(breaker: CircuitBreaker, remote: Remote) -> None:
    remote.failure = RemoteUnavailable("down")
    await breaker.call(remote)


async def test_errors_leaving_the_breaker_name_its_remote(
    breaker: CircuitBreaker,
) -> None:
    remote = Remote()
    remote.failure = RemoteUnavailable("503")
    with pytest.raises(RemoteUnavailable) as passed:
        await breaker.call(remote)
    remote.failure = RemoteUnavailable("already named", remote="payment")
    with pytest.raises(RemoteUnavailable) as named:
        await breaker.call(remote)
    await fail(breaker, remote, 1)
    with pytest.raises(CircuitOpen) as refused:
        await breaker.call(remote)

    assert passed.value.remote == "erp"
    assert named.value.remote == "payment"  # the adapter's own naming is kept
    assert refused.value.remote == "erp"


async def test_a_refusal_leaving_the_breaker_names_its_remote_too(breaker: CircuitBreaker) -> None:
    remote = Remote()
    remote.failure = RemoteRejected("422: no such SKU")

    with pytest.raises(RemoteRejected) as refused:
        await breaker.call(remote)

    assert refused.value.remote == "erp"


# -- the reporter ---------------------------------------------------------------------------------


class SlowBoard(InMemoryCircuitBoard):
    """A board whose writes wait until `opened` is set, and count themselves."""

    def __init__(self) -> None:
        super().__init__(InMemoryStore())
        self.opened = asyncio.Event()
        self.writes = 0

    async def report(self, report: CircuitReport) -> None:
        self.writes += 1
        await self.opened.wait()
        await super().report(report)


class BrokenBoard(InMemoryCircuitBoard):
    """A board whose database is away until `fixed`."""

    def __init__(self) -> None:
        super().__init__(InMemoryStore())
        self.down = True

    async def report(self, report: CircuitReport) -> None:
        if self.down:
            raise ConnectionRefusedError("database away")
        await super().report(report)


@pytest.fixture
def wall() -> FixedClock:
    return FixedClock()


async def test_the_board_holds_each_change_at_the_moment_it_happened(
    clock: FakeMonotonic, wall: FixedClock
) -> None:
    board = InMemoryCircuitBoard(InMemoryStore())
    reporter = CircuitReporter(board, wall)
    breaker = CircuitBreaker("crm", failure_threshold=2, clock=clock, listener=reporter)
    opened_at = wall.now() + timedelta(seconds=5)

    await fail(breaker, Remote(), 1)
    wall.advance(timedelta(seconds=5))
    await fail(breaker, Remote(), 1)
    wall.advance(timedelta(minutes=1))  # the write happens later; its moment does not move
    await reporter.flush()

    assert await board.circuits() == [
        Circuit(
            remote="crm", state=OPEN, since=opened_at, consecutive_failures=2, reported_at=opened_at
        )
    ]


async def test_a_slow_board_never_holds_up_the_call_and_ends_with_the_latest_change(
    clock: FakeMonotonic, wall: FixedClock
) -> None:
    board = SlowBoard()
    reporter = CircuitReporter(board, wall)
    breaker = CircuitBreaker("erp", failure_threshold=5, clock=clock, listener=reporter)
    remote = Remote()

    await fail(breaker, remote, 1)
    await asyncio.sleep(0)  # the writer starts on (closed, 1) and waits for the board
    assert board.writes == 1
    await fail(breaker, remote, 4)  # returns though no write has finished
    clock.advance(30)
    await breaker.call(remote)  # the probe closes it
    await asyncio.sleep(0)
    assert board.writes == 1  # the 6 changes since wait, merged into the latest
    board.opened.set()
    await reporter.flush()

    assert board.writes == 2  # (closed, 1), then only the latest of the 6 after it
    [erp] = await board.circuits()
    assert (erp.state, erp.consecutive_failures) == (CLOSED, 0)


async def test_a_failing_board_is_logged_and_the_next_change_is_written(
    clock: FakeMonotonic, wall: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    board = BrokenBoard()
    reporter = CircuitReporter(board, wall)
    breaker = CircuitBreaker("payment", failure_threshold=1, clock=clock, listener=reporter)
    remote = Remote()

    with caplog.at_level(logging.WARNING):
        await fail(breaker, remote, 1)
        await reporter.flush()
    board.down = False
    clock.advance(30)
    await breaker.call(remote)  # the probe closes the circuit
    await reporter.flush()

    assert "circuit payment open: not recorded" in caplog.text
    [payment] = await board.circuits()
    assert (payment.state, payment.consecutive_failures) == (CLOSED, 0)


async def test_a_board_that_does_not_answer_is_given_up_after_the_timeout(
    clock: FakeMonotonic, wall: FixedClock
) -> None:
    board = SlowBoard()
    reporter = CircuitReporter(board, wall, timeout=0.01)
    breaker = CircuitBreaker("commerce", failure_threshold=1, clock=clock, listener=reporter)

    await fail(breaker, Remote(), 1)
    await asyncio.wait_for(reporter.flush(), timeout=2)

    assert await board.circuits() == []


def test_a_change_told_outside_an_event_loop_is_dropped_without_raising(
    wall: FixedClock,
) -> None:
    board = InMemoryCircuitBoard(InMemoryStore())
    reporter = CircuitReporter(board, wall)

    reporter(CircuitStatus(name="erp", state=OPEN, consecutive_failures=5, opened_at=1.0))
