"""The remote systems as operators see them: each one's circuit (as its breakers last reported
it) and how many deliveries wait out its outage (PRODUCT.md §8.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ports.circuits import REMOTES, CircuitBoard, CircuitState
from ports.operations import OperationsReader


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteStatus:
    name: str
    state: CircuitState
    since: datetime | None
    consecutive_failures: int
    waiting: int  #: deliveries waiting out this remote's outage

    @property
    def circuit_open(self) -> bool:
        """What `orderhub_remote_circuit_open` says: only `open` (a half-open circuit lets its
        probe through)."""
        return self.state is CircuitState.OPEN


class Remotes:
    def __init__(self, board: CircuitBoard, reader: OperationsReader) -> None:
        self._board = board
        self._reader = reader

    async def statuses(self) -> list[RemoteStatus]:
        """Every remote of `REMOTES`, in that order, whether or not a breaker has reported on it
        (never reported: closed since None, 0 failures); then, by name, any other remote a
        delivery waits for (one whose error no breaker named)."""
        circuits = {c.remote: c for c in await self._board.circuits()}
        waiting = await self._reader.waiting_for_remotes()
        others = sorted((circuits.keys() | waiting.keys()) - set(REMOTES))
        found = []
        for name in (*REMOTES, *others):
            circuit = circuits.get(name)
            found.append(
                RemoteStatus(
                    name=name,
                    state=circuit.state if circuit else CircuitState.CLOSED,
                    since=circuit.since if circuit else None,
                    consecutive_failures=circuit.consecutive_failures if circuit else 0,
                    waiting=waiting.get(name, 0),
                )
            )
        return found
