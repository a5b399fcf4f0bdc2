"""Per-channel commerce routing: each push reaches its channel's target only, `none` skips."""

from __future__ import annotations

import logging

import pytest

from adapters.commerce_routes import CommerceRouter, CommerceRoutes, InvalidRoutes
from adapters.memory.remote import InMemoryCommerce
from ports.commerce import CommerceStatus


def status(channel: str, ref: str = "1001", value: str = "booked") -> CommerceStatus:
    return CommerceStatus(channel=channel, channel_order_ref=ref, status=value)


def router(text: str) -> tuple[CommerceRouter, InMemoryCommerce, InMemoryCommerce]:
    shopify, simulator = InMemoryCommerce(), InMemoryCommerce()
    routes = CommerceRoutes.parse(text)
    return CommerceRouter(routes, {"shopify": shopify, "simulator": simulator}), shopify, simulator


def test_routes_name_a_target_per_channel_and_the_rest_get_none() -> None:
    routes = CommerceRoutes.parse(" shopify = shopify , web=SIMULATOR,pos=none")

    assert routes.by_channel == {"shopify": "shopify", "web": "simulator", "pos": "none"}
    assert routes.target("web") == "simulator"
    assert routes.target("marketplace") == "none"
    assert routes.targets == {"shopify", "simulator", "none"}


def test_the_star_route_covers_every_channel_not_listed() -> None:
    routes = CommerceRoutes.parse("pos=none,*=simulator")

    assert routes.target("pos") == "none"
    assert routes.target("web") == "simulator"
    assert routes.targets == {"none", "simulator"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web", "'web' is not channel=target"),
        ("web=", "'web=' is not channel=target"),
        ("=shopify", "'=shopify' is not channel=target"),
        ("shopify=shopify,", "'' is not channel=target"),
        ("web=email", "web=email: unknown target 'email'; targets are none, shopify, simulator"),
        ("web=none,web=simulator", "channel 'web' is routed twice"),
        ("*=none,*=simulator", "channel '*' is routed twice"),
    ],
)
def test_malformed_routes_are_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(InvalidRoutes, match="^" + message.replace("*", r"\*")):
        CommerceRoutes.parse(text)


async def test_a_shopify_order_goes_to_shopify_while_web_is_none() -> None:
    routes, shopify, simulator = router("shopify=shopify,web=none")

    await routes.push_status(status("shopify", "450789469"), "e1:commerce")
    await routes.push_status(status("web", "W-1"), "e2:commerce")

    assert shopify.updates == {"e1:commerce": status("shopify", "450789469")}
    assert simulator.updates == {}
    assert routes.skipped == 1


async def test_each_channel_reaches_its_own_target_only() -> None:
    routes, shopify, simulator = router("shopify=shopify,*=simulator")

    await routes.push_status(status("shopify"), "k1")
    await routes.push_status(status("web"), "k2")
    await routes.push_status(status("pos"), "k3")

    assert [u.channel for u in shopify.updates.values()] == ["shopify"]
    assert [u.channel for u in simulator.updates.values()] == ["web", "pos"]
    assert routes.skipped == 0


async def test_an_unlisted_channel_is_skipped_and_logged_never_failing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    routes, shopify, simulator = router("shopify=shopify")
    shopify.down = simulator.down = True  # a skip asks nobody, so no outage can fail it

    with caplog.at_level(logging.INFO, logger="adapters.commerce_routes"):
        await routes.push_status(status("pos", "P-7", "shipped"), "k1")
        await routes.push_status(status("pos", "P-7", "delivered"), "k2")

    assert routes.skipped == 2
    skips = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert (
        skips[0] == "commerce push skipped: channel pos routes to none (status shipped, order P-7)"
    )
    assert "status delivered" in skips[1]


def test_a_router_refuses_a_route_to_a_target_it_has_no_adapter_for() -> None:
    with pytest.raises(ValueError, match=r"without an adapter: \['webhook'\]"):
        CommerceRouter(CommerceRoutes.parse("web=webhook"), {"simulator": InMemoryCommerce()})
