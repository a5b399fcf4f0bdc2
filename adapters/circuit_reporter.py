"""Posts what this process's circuit breakers say to the circuit board, off the call path: a
breaker tells synchronously, the board is written later by one background task per process."""

from __future__ import annotations

import asyncio
import logging
import threading

from adapters.http.resilience import CircuitStatus
from ports.circuits import CircuitBoard, CircuitReport
from ports.clock import Clock

logger = logging.getLogger(__name__)


class CircuitReporter:
    """A breaker's listener (`CircuitBreaker(listener=…)`) that never blocks and never raises.

    Each change is stamped with the wall clock at once (the moment the breaker changed) and kept
    as its remote's latest; a task on the running event loop writes the latest of each remote to
    the board, one at a time, each within `timeout` seconds. While the board is slow, newer changes
    replace older ones not written yet, so memory stays bounded and the board ends with the latest.
    A write that fails is logged and dropped: the breaker's next change writes again (at the
    latest, the next probe, one cool-down later). Told outside an event loop (never, from an
    async adapter), the change is logged and dropped.
    """

    def __init__(self, board: CircuitBoard, clock: Clock, *, timeout: float = 5.0) -> None:
        self._board = board
        self._clock = clock
        self._timeout = timeout
        self._lock = threading.Lock()
        self._pending: dict[str, CircuitReport] = {}
        self._writer: asyncio.Task[None] | None = None

    def __call__(self, status: CircuitStatus) -> None:
        report = CircuitReport(
            remote=status.name,
            state=status.state,
            consecutive_failures=status.consecutive_failures,
            at=self._clock.now(),
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.warning(
                "circuit %s %s: not reported (no event loop)", report.remote, report.state
            )
            return
        with self._lock:
            self._pending[report.remote] = report
            writer = self._writer
            if writer is None or writer.done() or writer.get_loop().is_closed():
                self._writer = loop.create_task(self._write_pending())

    async def flush(self) -> None:
        """Wait until every change told so far has been written (or given up on)."""
        while (writer := self._writer) is not None and not writer.done():
            await asyncio.shield(writer)

    async def _write_pending(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._writer = None  # under the lock: the next change starts a new writer
                    return
                batch = list(self._pending.values())
                self._pending.clear()
            for report in batch:
                try:
                    async with asyncio.timeout(self._timeout):
                        await self._board.report(report)
                except Exception:
                    logger.warning(
                        "circuit %s %s: not recorded on the circuit board",
                        report.remote,
                        report.state,
                        exc_info=True,
                    )
