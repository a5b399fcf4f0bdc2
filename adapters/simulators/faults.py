"""The fault model every simulator call goes through: latency, failures, lost replies, outages."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ports.clock import Clock
from ports.remote import RemoteUnavailable

#: Waits the given number of seconds; tests pass one that records instead of waiting.
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outage:
    """A window, [start, end), in which the system refuses every call."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"an outage must end after it starts ({self.start} .. {self.end})")

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Latency:
    """How long a call takes: `fixed` plus a uniform draw from [0, `jitter`]."""

    fixed: timedelta = timedelta(0)
    jitter: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultProfile:
    """How unreliable a system is. `failure_rate` is the share of calls that fail before the
    system acts; `lost_reply_rate` the share that act and then fail anyway (the reply is lost),
    which is what makes idempotency keys necessary."""

    latency: Latency = Latency()
    failure_rate: float = 0.0
    lost_reply_rate: float = 0.0
    outages: tuple[Outage, ...] = ()

    def __post_init__(self) -> None:
        for name in ("failure_rate", "lost_reply_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")


@dataclass(slots=True)
class FaultStats:
    """What the fault model did, for reconciliation and tests."""

    calls: int = 0
    refused_in_outage: int = 0
    transient_failures: int = 0
    lost_replies: int = 0
    slept_seconds: list[float] = field(default_factory=list)


class FaultModel:
    """Decides, deterministically, how each call to a simulated system goes.

    Every call goes `await arrive(op)` → the system acts → `respond(op)`. A call in an outage
    window is refused at once and draws nothing; `arrive` otherwise draws two numbers from the
    seeded stream (jitter, then failure) and `respond` one (lost reply), whatever the rates, so
    the same seed and the same calls at the same clock times give the same latencies, failures
    and lost replies.
    """

    def __init__(
        self,
        profile: FaultProfile = FaultProfile(),
        *,
        seed: int = 0,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        if profile.outages and clock is None:
            raise ValueError("outage windows need a clock to tell when they apply")
        self._profile = profile
        self._rng = random.Random(seed)
        self._clock = clock
        self._sleep: Sleep = sleep or asyncio.sleep
        self._outages: list[Outage] = list(profile.outages)
        self.stats = FaultStats()

    def schedule_outage(self, outage: Outage) -> None:
        """Add an outage window (e.g. from a test or a demo script) to the configured ones."""
        if self._clock is None:
            raise ValueError("outage windows need a clock to tell when they apply")
        self._outages.append(outage)

    def in_outage(self) -> bool:
        if self._clock is None:
            return False
        now = self._clock.now()
        return any(outage.covers(now) for outage in self._outages)

    async def arrive(self, operation: str) -> None:
        """Let a call reach the system, after its latency. Raises `RemoteUnavailable` during an
        outage, or for a transient failure; then the system must not act."""
        self.stats.calls += 1
        if self.in_outage():
            self.stats.refused_in_outage += 1
            raise RemoteUnavailable(f"{operation}: the system is down (outage window)")
        latency = self._profile.latency
        delay = latency.fixed.total_seconds() + self._rng.random() * latency.jitter.total_seconds()
        failed = self._rng.random() < self._profile.failure_rate
        if delay > 0:
            self.stats.slept_seconds.append(delay)
            await self._sleep(delay)
        if failed:
            self.stats.transient_failures += 1
            raise RemoteUnavailable(f"{operation}: transient failure (simulated 503)")

    def respond(self, operation: str) -> None:
        """Let the answer of a call that the system acted on reach the caller. Raises
        `RemoteUnavailable` when the reply is lost: the effect stays, the caller must retry."""
        if self._rng.random() < self._profile.lost_reply_rate:
            self.stats.lost_replies += 1
            raise RemoteUnavailable(f"{operation}: timed out waiting for the reply (simulated)")
