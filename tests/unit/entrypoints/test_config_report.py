"""`orderhub config`: every setting as the process sees it, no secret shown."""

from __future__ import annotations

from entrypoints.config_report import config_report
from entrypoints.settings import Settings

SECRETS = {
    "ERP_API_KEY": "erp-key-5b1d0c",
    "SALESFORCE_CLIENT_SECRET": "sf-secret-77a2e1",
    "SHOPIFY_ACCESS_TOKEN": "shpat_4c9e0aa1",
    "SHOPIFY_WEBHOOK_SECRET": "shpss_e1f00b",
    "STRIPE_API_KEY": "sk_test_9f8e7d6c5b",
}
PASSWORDS = ("db-pw-31c7", "broker-pw-8e02", "limits-pw-0a9d", "erp-url-pw-66b1")


def configured() -> Settings:
    return Settings.from_env(
        {
            **SECRETS,
            "DATABASE_URL": f"postgresql+asyncpg://hub:{PASSWORDS[0]}@127.0.0.1/hub",
            "BROKER_URL": f"redis://:{PASSWORDS[1]}@127.0.0.1:6379/7",
            "RATE_LIMIT_STORAGE": f"redis://:{PASSWORDS[2]}@127.0.0.1:6379/7",
            "ERP_URL": f"https://hub:{PASSWORDS[3]}@erp.test",
            "CRM_URL": "https://login.salesforce.test",
            "SALESFORCE_CLIENT_ID": "3MVG9-client",
            "COMMERCE_URL": "https://shop.test",
            "PAYMENT_PROVIDER": "stripe",
        }
    )


def test_the_configuration_shows_no_secret_and_no_password() -> None:
    report = config_report(configured())
    for secret in [*SECRETS.values(), *PASSWORDS]:
        assert secret not in report
    for name in SECRETS:
        assert f"{name}" in report
    assert "postgresql+asyncpg://hub:***@127.0.0.1/hub" in report
    assert "redis://:***@127.0.0.1:6379/7" in report


def test_every_setting_says_its_value_and_whether_it_was_set() -> None:
    lines = config_report(configured()).splitlines()
    by_name = {line.split()[0]: line for line in lines[1:] if line.startswith("  ")}
    assert "***  (set)" in by_name["STRIPE_API_KEY"]
    assert "(not set)" in by_name["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert "1800  (default)" in by_name["RESERVATION_TTL_SECONDS"]
    assert "stripe  (set)" in by_name["PAYMENT_PROVIDER"]


def test_it_says_whether_serve_delivers_in_its_own_process() -> None:
    assert "delivery: embedded" in config_report(Settings.from_env({}))
    assert "delivery: separate processes" in config_report(configured())
