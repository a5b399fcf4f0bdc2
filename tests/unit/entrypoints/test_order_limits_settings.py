"""MAX_CASES_PER_ORDER and MAX_RETURNS_PER_ORDER: read, checked, and handed to the handlers."""

from __future__ import annotations

import pytest

from domain.order_limits import OrderLimits
from entrypoints.settings import Settings, SettingsError


def test_the_defaults_are_bounds_no_real_order_meets() -> None:
    assert Settings.from_env({}).hub().order_limits == OrderLimits(max_cases=20, max_returns=50)


def test_the_limits_come_from_the_environment() -> None:
    env = {"MAX_CASES_PER_ORDER": "5", "MAX_RETURNS_PER_ORDER": "8"}
    assert Settings.from_env(env).hub().order_limits == OrderLimits(max_cases=5, max_returns=8)


@pytest.mark.parametrize("name", ["MAX_CASES_PER_ORDER", "MAX_RETURNS_PER_ORDER"])
@pytest.mark.parametrize("value", ["0", "many"])
def test_a_limit_below_one_or_not_a_number_stops_the_start_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
