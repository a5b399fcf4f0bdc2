"""The circuit board on the in-memory store, with the SQL one's rules."""

from __future__ import annotations

from adapters.memory.store import InMemoryStore
from ports.circuits import Circuit, CircuitReport, CircuitState


class InMemoryCircuitBoard:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def report(self, report: CircuitReport) -> None:
        held = self._store.circuits.get(report.remote)
        if held is not None and held.reported_at > report.at:
            return  # a later report is held already
        closed = report.state is CircuitState.CLOSED
        if held is None:
            since = None if closed else report.at
        elif (held.state is CircuitState.CLOSED) == closed:
            since = held.since
        else:
            since = report.at
        self._store.circuits[report.remote] = Circuit(
            remote=report.remote,
            state=report.state,
            since=since,
            consecutive_failures=report.consecutive_failures,
            reported_at=report.at,
        )

    async def circuits(self) -> list[Circuit]:
        return [self._store.circuits[name] for name in sorted(self._store.circuits)]
