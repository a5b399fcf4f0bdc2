"""An inbound event that came too early is kept trying longer than the outage horizon: what it
waits for (a booking, a capture) may itself be riding out a remote's outage for that long."""

from __future__ import annotations

from datetime import timedelta

from application.inbound import InboundPolicy
from entrypoints.container import build_container
from entrypoints.settings import Settings

SIX_HOURS = timedelta(hours=6)


def test_the_default_policy_keeps_an_early_event_under_two_hours() -> None:
    patience = InboundPolicy().patience()

    assert timedelta(hours=1, minutes=45) < patience < timedelta(hours=2)


def test_a_policy_made_to_outlast_the_horizon_keeps_an_event_an_hour_longer() -> None:
    policy = InboundPolicy().outlasting(SIX_HOURS)

    assert SIX_HOURS + timedelta(hours=1) <= policy.patience()
    assert policy.patience() < SIX_HOURS + timedelta(hours=1, minutes=6)  # one wait more at most


def test_a_short_horizon_never_shortens_the_policy() -> None:
    assert InboundPolicy().outlasting(timedelta(minutes=1)) == InboundPolicy()


def test_the_hub_keeps_early_events_past_its_configured_outage_horizon() -> None:
    container = build_container(Settings(remote_outage_horizon_seconds=3 * 3600))

    patience = container.inbound()._policy.patience()

    assert timedelta(hours=4) <= patience < timedelta(hours=4, minutes=6)
