"""RETURNS_NEED_AGENT: the channels whose returns wait for an agent's decision."""

from __future__ import annotations

from decimal import Decimal

from entrypoints.settings import Settings


def waits_for_an_agent(env: dict[str, str], channel: str) -> bool:
    return not Settings.from_env(env).hub().return_policies.for_channel(channel).auto_authorize


def test_by_default_the_policy_authorizes_every_return() -> None:
    assert not waits_for_an_agent({}, "web")


def test_the_named_channels_returns_wait_and_the_others_do_not() -> None:
    env = {"RETURNS_NEED_AGENT": " marketplace , b2b,"}
    assert waits_for_an_agent(env, "marketplace")
    assert waits_for_an_agent(env, "b2b")
    assert not waits_for_an_agent(env, "web")


def test_a_star_makes_every_channel_s_returns_wait() -> None:
    assert waits_for_an_agent({"RETURNS_NEED_AGENT": "*"}, "any-channel")


def test_a_channel_that_waits_keeps_the_rest_of_the_default_policy() -> None:
    env = {"RETURNS_NEED_AGENT": "b2b", "RETURN_WINDOW_DAYS": "14", "RESTOCKING_FEE_PERCENT": "10"}
    policy = Settings.from_env(env).hub().return_policies.for_channel("b2b")
    assert (policy.window_days, policy.restocking_fee_percent) == (14, Decimal(10))
