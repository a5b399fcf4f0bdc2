"""COMMERCE_ROUTES read at start: its defaults and the messages that stop a bad one."""

from __future__ import annotations

import pytest

from adapters.commerce_routes import CommerceRouter
from entrypoints.container import build_container
from entrypoints.settings import Settings, SettingsError
from ports.commerce import CommerceStatus

SHOP = {"COMMERCE_URL": "https://demo.myshopify.com", "SHOPIFY_ACCESS_TOKEN": "shpat_x"}


def test_without_a_shop_every_channel_goes_to_the_simulator_by_default() -> None:
    routes = Settings.from_env({}).commerce_routing()

    assert routes.by_channel == {"*": "simulator"}
    assert routes.target("web") == "simulator"


def test_with_a_shop_only_the_shopify_channel_goes_to_shopify_by_default() -> None:
    routes = Settings.from_env(SHOP).commerce_routing()

    assert routes.by_channel == {"shopify": "shopify"}
    assert routes.target("web") == "none"


def test_routes_given_replace_the_default() -> None:
    settings = Settings.from_env({**SHOP, "COMMERCE_ROUTES": "shopify=shopify,*=simulator"})

    assert settings.commerce_routing().target("pos") == "simulator"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"COMMERCE_ROUTES": "web"}, "COMMERCE_ROUTES: 'web' is not channel=target"),
        ({"COMMERCE_ROUTES": "web=fax"}, "COMMERCE_ROUTES: web=fax: unknown target 'fax'"),
        (
            {"COMMERCE_ROUTES": "web=none,web=none"},
            "COMMERCE_ROUTES: channel 'web' is routed twice",
        ),
        (
            {"COMMERCE_ROUTES": "shopify=shopify"},
            "COMMERCE_ROUTES sends shopify to shopify, which needs COMMERCE_URL and "
            "SHOPIFY_ACCESS_TOKEN",
        ),
        ({"COMMERCE_URL": "https://demo.myshopify.com"}, "COMMERCE_URL needs SHOPIFY_ACCESS_TOKEN"),
        (
            {**SHOP, "COMMERCE_ROUTES": "shopify=shopify,web=webhook"},
            "COMMERCE_ROUTES routes a channel to webhook, which needs WEBHOOK_SECRET_KEY",
        ),
        (
            {"COMMERCE_ROUTES": "web=webhook", "WEBHOOK_SECRET_KEY": "not-a-fernet-key"},
            "WEBHOOK_SECRET_KEY must be one or more comma-separated Fernet keys",
        ),
    ],
)
def test_bad_routes_stop_the_start_with_a_clear_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message):
        Settings.from_env(env)


async def test_the_container_routes_web_orders_away_from_the_shop() -> None:
    commerce = build_container(Settings.from_env(SHOP)).commerce()
    web = CommerceStatus(channel="web", channel_order_ref="W-1", status="booked")

    await commerce.push_status(web, "e1:commerce")  # not sent to Shopify: it would refuse it

    assert isinstance(commerce, CommerceRouter)
    assert commerce.skipped == 1


def test_a_channel_routed_to_webhook_starts_with_a_secret_key() -> None:
    key = "A" * 43 + "="  # 32 bytes of url-safe base64, as Fernet.generate_key() makes
    settings = Settings.from_env({"COMMERCE_ROUTES": "web=webhook", "WEBHOOK_SECRET_KEY": key})
    assert settings.commerce_routing().target("web") == "webhook"
    assert key not in repr(settings)
