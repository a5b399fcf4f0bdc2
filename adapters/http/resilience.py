"""Circuit breaker and retry policy for calls to remote systems, on injectable clocks and sleeps."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from ports.circuits import CircuitState
from ports.remote import RemoteError, RemoteUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: seconds on a clock that never goes backwards (`time.monotonic` in production)
MonotonicClock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
#: Told of each change of a breaker's state or failure count, at once and on the caller's thread:
#: it must not block, and whatever it raises is logged, never felt by the call.
CircuitListener = Callable[["CircuitStatus"], None]


class CircuitOpen(RemoteUnavailable):
    """Raised without calling the remote system while its circuit is open, or while the one
    half-open probe is still in flight. Retrying at once cannot help; later can."""


class RemoteThrottled(RemoteUnavailable):
    """Raised when the remote system asked us to come back after `retry_after` seconds
    (429 or 503 with a `Retry-After` header)."""

    retry_after: float

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitStatus:
    """What the ops view shows of one breaker at one moment."""

    name: str
    state: CircuitState
    consecutive_failures: int
    opened_at: float | None


class CircuitBreaker:
    """Stops calling a remote system that keeps failing, and tries it again carefully.

    Closed: calls go through; `failure_threshold` consecutive transient failures (by default any
    `RemoteUnavailable`) open the circuit. Open: calls fail at once with `CircuitOpen`, without
    touching the remote system. After `reset_timeout` seconds it is half-open: exactly one call
    (the probe) goes through, others still fail fast; the probe's success closes the circuit, its
    transient failure opens it for another `reset_timeout`. A `RemoteRejected` answer proves the
    remote system is up, so it counts as a success, never as a failure; any other exception leaves
    the counts as they were. One breaker may be shared by every adapter, event loop and thread
    that talks to the same system: its bookkeeping is guarded by a lock that is never held across
    an `await`.

    Every `RemoteError` that passes through it (its own `CircuitOpen` included, and a refusal)
    leaves naming the breaker's remote in `remote`, unless the adapter named it already. `listener`, when
    given, hears the breaker's status after each change of state or of the failure count (a
    success in the closed state with no failures counted changes neither, and is not told); the
    cool-down ending is not a change until a call makes the probe.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: MonotonicClock = time.monotonic,
        transient: tuple[type[BaseException], ...] = (RemoteUnavailable,),
        listener: CircuitListener | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout < 0:
            raise ValueError("reset_timeout must not be negative")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._transient = transient
        self._listener = listener
        self._lock = threading.Lock()
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        """The state the next call will meet: an open circuit past its cool-down is half-open."""
        with self._lock:
            return self._effective_state()

    @property
    def opened_at(self) -> float | None:
        """When (on the breaker's clock) the circuit last opened; None while closed."""
        return self._opened_at

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def status(self) -> CircuitStatus:
        with self._lock:
            return self._status()

    def _status(self) -> CircuitStatus:
        return CircuitStatus(
            name=self.name,
            state=self._effective_state(),
            consecutive_failures=self._failures,
            opened_at=self._opened_at,
        )

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the block if the circuit lets it through, and learn from how it ends."""
        probe = self._admit()
        try:
            yield
        except self._transient as error:
            if isinstance(error, RemoteUnavailable) and not error.remote:
                error.remote = self.name
            self._record_failure(probe)
            raise
        except RemoteError as error:
            if not error.remote:
                error.remote = self.name
            self._record_success(probe)
            raise
        except BaseException:
            self._release(probe)
            raise
        self._record_success(probe)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        async with self.guard():
            return await operation()

    def _effective_state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._cooled_down():
            return CircuitState.HALF_OPEN
        return self._state

    def _cooled_down(self) -> bool:
        return self._opened_at is not None and (
            self._clock() - self._opened_at >= self.reset_timeout
        )

    def _admit(self) -> bool:
        """Let the call through (True when it is the half-open probe) or raise `CircuitOpen`."""
        with self._lock:
            before = self._counts()
            state = self._effective_state()
            if state is CircuitState.CLOSED:
                return False
            probe = state is CircuitState.HALF_OPEN and not self._probing
            if probe:
                self._state = CircuitState.HALF_OPEN
                self._probing = True
                logger.info("circuit %s half-open: probing", self.name)
            elif state is CircuitState.HALF_OPEN:
                reason = "half-open: a probe is in flight"
            else:
                waited = self._clock() - (self._opened_at or 0.0)
                reason = f"open: {max(0.0, self.reset_timeout - waited):.1f}s to the next probe"
            told = self._change_since(before)
        self._tell(told)
        if probe:
            return True
        raise CircuitOpen(f"circuit {self.name} {reason}", remote=self.name)

    def _record_success(self, probe: bool) -> None:
        with self._lock:
            before = self._counts()
            if probe or self._state is CircuitState.CLOSED:
                # A call that started before the circuit opened proves little; only the probe
                # (or a call in the closed state) may close it.
                if self._state is not CircuitState.CLOSED:
                    logger.info("circuit %s closed", self.name)
                self._state = CircuitState.CLOSED
                self._failures = 0
                self._opened_at = None
                self._probing = False
            told = self._change_since(before)
        self._tell(told)

    def _record_failure(self, probe: bool) -> None:
        with self._lock:
            if not probe and self._state is not CircuitState.CLOSED:
                return  # a straggler that started before the circuit opened
            before = self._counts()
            self._failures += 1
            if probe or self._failures >= self.failure_threshold:
                was_closed = self._state is CircuitState.CLOSED
                self._state = CircuitState.OPEN
                self._opened_at = self._clock()
                self._probing = False
                # Warn when the system goes down; a failed probe while it stays down is routine.
                logger.log(
                    logging.WARNING if was_closed else logging.INFO,
                    "circuit %s open after %d consecutive failures",
                    self.name,
                    self._failures,
                )
            told = self._change_since(before)
        self._tell(told)

    def _release(self, probe: bool) -> None:
        with self._lock:
            if probe:
                self._probing = False

    def _counts(self) -> tuple[CircuitState, int]:
        """What a listener hears about: the stored state (not the cooled-down one) and failures."""
        return self._state, self._failures

    def _change_since(self, before: tuple[CircuitState, int]) -> CircuitStatus | None:
        """The status to tell the listener, when it changed since `before` (under the lock)."""
        if self._listener is None or self._counts() == before:
            return None
        return CircuitStatus(
            name=self.name,
            state=self._state,
            consecutive_failures=self._failures,
            opened_at=self._opened_at,
        )

    def _tell(self, status: CircuitStatus | None) -> None:
        """Outside the lock: a listener that calls back into the breaker cannot deadlock it."""
        if status is None or self._listener is None:
            return
        try:
            self._listener(status)
        except Exception:
            logger.exception("circuit %s: its listener failed on %s", self.name, status.state)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Retries an idempotent operation that failed transiently, a bounded number of times.

    At most `attempts` tries. Between them it sleeps "full jitter" exponential backoff: a uniform
    draw in [0, min(max_delay, base_delay × 2^(n−1))) before retry n. When the remote system said
    when to come back (`RemoteThrottled`), it waits that long plus a jitter of up to `base_delay`,
    so that workers told the same moment do not all return at once; if that is more than
    `max_retry_after`, it gives up at once and lets the error carry the hint to the caller (the
    message-level retry), rather than hammering a remote system before it is ready or holding a
    worker for minutes. `RemoteRejected`, `CircuitOpen` and every non-remote error are raised at
    once: retrying them cannot help.
    """

    attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 10.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)
    #: draws uniformly from [0, 1); injectable so tests can pin the jitter
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry: int) -> float:
        """The pause before retry number `retry` (1 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * math.pow(2, retry - 1))
        return self.jitter() * ceiling

    def delay_before(self, retry: int, error: RemoteUnavailable) -> float | None:
        """How long to wait before retry `retry` after `error`, or None to give up."""
        if retry >= self.attempts or isinstance(error, CircuitOpen):
            return None
        if isinstance(error, RemoteThrottled):
            if error.retry_after > self.max_retry_after:
                return None
            return error.retry_after + self.jitter() * self.base_delay
        return self.backoff(retry)

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        retry = 0
        while True:
            try:
                return await operation()
            except RemoteUnavailable as error:
                retry += 1
                delay = self.delay_before(retry, error)
                if delay is None:
                    raise
                logger.info(
                    "retry %d of %d in %.2fs after: %s", retry, self.attempts - 1, delay, error
                )
                await self.sleep(delay)


NO_RETRY = RetryPolicy(attempts=1)


async def resilient(
    operation: Callable[[], Awaitable[T]], *, retry: RetryPolicy, breaker: CircuitBreaker
) -> T:
    """Run `operation` through the breaker on every attempt, retried by `retry`: each attempt
    counts toward opening the circuit, and an open circuit ends the retries at once."""
    return await retry.run(lambda: breaker.call(operation))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds, fractional seconds as Shopify
    sends them, or an HTTP-date), or None when it is absent or unreadable."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
