"""The delivery policy: how many attempts, how long between them, how long an event waits for an
earlier one of its aggregate, and when the relay publishes a delivery again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from ports.delivery_log import Predecessor


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPolicy:
    """Attempts per (event, consumer), crashes of the worker included; then the dead-letter store."""

    max_attempts: int = 8
    min_backoff_ms: int = 200
    max_backoff_ms: int = 60_000
    #: Beyond its retry delay, how long a delivery may take before the relay publishes it again.
    redelivery_timeout: timedelta = timedelta(seconds=30)

    #: How long a running attempt holds its delivery without renewing the hold (it renews it
    #: every third of this while it runs): a copy arriving meanwhile neither runs nor spends an
    #: attempt; a worker that dies mid-attempt lets go of it this long after its last renewal.
    lease: timedelta = timedelta(seconds=10)

    #: How soon an event that waits for an earlier one still in flight is tried again.
    wait_ms: tuple[int, int] = (50, 250)
    #: How long a delivery may wait for a remote system that is away (an open circuit, timeouts,
    #: 5xx, 429) before it is given up (REMOTE_OUTAGE_HORIZON_SECONDS). Meanwhile it spends no
    #: attempt: one maintenance window must not turn into a pile of dead letters.
    outage_horizon: timedelta = timedelta(hours=6)
    #: The most that telling an order's timeline of a delivery's trouble may add to the delivery
    #: (PRODUCT.md §8.3); past it the telling is given up, logged, and the outcome stands.
    trouble_timeout: timedelta = timedelta(seconds=5)

    def outage_wait_ms(
        self, waited: timedelta, retry_after: float | None, rng: random.Random
    ) -> int:
        """How soon to try again a delivery whose remote is away: when the remote said
        (`Retry-After`), else about as long as the outage has lasted so far, between the minimum
        and the maximum backoff, with jitter. A short outage drains within seconds; a long one
        costs each waiting delivery about one try a minute."""
        if retry_after is not None:
            return int(retry_after * 1000) + rng.randint(0, self.min_backoff_ms)
        lasted = int(waited.total_seconds() * 1000)
        ceiling = min(self.max_backoff_ms, max(lasted, self.min_backoff_ms))
        return rng.randint(
            max(ceiling // 2, self.min_backoff_ms), max(ceiling, self.min_backoff_ms)
        )

    def busy_wait_ms(self, rng: random.Random) -> int:
        """When a copy that found its delivery held comes back: once the hold would have run out
        unrenewed, with jitter (by then the running copy has finished, or its worker is dead)."""
        lease = int(self.lease.total_seconds() * 1000)
        return rng.randint(lease, lease + self.min_backoff_ms)

    def backoff_ms(self, attempt: int, rng: random.Random) -> int:
        """Exponential with full jitter: uniform in [min, min·2^(attempt-1)], capped."""
        ceiling = min(self.max_backoff_ms, self.min_backoff_ms * 2 ** max(attempt - 1, 0))
        return rng.randint(self.min_backoff_ms, max(ceiling, self.min_backoff_ms))

    def wait_for_ms(self, predecessor: Predecessor, now: datetime, rng: random.Random) -> int:
        """Soon if the earlier event is merely in flight; after its next retry if it is failing
        or waiting out an outage (no tight polling while the ERP is down)."""
        low, high = self.wait_ms
        next_try = predecessor.due_at - self.redelivery_timeout - now
        until_then = int(next_try.total_seconds() * 1000)
        return min(self.max_backoff_ms, max(until_then, 0)) + rng.randint(low, high)
