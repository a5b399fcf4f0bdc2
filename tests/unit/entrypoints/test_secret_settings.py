"""Secrets in the settings: a blank one refused at start, none of them in the settings' repr."""

from __future__ import annotations

import pytest

from entrypoints.settings import Settings, SettingsError


@pytest.mark.parametrize(
    "name",
    [
        "SHOPIFY_WEBHOOK_SECRET",
        "SHOPIFY_ACCESS_TOKEN",
        "ERP_API_KEY",
        "SALESFORCE_CLIENT_SECRET",
        "WEBHOOK_SECRET_KEY",
    ],
)
def test_a_secret_that_is_only_whitespace_is_refused_at_start(name: str) -> None:
    with pytest.raises(SettingsError, match=f"{name} is set but blank"):
        Settings.from_env({name: " \t "})


def test_an_unset_or_empty_webhook_secret_leaves_the_webhooks_unconfigured() -> None:
    assert Settings.from_env({}).shopify_webhook_secret is None
    assert Settings.from_env({"SHOPIFY_WEBHOOK_SECRET": ""}).shopify_webhook_secret is None


def test_shopify_deliveries_are_taken_for_six_hours_unless_configured() -> None:
    # Shopify retries a delivery for 4 hours with its original trigger time.
    assert Settings.from_env({}).shopify_webhook_max_age_seconds == 6 * 3600
    configured = Settings.from_env({"SHOPIFY_WEBHOOK_MAX_AGE_SECONDS": "300"})
    assert configured.shopify_webhook_max_age_seconds == 300
    with pytest.raises(SettingsError, match="SHOPIFY_WEBHOOK_MAX_AGE_SECONDS must be at least 60"):
        Settings.from_env({"SHOPIFY_WEBHOOK_MAX_AGE_SECONDS": "10"})


def test_the_feed_keeps_thirty_days_and_webhooks_call_only_public_addresses_by_default() -> None:
    settings = Settings.from_env({})
    assert (settings.retention_days, settings.webhook_allow_private) == (30, False)
    assert settings.webhook_secret_key is None
    configured = Settings.from_env({"RETENTION_DAYS": "7", "WEBHOOK_ALLOW_PRIVATE": "true"})
    assert (configured.retention_days, configured.webhook_allow_private) == (7, True)
    with pytest.raises(SettingsError, match="RETENTION_DAYS must be at least 1"):
        Settings.from_env({"RETENTION_DAYS": "0"})
