"""The circuit breaker: opens on repeated transient failures, fails fast, probes once, closes."""

from __future__ import annotations

import asyncio
import threading

import pytest

from adapters.http.resilience import CircuitBreaker, CircuitOpen, CircuitState
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.unit.adapters.timing import FakeMonotonic


class Remote:
    """A remote call that answers as told and counts how often it was reached."""

    def __init__(self) -> None:
        self.calls = 0
        self.failure: BaseException | None = None

    async def __call__(self) -> str:
        self.calls += 1
        if self.failure is not None:
            raise self.failure
        return "ok"


async def fail(breaker: CircuitBreaker, remote: Remote, times: int) -> None:
    remote.failure = RemoteUnavailable("down")
    for _ in range(times):
        with pytest.raises(RemoteUnavailable):
            await breaker.call(remote)
    remote.failure = None


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def breaker(clock: FakeMonotonic) -> CircuitBreaker:
    return CircuitBreaker("erp", failure_threshold=3, reset_timeout=30.0, clock=clock)


async def test_a_closed_circuit_lets_calls_through(breaker: CircuitBreaker) -> None:
    remote = Remote()
    assert await breaker.call(remote) == "ok"
    assert (breaker.state, breaker.consecutive_failures, breaker.opened_at) == (
        CircuitState.CLOSED, 0, None,
    )  # fmt: skip


async def test_opens_after_the_threshold_of_consecutive_transient_failures(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 2)
    assert breaker.state is CircuitState.CLOSED
    await fail(breaker, remote, 1)
    assert breaker.status().state is CircuitState.OPEN
    assert breaker.opened_at == clock.now
    assert breaker.consecutive_failures == 3


async def test_an_open_circuit_fails_fast_without_calling_the_remote(
    breaker: CircuitBreaker,
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    with pytest.raises(CircuitOpen, match="open"):
        await breaker.call(remote)
    assert remote.calls == 3


async def test_a_success_resets_the_count_of_consecutive_failures(
    breaker: CircuitBreaker,
) -> None:
    remote = Remote()
    await fail(breaker, remote, 2)
    await breaker.call(remote)
    await fail(breaker, remote, 2)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 2


async def test_a_permanent_refusal_proves_the_remote_is_up_and_never_opens_the_circuit(
    breaker: CircuitBreaker,
) -> None:
    remote = Remote()
    await fail(breaker, remote, 2)
    remote.failure = RemoteRejected("422")
    for _ in range(5):
        with pytest.raises(RemoteRejected):
            await breaker.call(remote)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.consecutive_failures == 0


async def test_errors_that_are_not_remote_failures_leave_the_count_alone(
    breaker: CircuitBreaker,
) -> None:
    remote = Remote()
    await fail(breaker, remote, 2)
    remote.failure = ValueError("a bug of ours")
    with pytest.raises(ValueError, match="a bug"):
        await breaker.call(remote)
    assert breaker.consecutive_failures == 2


async def test_after_the_cool_down_it_is_half_open_and_a_successful_probe_closes_it(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    clock.advance(29.9)
    assert breaker.state is CircuitState.OPEN
    clock.advance(0.1)
    assert breaker.status().state is CircuitState.HALF_OPEN
    assert await breaker.call(remote) == "ok"
    assert remote.calls == 4
    assert (breaker.state, breaker.consecutive_failures, breaker.opened_at) == (
        CircuitState.CLOSED, 0, None,
    )  # fmt: skip


async def test_a_failed_probe_opens_the_circuit_for_another_cool_down(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    clock.advance(30)
    await fail(breaker, remote, 1)
    assert breaker.state is CircuitState.OPEN
    assert breaker.opened_at == clock.now
    clock.advance(29)
    with pytest.raises(CircuitOpen):
        await breaker.call(remote)
    assert remote.calls == 4
    clock.advance(1)
    assert await breaker.call(remote) == "ok"
    assert breaker.status().state is CircuitState.CLOSED


async def test_only_one_probe_at_a_time_while_half_open(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    clock.advance(30)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow_probe() -> str:
        entered.set()
        await release.wait()
        return "probed"

    probe = asyncio.create_task(breaker.call(slow_probe))
    await entered.wait()
    with pytest.raises(CircuitOpen, match="a probe is in flight"):
        await breaker.call(remote)
    assert remote.calls == 3
    release.set()
    assert await probe == "probed"
    assert breaker.state is CircuitState.CLOSED
    assert await breaker.call(remote) == "ok"


async def test_a_cancelled_probe_lets_the_next_call_probe(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    remote = Remote()
    await fail(breaker, remote, 3)
    clock.advance(30)
    entered = asyncio.Event()

    async def hanging_probe() -> str:
        entered.set()
        await asyncio.Event().wait()
        return "never"

    probe = asyncio.create_task(breaker.call(hanging_probe))
    await entered.wait()
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert breaker.state is CircuitState.HALF_OPEN
    assert await breaker.call(remote) == "ok"
    assert breaker.status().state is CircuitState.CLOSED


async def test_a_call_that_started_before_the_circuit_opened_cannot_close_it(
    breaker: CircuitBreaker,
) -> None:
    remote = Remote()
    entered, release = asyncio.Event(), asyncio.Event()

    async def straggler() -> str:
        entered.set()
        await release.wait()
        return "late"

    late = asyncio.create_task(breaker.call(straggler))
    await entered.wait()
    await fail(breaker, remote, 3)
    release.set()
    assert await late == "late"
    assert breaker.state is CircuitState.OPEN


async def test_guard_is_the_same_breaker_as_a_context_manager(breaker: CircuitBreaker) -> None:
    for _ in range(3):
        with pytest.raises(RemoteUnavailable):
            async with breaker.guard():
                raise RemoteUnavailable("timeout")
    reached = False
    with pytest.raises(CircuitOpen):
        async with breaker.guard():
            reached = True
    assert not reached


async def test_status_is_a_snapshot_for_the_ops_view(
    breaker: CircuitBreaker, clock: FakeMonotonic
) -> None:
    await fail(breaker, Remote(), 3)
    status = breaker.status()
    assert (status.name, status.state, status.consecutive_failures, status.opened_at) == (
        "erp", CircuitState.OPEN, 3, clock.now,
    )  # fmt: skip
    assert str(status.state) == "open"


async def test_which_errors_count_as_transient_is_configurable(clock: FakeMonotonic) -> None:
    breaker = CircuitBreaker("sim", failure_threshold=1, clock=clock, transient=(TimeoutError,))
    with pytest.raises(TimeoutError):
        async with breaker.guard():
            raise TimeoutError
    assert breaker.state is CircuitState.OPEN


def test_settings_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", failure_threshold=0)
    with pytest.raises(ValueError, match="reset_timeout"):
        CircuitBreaker("x", reset_timeout=-1)


def test_one_breaker_shared_by_threads_with_their_own_event_loops_loses_no_count() -> None:
    breaker = CircuitBreaker("shared", failure_threshold=10_000)

    async def fail_many() -> None:
        for _ in range(200):
            with pytest.raises(RemoteUnavailable):
                async with breaker.guard():
                    raise RemoteUnavailable("down")

    threads = [threading.Thread(target=asyncio.run, args=(fail_many(),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert breaker.consecutive_failures == 1600
    assert breaker.state is CircuitState.CLOSED
