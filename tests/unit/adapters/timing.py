"""Time that tests control: a monotonic clock moved by hand, sleeps that record and return."""

from __future__ import annotations


class FakeMonotonic:
    """A monotonic clock that stands still until told to move."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordedSleeps:
    """An `asyncio.sleep` stand-in that remembers every pause and takes none of them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def fixed_jitter(value: float = 0.5) -> float:
    """A jitter draw pinned to the middle of [0, 1), so backoff is predictable."""
    return value
