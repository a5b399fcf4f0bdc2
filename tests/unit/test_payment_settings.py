"""PAYMENT_PROVIDER, STRIPE_API_KEY and STRIPE_API_BASE: validated at start, the key never shown,
and the container picking the payment adapter they name."""

from __future__ import annotations

import pytest

from adapters.guarded_payment import GuardedPayments
from adapters.http.stripe import StripePayments
from adapters.simulators.payment import SimulatedPayments
from entrypoints.container import build_container
from entrypoints.settings import Settings, SettingsError

KEY = "sk_test_51OrderhubSecretKey0123456789"
STRIPE = {"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": KEY}


def test_the_simulator_is_the_default_and_needs_no_key() -> None:
    settings = Settings.from_env({})
    assert settings.payment_provider == "simulator"
    assert settings.stripe_api_key is None
    assert settings.stripe_api_base == "https://api.stripe.com"


@pytest.mark.parametrize("key", [KEY, "sk_live_abc123", "rk_test_Restricted99", "rk_live_x1"])
def test_stripe_takes_a_secret_or_restricted_key(key: str) -> None:
    settings = Settings.from_env({**STRIPE, "STRIPE_API_KEY": key, "PAYMENT_PROVIDER": "Stripe"})
    assert (settings.payment_provider, settings.stripe_api_key) == ("stripe", key)


def test_stripe_without_a_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY"):
        Settings.from_env({"PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": "  "})


@pytest.mark.parametrize(
    "key",
    [
        "pk_test_51Publishable123",
        "sk_51NoMode",
        "whsec_abcdef",
        "sk_test_with-dash",
        "Bearer sk_test_a",
    ],
)
def test_a_key_that_is_not_a_secret_or_restricted_key_is_refused_without_showing_it(
    key: str,
) -> None:
    with pytest.raises(SettingsError, match="STRIPE_API_KEY must be a Stripe secret key") as e:
        Settings.from_env({**STRIPE, "STRIPE_API_KEY": key})
    assert key not in str(e.value)


@pytest.mark.parametrize(
    "base", ["ftp://api.stripe.com", "api.stripe.com", "https://", "file:///x"]
)
def test_a_base_that_is_not_http_is_refused(base: str) -> None:
    with pytest.raises(SettingsError, match="STRIPE_API_BASE must be an http"):
        Settings.from_env({**STRIPE, "STRIPE_API_BASE": base})


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(SettingsError, match="PAYMENT_PROVIDER must be one of simulator, stripe"):
        Settings.from_env({"PAYMENT_PROVIDER": "paypal"})


def test_the_key_is_not_in_the_settings_repr() -> None:
    assert KEY not in repr(Settings.from_env(STRIPE))


async def test_the_container_builds_stripe_behind_the_payment_breaker() -> None:
    container = build_container(
        Settings.from_env({**STRIPE, "STRIPE_API_BASE": "http://127.0.0.1:9"})
    )
    payment = container.payment()
    assert isinstance(payment, StripePayments)
    assert payment.breaker is container.payment_breaker()
    assert payment.breaker.name == "payment"
    assert KEY not in repr(payment)
    await payment.aclose()


def test_the_container_builds_the_simulator_behind_the_payment_breaker_by_default() -> None:
    container = build_container(Settings.from_env({}))
    payment = container.payment()
    assert isinstance(payment, GuardedPayments)
    assert payment.breaker is container.payment_breaker()
    assert isinstance(container.back_office().payments, SimulatedPayments)


def test_no_secret_of_any_remote_appears_in_the_settings_repr() -> None:
    secrets = {
        "ERP_API_KEY": "erp-secret-4711",
        "SALESFORCE_CLIENT_SECRET": "sf-secret-4712",
        "SHOPIFY_ACCESS_TOKEN": "shpat_secret4713",
        "SHOPIFY_WEBHOOK_SECRET": "hook-secret-4714",
    }
    settings = Settings.from_env(secrets)
    assert settings.erp_api_key == "erp-secret-4711"  # read, and kept
    shown = repr(settings)
    assert [name for name, value in secrets.items() if value in shown] == []
