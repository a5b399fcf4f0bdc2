"""The retention job (PRODUCT.md §8.7): deletes what is older than `RETENTION_DAYS`, in batches
small enough that no transaction holds its locks for long, with a pause between them so that
commands get the database in between; at most `most_batches` per kind per run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from ports.clock import Clock
from ports.retention import Kept, RetentionStore


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    days: int = 30
    batch: int = 1000
    #: A run's bound per kind: a first run over years of history spreads over several runs.
    most_batches: int = 200
    #: Between two batches: commands waiting for a lock or a connection go first.
    pause: timedelta = timedelta(milliseconds=20)


class Retention:
    def __init__(self, store: RetentionStore, clock: Clock, policy: RetentionPolicy) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy

    async def run(self) -> dict[Kept, int]:
        """One run: how many of each kind it deleted."""
        policy = self._policy
        before = self._clock.now() - timedelta(days=policy.days)
        deleted: dict[Kept, int] = {}
        for kept in Kept:
            total = 0
            for _ in range(policy.most_batches):
                count = await self._store.purge(kept, before, policy.batch)
                total += count
                if count < policy.batch:
                    break
                await asyncio.sleep(policy.pause.total_seconds())
            deleted[kept] = total
        return deleted
