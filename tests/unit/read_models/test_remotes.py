"""The remotes view: all four remotes always, each with its circuit as last reported and the
deliveries waiting out its outage; a remote never reported on is closed."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from adapters.memory.circuit_board import InMemoryCircuitBoard
from adapters.memory.operations_reader import InMemoryOperationsReader
from adapters.memory.store import DeliveryRecord, InMemoryStore
from ports.circuits import CircuitReport, CircuitState
from read_models.remotes import Remotes, RemoteStatus

AT = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def remotes(store: InMemoryStore) -> Remotes:
    return Remotes(InMemoryCircuitBoard(store), InMemoryOperationsReader(store))


def waiting(
    store: InMemoryStore, remote: str, n: int, processed_at: datetime | None = None
) -> None:
    """`n` deliveries that rode out an outage of `remote` (and were processed at `processed_at`)."""
    for _ in range(n):
        store.deliveries[(uuid4(), "fulfilment")] = DeliveryRecord(
            due_at=AT, outage_since=AT, waiting_for=remote, processed_at=processed_at
        )


async def test_every_remote_is_listed_closed_before_any_breaker_reports() -> None:
    statuses = await remotes(InMemoryStore()).statuses()

    assert statuses == [
        RemoteStatus(
            name=name, state=CircuitState.CLOSED, since=None, consecutive_failures=0, waiting=0
        )
        for name in ("erp", "payment", "crm", "commerce")
    ]


async def test_a_remote_shows_its_circuit_and_the_deliveries_waiting_for_it() -> None:
    store = InMemoryStore()
    board = InMemoryCircuitBoard(store)
    await board.report(
        CircuitReport(remote="erp", state=CircuitState.OPEN, consecutive_failures=7, at=AT)
    )
    waiting(store, "erp", 3)
    waiting(store, "erp", 2, processed_at=AT)  # drained: no longer waiting

    erp, payment, *_ = await remotes(store).statuses()

    assert erp == RemoteStatus(
        name="erp", state=CircuitState.OPEN, since=AT, consecutive_failures=7, waiting=3
    )
    assert erp.circuit_open
    assert payment.waiting == 0
    assert not payment.circuit_open


async def test_deliveries_waiting_for_an_unnamed_remote_are_listed_after_the_four() -> None:
    store = InMemoryStore()
    waiting(store, "unknown", 1)

    names = [(r.name, r.waiting) for r in await remotes(store).statuses()]

    assert names == [("erp", 0), ("payment", 0), ("crm", 0), ("commerce", 0), ("unknown", 1)]


async def test_a_half_open_circuit_does_not_read_as_open() -> None:
    store = InMemoryStore()
    await InMemoryCircuitBoard(store).report(
        CircuitReport(remote="crm", state=CircuitState.HALF_OPEN, consecutive_failures=5, at=AT)
    )

    crm = (await remotes(store).statuses())[2]

    assert (crm.state, crm.circuit_open) == (CircuitState.HALF_OPEN, False)
