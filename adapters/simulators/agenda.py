"""An agenda of inbound events and internal steps, released in time order as the clock passes."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from adapters.simulators.chance import between, chance
from adapters.simulators.inbound import Inbound

#: Something the simulator does at a due time (e.g. the warehouse picks an order).
Step = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Redelivery:
    """How often a system sends an event twice (same id), and how much later the copy comes."""

    rate: float = 0.0
    lag: tuple[timedelta, timedelta] = (timedelta(seconds=5), timedelta(minutes=5))

    def copy_after(self, rng: random.Random) -> timedelta | None:
        """The copy's lag behind the original, or None for no copy; draws once, twice on a copy."""
        return between(rng, *self.lag) if chance(rng, self.rate) else None


class Agenda:
    """Events and steps waiting for their time.

    `release(now)` runs every step and hands out every event due by `now`, earliest first; ties
    keep the order they were scheduled in. A step may schedule more; whatever it schedules that
    is also due by `now` comes out of the same call, still in time order.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Inbound | Step]] = []
        self._seq = count()
        #: how many duplicate deliveries were scheduled (`again_after`)
        self.copies = 0

    def post(
        self,
        due: datetime,
        source: str,
        event: dict[str, Any],
        *,
        again_after: timedelta | None = None,
    ) -> None:
        """Deliver `event` from `source` at `due`, and the very same event again `again_after`
        later when that is given (a duplicate delivery, as at-least-once webhooks do)."""
        heapq.heappush(self._heap, (due, next(self._seq), (source, event)))
        if again_after is not None:
            self.copies += 1
            heapq.heappush(self._heap, (due + again_after, next(self._seq), (source, event)))

    def run_at(self, due: datetime, step: Step) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), step))

    def release(self, now: datetime) -> list[Inbound]:
        released: list[Inbound] = []
        while self._heap and self._heap[0][0] <= now:
            _, _, item = heapq.heappop(self._heap)
            if isinstance(item, tuple):
                released.append(item)
            else:
                item()
        return released

    def next_due(self) -> datetime | None:
        """When the next event or step is due; None when nothing is waiting."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
