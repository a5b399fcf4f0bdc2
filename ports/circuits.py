"""The circuit board: what the circuit breakers of every process last said about each remote
system, kept where any API process can read it (breakers live in workers, the ops view in APIs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol

#: Every remote system orderhub calls, each behind a circuit breaker of that name (PRODUCT.md §8.3).
REMOTES: Final = ("erp", "payment", "crm", "commerce")


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitReport:
    """What one process's breaker says about its remote at `at` (wall clock): sent when its state
    changes and when its count of consecutive failures changes, never for a success that changes
    neither."""

    remote: str
    state: CircuitState
    consecutive_failures: int
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Circuit:
    """A remote's circuit as the board holds it: the latest report, and since when the remote
    has been down (`open` or `half_open`) or up (`closed`)."""

    remote: str
    state: CircuitState
    #: When the circuit went from closed to open, or from open (or half-open) to closed; kept
    #: while it moves between open and half-open. None: closed, and never seen otherwise.
    since: datetime | None
    consecutive_failures: int
    reported_at: datetime


class CircuitBoard(Protocol):
    """One circuit per remote; several processes report on the same remote, and the latest
    report (by its `at`) wins: a report older than the one held changes nothing."""

    async def report(self, report: CircuitReport) -> None:
        """Hold `report` as its remote's circuit, unless a later one is held already. `since`
        becomes `report.at` when the circuit crosses between closed and not closed (open,
        half-open), and is kept otherwise; a first report sets it to `at`, or None when closed."""
        ...

    async def circuits(self) -> list[Circuit]:
        """Every circuit ever reported, by remote name."""
        ...
