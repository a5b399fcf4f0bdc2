"""The remote systems' contracts: the `CircuitBoard` (what breakers last reported, the latest
report winning) and the deliveries waiting out each remote's outage (`DeliveryLog.ride_out`,
`OperationsReader.waiting_for_remotes`), on the in-memory store, SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from ports.circuits import Circuit, CircuitReport, CircuitState
from tests.integration.backends import Backend
from tests.integration.contracts.histories import event_id, place, relay

SECOND = timedelta(seconds=1)
TIMEOUT = timedelta(seconds=30)
CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


def said(
    remote: str, state: CircuitState, failures: int, at_seconds: int, b: Backend
) -> CircuitReport:
    return CircuitReport(
        remote=remote,
        state=state,
        consecutive_failures=failures,
        at=b.clock.now() + at_seconds * SECOND,
    )


async def test_no_circuit_is_held_before_a_breaker_reports(backend: Backend) -> None:
    assert await backend.circuit_board.circuits() == []


async def test_a_circuit_that_opens_is_held_open_since_the_report(backend: Backend) -> None:
    board, at = backend.circuit_board, backend.clock.now()

    await board.report(CircuitReport(remote="erp", state=OPEN, consecutive_failures=5, at=at))

    assert await board.circuits() == [
        Circuit(remote="erp", state=OPEN, since=at, consecutive_failures=5, reported_at=at)
    ]


async def test_failures_counted_while_closed_leave_since_unknown(backend: Backend) -> None:
    board = backend.circuit_board

    await board.report(said("crm", CLOSED, 1, 0, backend))
    await board.report(said("crm", CLOSED, 2, 1, backend))

    [crm] = await board.circuits()
    assert (crm.state, crm.since, crm.consecutive_failures) == (CLOSED, None, 2)


async def test_since_moves_only_when_the_circuit_crosses_between_closed_and_not(
    backend: Backend,
) -> None:
    board, start = backend.circuit_board, backend.clock.now()

    await board.report(said("erp", CLOSED, 4, 0, backend))
    await board.report(said("erp", OPEN, 5, 1, backend))  # down since +1 s
    await board.report(said("erp", HALF_OPEN, 5, 31, backend))  # probing: still down
    await board.report(said("erp", OPEN, 6, 32, backend))  # the probe failed: still down
    [down] = await board.circuits()
    await board.report(said("erp", HALF_OPEN, 6, 62, backend))
    await board.report(said("erp", CLOSED, 0, 63, backend))  # up again since +63 s
    [up] = await board.circuits()
    await board.report(said("erp", CLOSED, 1, 70, backend))  # a failure while closed
    [failing] = await board.circuits()

    assert (down.state, down.since, down.consecutive_failures) == (OPEN, start + SECOND, 6)
    assert (up.state, up.since, up.consecutive_failures) == (CLOSED, start + 63 * SECOND, 0)
    assert (failing.state, failing.since, failing.consecutive_failures) == (
        CLOSED,
        start + 63 * SECOND,
        1,
    )
    assert failing.reported_at == start + 70 * SECOND


async def test_a_report_older_than_the_one_held_changes_nothing(backend: Backend) -> None:
    """Two processes: one's breaker closed at +10 s, the other's report of +5 s arrives late."""
    board = backend.circuit_board
    await board.report(said("payment", OPEN, 5, 0, backend))
    await board.report(said("payment", CLOSED, 0, 10, backend))
    held = await board.circuits()

    await board.report(said("payment", OPEN, 7, 5, backend))

    assert await board.circuits() == held


async def test_the_latest_report_wins_whichever_process_sent_it(backend: Backend) -> None:
    board, start = backend.circuit_board, backend.clock.now()
    await board.report(said("commerce", OPEN, 5, 0, backend))  # one worker's breaker opens

    await board.report(said("commerce", CLOSED, 1, 2, backend))  # another's counts its first

    [commerce] = await board.circuits()
    assert (commerce.state, commerce.since, commerce.consecutive_failures) == (
        CLOSED,
        start + 2 * SECOND,
        1,
    )


async def test_each_remote_has_its_own_circuit_listed_by_name(backend: Backend) -> None:
    board = backend.circuit_board
    for remote in ("payment", "erp", "crm"):
        await board.report(said(remote, OPEN, 5, 0, backend))
    await board.report(said("erp", CLOSED, 0, 1, backend))

    circuits = await board.circuits()

    assert [(c.remote, c.state) for c in circuits] == [
        ("crm", OPEN),
        ("erp", CLOSED),
        ("payment", OPEN),
    ]


async def test_deliveries_waiting_out_an_outage_are_counted_per_remote_until_finished(
    backend: Backend,
) -> None:
    await backend.stock("MUG", "dc-east", 10)
    await relay(backend, (), backend.clock.now())
    for _ in range(3):
        await place(backend)
    messages = await relay(backend, ("fulfilment", "returns"), backend.clock.now() + TIMEOUT)
    log, ops, now = backend.delivery_log, backend.operations, backend.clock.now()
    a, b, c, d, e, f = (event_id(m) for m in messages)  # 3 orders' placed and reserved events
    assert await ops.waiting_for_remotes() == {}

    for waiting in (a, b, c):
        await log.ride_out(waiting, "fulfilment", now, "erp")
    await log.ride_out(d, "fulfilment", now, "payment")
    await log.ride_out(e, "returns", now, "crm")
    assert await ops.waiting_for_remotes() == {"erp": 3, "payment": 1, "crm": 1}

    await log.finish(a, "fulfilment", now)  # drained after the ERP came back
    await log.bury(messages[1], "fulfilment", 1, "outage_outlasted_horizon", "gone", now)
    await log.ride_out(c, "fulfilment", now + SECOND, "payment")  # now it waits for payment
    await log.postpone(f, "fulfilment", now + TIMEOUT, "TimeoutError")  # failing, not waiting

    assert await ops.waiting_for_remotes() == {"payment": 2, "crm": 1}
