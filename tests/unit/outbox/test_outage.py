"""Riding out a remote system's outage (PRODUCT.md §8.3): while the ERP, the CRM, the commerce
platform or the payment provider is away, the deliveries that need it wait without spending
attempts, in per-aggregate order, until `outage_horizon`; only then are they dead letters."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from outbox.delivery import Outcome
from outbox.policy import DeliveryPolicy
from ports.remote import RemoteUnavailable
from tests.unit.outbox.conftest import POLICY
from tests.unit.outbox.pipeline import Pipeline, build_pipeline


class Throttled(RemoteUnavailable):
    retry_after = 7.0


def first_message(pipeline: Pipeline, order_id: UUID) -> dict[str, Any]:
    return pipeline.messages(order_id)[0]


async def test_a_remote_away_for_hours_spends_no_attempt_and_makes_no_dead_letter(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_until_fixed(RemoteUnavailable("circuit erp open"))

    started, tries = pipeline.now, 0
    while pipeline.now - started < timedelta(hours=5):  # bounded: the clock moves every try
        result = await pipeline.deliver("as_they_come", placed)
        assert result.outcome is Outcome.OUTAGE
        tries += 1
        pipeline.advance(timedelta(milliseconds=result.delay_ms))

    assert tries > POLICY.max_attempts * 10  # far more tries than attempts allowed
    record = pipeline.record(placed, "as_they_come")
    assert record.attempts == 0
    assert record.unfinished
    assert pipeline.letters() == []

    pipeline.as_they_come.fixed()  # the remote is back
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DONE
    assert len(pipeline.as_they_come.handled) == 1


async def test_an_outage_past_the_horizon_makes_a_dead_letter(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_until_fixed(RemoteUnavailable("ERP answered 503"))
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.OUTAGE

    pipeline.advance(POLICY.outage_horizon)
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.OUTAGE
    pipeline.advance(timedelta(seconds=1))
    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.DEAD

    [letter] = pipeline.letters()
    assert letter.reason == "outage_outlasted_horizon"
    assert "ERP answered 503" in letter.error


async def test_a_delivery_waits_as_long_as_the_remote_asked(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_with(Throttled("429: slow down"))

    result = await pipeline.deliver("as_they_come", placed)

    assert result.outcome is Outcome.OUTAGE
    assert 7_000 <= result.delay_ms <= 7_000 + POLICY.min_backoff_ms
    assert result.retry_in_ms == result.delay_ms
    record = pipeline.record(placed, "as_they_come")
    assert record.due_at == (
        pipeline.now + timedelta(milliseconds=result.delay_ms) + POLICY.redelivery_timeout
    )


@given(
    seed=st.integers(),
    lasted_ms=st.integers(min_value=0, max_value=10**9),
)
def test_an_outage_is_tried_again_about_as_often_as_it_has_lasted(
    seed: int, lasted_ms: int
) -> None:
    policy = DeliveryPolicy(min_backoff_ms=200, max_backoff_ms=60_000)
    delay = policy.outage_wait_ms(timedelta(milliseconds=lasted_ms), None, random.Random(seed))
    ceiling = min(policy.max_backoff_ms, max(lasted_ms, policy.min_backoff_ms))
    assert max(ceiling // 2, policy.min_backoff_ms) <= delay <= ceiling


async def test_later_events_wait_behind_an_earlier_one_that_waits_out_an_outage() -> None:
    pipeline = build_pipeline(replace(POLICY, max_backoff_ms=60_000))
    await pipeline.hub.stock("MUG", "dc-east", 10)
    order_id = await pipeline.place_order()
    await pipeline.relay_until_quiet()
    placed, reserved = pipeline.messages(order_id)
    low, high = pipeline.policy.wait_ms
    pipeline.in_order.fail_until_fixed(RemoteUnavailable("circuit erp open"))
    pipeline.advance(timedelta(minutes=10))  # deliver the first once, then 10 min into the outage
    first = await pipeline.deliver("in_order", placed)
    pipeline.advance(timedelta(minutes=10))
    again = await pipeline.deliver("in_order", placed)
    assert (first.outcome, again.outcome) == (Outcome.OUTAGE, Outcome.OUTAGE)
    assert again.delay_ms >= 30_000  # ten minutes in: about a try a minute, not sooner

    waited = await pipeline.deliver("in_order", reserved)

    assert waited.outcome is Outcome.WAIT
    assert again.delay_ms + low <= waited.delay_ms <= again.delay_ms + high  # no polling
    assert pipeline.record(reserved, "in_order").attempts == 0
    assert pipeline.record(placed, "in_order").attempts == 0

    pipeline.in_order.fixed()
    pipeline.advance(timedelta(milliseconds=again.delay_ms))
    assert (await pipeline.deliver("in_order", placed)).outcome is Outcome.DONE
    assert (await pipeline.deliver("in_order", reserved)).outcome is Outcome.DONE
    assert pipeline.in_order.versions() == [1, 2]  # drained in stream order
    assert pipeline.letters() == []


async def test_a_delivery_waits_for_the_remote_its_error_names(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_with(RemoteUnavailable("circuit payment open", remote="payment"))

    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.OUTAGE

    assert pipeline.record(placed, "as_they_come").waiting_for == "payment"


async def test_an_outage_no_breaker_named_is_waited_out_under_unknown(
    pipeline: Pipeline, order_id: UUID
) -> None:
    placed = first_message(pipeline, order_id)
    pipeline.as_they_come.fail_with(RemoteUnavailable("connection refused"))

    assert (await pipeline.deliver("as_they_come", placed)).outcome is Outcome.OUTAGE

    record = pipeline.record(placed, "as_they_come")
    assert (record.waiting_for, record.attempts) == ("unknown", 0)
