"""The delivery policy's delays (`outbox.policy.DeliveryPolicy`): exponential backoff with full
jitter, and how long an event waits for an earlier one of its aggregate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from outbox.policy import DeliveryPolicy
from ports.delivery_log import Predecessor

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@st.composite
def policies(draw: st.DrawFn) -> DeliveryPolicy:
    low = draw(st.integers(min_value=1, max_value=10_000))
    return DeliveryPolicy(
        min_backoff_ms=low,
        max_backoff_ms=draw(st.integers(min_value=low, max_value=3_600_000)),
        redelivery_timeout=timedelta(seconds=draw(st.integers(min_value=1, max_value=600))),
    )


@given(policy=policies(), attempt=st.integers(min_value=1, max_value=80), seed=st.integers())
def test_backoff_stays_between_the_minimum_and_the_doubled_ceiling_capped_at_the_maximum(
    policy: DeliveryPolicy, attempt: int, seed: int
) -> None:
    delay = policy.backoff_ms(attempt, random.Random(seed))

    ceiling = min(policy.max_backoff_ms, policy.min_backoff_ms * 2 ** (attempt - 1))
    assert policy.min_backoff_ms <= delay <= ceiling


def test_the_first_retry_waits_the_minimum() -> None:
    policy = DeliveryPolicy()
    assert {policy.backoff_ms(1, random.Random(seed)) for seed in range(20)} == {
        policy.min_backoff_ms
    }


def test_backoff_is_spread_over_its_whole_range() -> None:
    """Full jitter: retries of many failed messages do not come back at the same moment."""
    policy = DeliveryPolicy(min_backoff_ms=100, max_backoff_ms=60_000)
    delays = [policy.backoff_ms(6, random.Random(seed)) for seed in range(200)]  # up to 3.2 s
    assert min(delays) < 1_000
    assert max(delays) > 2_400


@given(policy=policies(), seed=st.integers(), published_ago=st.integers(0, 10**7))
def test_an_event_waits_briefly_for_an_earlier_one_that_is_merely_in_flight(
    policy: DeliveryPolicy, seed: int, published_ago: int
) -> None:
    # Published (due by then plus the redelivery timeout), no retry of its own scheduled.
    due_at = NOW - timedelta(milliseconds=published_ago) + policy.redelivery_timeout
    in_flight = Predecessor(attempts=0, due_at=due_at)

    low, high = policy.wait_ms
    assert low <= policy.wait_for_ms(in_flight, NOW, random.Random(seed)) <= high


@given(
    policy=policies(),
    seed=st.integers(),
    attempts=st.integers(min_value=0, max_value=20),  # 0: it waits out an outage
    next_try_in=st.integers(min_value=-(10**7), max_value=10**7),
)
def test_an_event_waits_for_a_failing_earlier_one_until_its_next_retry(
    policy: DeliveryPolicy, seed: int, attempts: int, next_try_in: int
) -> None:
    # A retry due in `next_try_in` ms is expected back by then plus the redelivery timeout.
    due_at = NOW + timedelta(milliseconds=next_try_in) + policy.redelivery_timeout
    failing = Predecessor(attempts=attempts, due_at=due_at)

    waited = policy.wait_for_ms(failing, NOW, random.Random(seed))

    low, high = policy.wait_ms
    until_retry = min(policy.max_backoff_ms, max(next_try_in, 0))
    assert until_retry + low <= waited <= until_retry + high
