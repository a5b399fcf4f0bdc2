"""The demo's clock: simulated time that jumps from one due moment to the next, then real time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime


class DemoClock:
    """Shared by the hub and the simulators, read from the worker's threads too."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._real = False
        self._lock = threading.Lock()

    def now(self) -> datetime:
        if self._real:
            return datetime.now(UTC)
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Move forward to `moment` (never back)."""
        with self._lock:
            self._now = max(self._now, moment)

    def run_in_real_time(self) -> None:
        self._real = True
