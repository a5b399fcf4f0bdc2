"""The fault model: seeded failures, latency through the injected sleep, outage windows."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from adapters.clock import FixedClock
from adapters.simulators.faults import FaultModel, FaultProfile, Latency, Outage
from ports.remote import RemoteUnavailable
from tests.unit.simulators.worlds import START, RecordingSleep


async def outcomes(model: FaultModel, calls: int) -> list[str]:
    """What each of `calls` calls experienced: ok, failed (before acting) or lost (after)."""
    seen = []
    for _ in range(calls):
        try:
            await model.arrive("op")
        except RemoteUnavailable:
            seen.append("failed")
            continue
        try:
            model.respond("op")
        except RemoteUnavailable:
            seen.append("lost")
        else:
            seen.append("ok")
    return seen


FLAKY = FaultProfile(
    latency=Latency(fixed=timedelta(milliseconds=50), jitter=timedelta(milliseconds=30)),
    failure_rate=0.2,
    lost_reply_rate=0.1,
)


async def test_the_same_seed_gives_the_same_failures_and_latencies() -> None:
    sleeps = RecordingSleep(), RecordingSleep()
    first = FaultModel(FLAKY, seed=42, sleep=sleeps[0])
    second = FaultModel(FLAKY, seed=42, sleep=sleeps[1])

    assert await outcomes(first, 300) == await outcomes(second, 300)
    assert sleeps[0].waits == sleeps[1].waits
    assert len(sleeps[0].waits) == 300


async def test_another_seed_gives_other_failures() -> None:
    first = await outcomes(FaultModel(FLAKY, seed=1, sleep=RecordingSleep()), 300)
    second = await outcomes(FaultModel(FLAKY, seed=2, sleep=RecordingSleep()), 300)
    assert first != second


async def test_the_failure_count_is_exactly_what_the_seeded_stream_draws() -> None:
    """The draw contract: per call one jitter draw and one failure draw, then one lost-reply
    draw only for calls that reached the system. Replaying it predicts every failure."""
    profile = FaultProfile(failure_rate=0.2)
    seen = await outcomes(FaultModel(profile, seed=7), 1000)

    rng, expected = random.Random(7), []
    for _ in range(1000):
        rng.random()
        if rng.random() < 0.2:
            expected.append("failed")
        else:
            rng.random()
            expected.append("ok")
    assert seen == expected


@pytest.mark.parametrize("seed", range(20))
async def test_the_observed_failure_rate_is_within_five_standard_deviations(seed: int) -> None:
    """1000 calls at 20 %: binomial, σ = √(1000·0.2·0.8) ≈ 12.6, so 200 ± 63 holds with
    probability 1 − 6e-7 per seed; being seeded, it either always passes or never does."""
    model = FaultModel(FaultProfile(failure_rate=0.2), seed=seed)
    seen = await outcomes(model, 1000)
    assert abs(seen.count("failed") - 200) <= 63
    assert model.stats.transient_failures == seen.count("failed")


async def test_a_rate_of_zero_never_fails_and_one_always_fails() -> None:
    assert set(await outcomes(FaultModel(FaultProfile(failure_rate=0.0), seed=3), 200)) == {"ok"}
    assert set(await outcomes(FaultModel(FaultProfile(failure_rate=1.0), seed=3), 200)) == {
        "failed"
    }


async def test_a_lost_reply_comes_after_the_call_reached_the_system() -> None:
    model = FaultModel(FaultProfile(lost_reply_rate=1.0), seed=3)
    await model.arrive("op")  # reached: the system may act
    with pytest.raises(RemoteUnavailable, match="reply"):
        model.respond("op")
    assert model.stats.lost_replies == 1


async def test_latency_is_awaited_through_the_injected_sleep() -> None:
    sleep = RecordingSleep()
    profile = FaultProfile(latency=Latency(fixed=timedelta(seconds=2), jitter=timedelta(seconds=1)))
    model = FaultModel(profile, seed=5, sleep=sleep)

    await outcomes(model, 50)

    assert len(sleep.waits) == 50
    assert all(2.0 <= wait <= 3.0 for wait in sleep.waits)
    assert len(set(sleep.waits)) > 1  # the jitter varies
    assert model.stats.slept_seconds == sleep.waits


async def test_a_fixed_latency_waits_the_same_every_time() -> None:
    sleep = RecordingSleep()
    model = FaultModel(
        FaultProfile(latency=Latency(fixed=timedelta(milliseconds=250))), sleep=sleep
    )
    await outcomes(model, 3)
    assert sleep.waits == [0.25, 0.25, 0.25]


async def test_no_latency_never_sleeps() -> None:
    sleep = RecordingSleep()
    await outcomes(FaultModel(seed=5, sleep=sleep), 20)
    assert sleep.waits == []


async def test_every_call_inside_an_outage_window_is_refused_and_none_outside() -> None:
    clock = FixedClock(START)
    window = Outage(START + timedelta(hours=1), START + timedelta(hours=1, minutes=30))
    model = FaultModel(FaultProfile(outages=(window,)), clock=clock)

    seen = {}
    for offset in (0, 59, 60, 75, 89, 90, 120):
        clock.set(START + timedelta(minutes=offset))
        seen[offset] = (await outcomes(model, 1))[0]

    assert seen == {
        0: "ok",
        59: "ok",
        60: "failed",
        75: "failed",
        89: "failed",
        90: "ok",
        120: "ok",
    }
    assert model.stats.refused_in_outage == 3


async def test_an_outage_refuses_at_once_without_latency() -> None:
    clock, sleep = FixedClock(START), RecordingSleep()
    profile = FaultProfile(
        latency=Latency(fixed=timedelta(seconds=1)),
        outages=(Outage(START, START + timedelta(minutes=5)),),
    )
    model = FaultModel(profile, clock=clock, sleep=sleep)
    with pytest.raises(RemoteUnavailable, match="outage"):
        await model.arrive("op")
    assert sleep.waits == []


async def test_calls_refused_in_an_outage_do_not_shift_later_outcomes() -> None:
    clock = FixedClock(START)
    profile = FaultProfile(failure_rate=0.3, outages=(Outage(START, START + timedelta(hours=1)),))
    with_outage = FaultModel(profile, seed=11, clock=clock)
    without = FaultModel(FaultProfile(failure_rate=0.3), seed=11)

    assert set(await outcomes(with_outage, 25)) == {"failed"}  # all refused: the ERP is down
    clock.advance(timedelta(hours=1))
    assert await outcomes(with_outage, 100) == await outcomes(without, 100)


async def test_an_outage_can_be_scheduled_while_running() -> None:
    clock = FixedClock(START)
    model = FaultModel(clock=clock)
    model.schedule_outage(Outage(START, START + timedelta(minutes=1)))
    assert model.in_outage()
    clock.advance(timedelta(minutes=1))
    assert not model.in_outage()


def test_outage_windows_need_a_clock() -> None:
    with pytest.raises(ValueError, match="clock"):
        FaultModel(FaultProfile(outages=(Outage(START, START + timedelta(minutes=1)),)))


def test_an_outage_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end after"):
        Outage(START, START)


def test_rates_are_shares() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        FaultProfile(failure_rate=1.5)
