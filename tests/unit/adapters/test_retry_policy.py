"""The retry policy: bounded attempts, full-jitter backoff, Retry-After within a cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.http.resilience import (
    CircuitBreaker,
    CircuitOpen,
    RemoteThrottled,
    RetryPolicy,
    parse_retry_after,
    resilient,
)
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.unit.adapters.timing import FakeMonotonic, RecordedSleeps, fixed_jitter


class Flaky:
    """Fails with the given errors in turn, then answers."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


def policy(sleeps: RecordedSleeps, **overrides: float) -> RetryPolicy:
    settings: dict[str, float] = {"attempts": 3, "base_delay": 0.2, "max_delay": 5.0}
    settings.update(overrides)
    return RetryPolicy(sleep=sleeps, jitter=fixed_jitter, **settings)  # type: ignore[arg-type]


async def test_a_call_that_succeeds_is_not_delayed(sleeps: RecordedSleeps) -> None:
    call = Flaky()
    assert await policy(sleeps).run(call) == "done"
    assert (call.calls, sleeps.delays) == (1, [])


async def test_transient_failures_are_retried_with_exponential_backoff_until_success(
    sleeps: RecordedSleeps,
) -> None:
    call = Flaky(RemoteUnavailable("503"), RemoteUnavailable("timeout"))
    assert await policy(sleeps).run(call) == "done"
    assert call.calls == 3
    assert sleeps.delays == pytest.approx([0.1, 0.2])  # half of 0.2, then half of 0.4


async def test_attempts_are_bounded_and_the_last_error_is_raised(sleeps: RecordedSleeps) -> None:
    call = Flaky(*(RemoteUnavailable(f"503 #{n}") for n in range(10)))
    with pytest.raises(RemoteUnavailable, match="503 #2"):
        await policy(sleeps).run(call)
    assert (call.calls, len(sleeps.delays)) == (3, 2)


@pytest.mark.parametrize(
    "error",
    [RemoteRejected("422"), CircuitOpen("circuit open"), ValueError("a bug of ours")],
    ids=["permanent", "circuit-open", "not-remote"],
)
async def test_errors_a_retry_cannot_fix_are_raised_at_once(
    sleeps: RecordedSleeps, error: Exception
) -> None:
    call = Flaky(error)
    with pytest.raises(type(error)):
        await policy(sleeps).run(call)
    assert (call.calls, sleeps.delays) == (1, [])


def test_backoff_doubles_up_to_the_cap_and_is_drawn_below_it(sleeps: RecordedSleeps) -> None:
    capped = policy(sleeps, base_delay=1.0, max_delay=4.0, attempts=10)
    assert [capped.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    no_luck = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=lambda: 0.0)
    assert no_luck.backoff(3) == 0.0  # full jitter: anywhere from zero


async def test_retry_after_is_honoured_with_a_little_jitter(sleeps: RecordedSleeps) -> None:
    call = Flaky(RemoteThrottled("429", retry_after=3.0))
    assert await policy(sleeps).run(call) == "done"
    assert sleeps.delays == pytest.approx([3.0 + 0.5 * 0.2])


async def test_a_retry_after_beyond_the_cap_gives_up_and_hands_the_hint_on(
    sleeps: RecordedSleeps,
) -> None:
    call = Flaky(RemoteThrottled("429", retry_after=60.0))
    with pytest.raises(RemoteThrottled) as raised:
        await policy(sleeps, max_retry_after=10.0).run(call)
    assert raised.value.retry_after == 60.0
    assert (call.calls, sleeps.delays) == (1, [])


async def test_through_a_breaker_an_opening_circuit_ends_the_retries(
    sleeps: RecordedSleeps,
) -> None:
    breaker = CircuitBreaker("erp", failure_threshold=2, clock=FakeMonotonic())
    call = Flaky(*(RemoteUnavailable("502") for _ in range(10)))
    with pytest.raises(CircuitOpen):
        await resilient(call, retry=policy(sleeps, attempts=5), breaker=breaker)
    assert call.calls == 2
    assert len(sleeps.delays) == 2  # two pauses: after each of the failures that reached it


def test_settings_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)


NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        ("2.0", 2.0),  # Shopify sends fractional seconds
        ("-4", 0.0),
        ("Mon, 02 Nov 2026 09:00:10 GMT", 10.0),
        ("Mon, 02 Nov 2026 08:59:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
    ],
)
def test_retry_after_headers_are_read_as_seconds_from_now(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_an_http_date_is_measured_against_the_wall_clock_by_default() -> None:
    later = (datetime.now(UTC) + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 < (parse_retry_after(later) or 0) <= 30
