"""What `/health/live` of the relay and the worker answers: the process's loops still turn (the
relay's passes keep coming; the worker's threads and its event loop are all running). Not the
database or the broker: they are readiness, and restarting a process does not bring them back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

from entrypoints.readiness import OK, Health

#: A relay whose loops made no pass for this long is stalled. A pass waits at most for a few
#: statements, each cut at 30 s by the engine's command timeout, and a failed one sleeps 1 s:
#: a live relay on a slow database passes well within it.
STALLED_AFTER = 120.0


class Progress:
    """Alive while `count()` keeps growing: a probe that finds it unchanged for longer than
    `within` seconds since it last moved answers stalled."""

    def __init__(
        self,
        name: str,
        count: Callable[[], int],
        within: float = STALLED_AFTER,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._count = count
        self._within = within
        self._monotonic = monotonic
        self._lock = threading.Lock()  # probes may come on several threads at once
        self._seen = count()
        self._moved_at = monotonic()

    def __call__(self) -> Health:
        with self._lock:
            now, current = self._monotonic(), self._count()
            if current != self._seen:
                self._seen, self._moved_at = current, now
            idle = now - self._moved_at
        if idle > self._within:
            return Health(
                status="unavailable", checks={self._name: f"stalled: no pass for {idle:.0f} s"}
            )
        return Health(status="ok", checks={self._name: OK})


def threads_alive(groups: Mapping[str, Callable[[], Iterable[threading.Thread]]]) -> Health:
    """Each group of threads (asked afresh) is all running; a group with none is down."""
    checks = {}
    for name, threads in groups.items():
        found = list(threads())
        stopped = sum(1 for t in found if not t.is_alive())
        if not found:
            checks[name] = "unavailable: none running"
        elif stopped:
            checks[name] = f"unavailable: {stopped} of {len(found)} stopped"
        else:
            checks[name] = OK
    ok = all(v == OK for v in checks.values())
    return Health(status="ok" if ok else "unavailable", checks=checks)
