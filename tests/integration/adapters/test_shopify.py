"""The Shopify commerce adapter against a fake shop on a loopback socket: fulfillments with
tracking, cancellations and order notes, each once; rate limits, timeouts and the breaker."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from adapters.http.resilience import CircuitOpen, RemoteThrottled
from adapters.http.shopify import ShopifyCommerce
from ports.commerce import CommerceStatus
from ports.remote import RemoteRejected, RemoteUnavailable
from tests.integration.adapters.fake_shopify import API, FakeShopify
from tests.integration.adapters.scripted import Fault
from tests.unit.adapters.timing import RecordedSleeps

MakeShop = Callable[..., ShopifyCommerce]
ORDER = 450789469
FULFILLMENT_POST = f"POST {API}/fulfillments.json"


def status(value: str, **fields: str) -> CommerceStatus:
    return CommerceStatus(channel="shopify", channel_order_ref=str(ORDER), status=value, **fields)


SHIPPED = status("shipped", carrier="UPS", tracking_number="1Z999AA10123456784")


async def test_a_shipment_becomes_a_fulfillment_with_tracking(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER, {7: 2})
    await make_shop().push_status(SHIPPED, "evt-1:commerce")
    [fulfillment] = fake_shopify.fulfillments[ORDER]
    assert (fulfillment["tracking_number"], fulfillment["tracking_company"]) == (
        "1Z999AA10123456784", "UPS",
    )  # fmt: skip
    assert len(fulfillment["line_items"]) == 2
    [post] = fake_shopify.seen(FULFILLMENT_POST)
    assert post.body == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {"fulfillment_order_id": fo} for fo in fake_shopify.fulfillment_orders
            ],
            "notify_customer": True,
            "tracking_info": {"number": "1Z999AA10123456784", "company": "UPS"},
        }
    }
    assert {s.headers["x-shopify-access-token"] for s in fake_shopify.requests} == {"shpat_test"}
    assert all(s.path.startswith("/admin/api/2025-01/") for s in fake_shopify.requests)


async def test_pushing_the_same_shipment_again_creates_no_second_fulfillment(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    shop = make_shop()
    await shop.push_status(SHIPPED, "evt-1:commerce")
    await shop.push_status(SHIPPED, "evt-1:commerce")
    assert len(fake_shopify.fulfillments[ORDER]) == 1
    assert len(fake_shopify.seen(FULFILLMENT_POST)) == 1


async def test_a_fulfillment_whose_reply_was_lost_is_not_created_twice(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    fake_shopify.fail_next(Fault(502, match=FULFILLMENT_POST, commit=True))
    await make_shop().push_status(SHIPPED, "evt-1:commerce")
    assert len(fake_shopify.fulfillments[ORDER]) == 1
    assert len(fake_shopify.seen(FULFILLMENT_POST)) == 1


async def test_a_tracking_number_already_on_the_order_is_not_fulfilled_again_while_lines_stay_open(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    shop = make_shop()
    await shop.push_status(SHIPPED, "evt-1:commerce")
    for fo in fake_shopify.fulfillment_orders.values():  # e.g. a fulfillment service still busy
        fo["status"] = "in_progress"
        for item in fo["line_items"]:
            item["fulfillable_quantity"] = 1
    await shop.push_status(SHIPPED, "evt-1:commerce")
    assert len(fake_shopify.fulfillments[ORDER]) == 1


async def test_each_location_gets_its_own_fulfillment_and_a_retry_completes_only_the_rest(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER, {7: 1, 8: 2})
    fake_shopify.fail_next(Fault(502, match=FULFILLMENT_POST, commit=True))
    await make_shop().push_status(SHIPPED, "evt-1:commerce")
    fulfillments = fake_shopify.fulfillments[ORDER]
    assert sorted((f["location_id"], len(f["line_items"])) for f in fulfillments) == [
        (7, 1),
        (8, 2),
    ]
    assert len(fake_shopify.seen(FULFILLMENT_POST)) == 2


async def test_a_shipment_without_tracking_fulfils_what_is_open_once(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    shop = make_shop()
    await shop.push_status(status("shipped"), "evt-1:commerce")
    await shop.push_status(status("shipped"), "evt-1:commerce")
    [fulfillment] = fake_shopify.fulfillments[ORDER]
    assert fulfillment["tracking_numbers"] == []
    assert "tracking_info" not in fake_shopify.seen(FULFILLMENT_POST)[0].body["fulfillment"]


async def test_the_rate_limit_is_waited_out_as_shopify_asks(
    make_shop: MakeShop, fake_shopify: FakeShopify, sleeps: RecordedSleeps
) -> None:
    fake_shopify.add_order(ORDER)
    throttled = Fault(429, {"errors": "Exceeded 2 calls per second"}, {"Retry-After": "2.0"})
    fake_shopify.fail_next(throttled)
    await make_shop().push_status(SHIPPED, "evt-1:commerce")
    assert sleeps.delays == pytest.approx([2.1])
    assert len(fake_shopify.fulfillments[ORDER]) == 1


async def test_a_rate_limit_longer_than_the_cap_is_left_to_the_message_retry(
    make_shop: MakeShop, fake_shopify: FakeShopify, sleeps: RecordedSleeps
) -> None:
    fake_shopify.add_order(ORDER)
    fake_shopify.fail_next(Fault(429, {"errors": "slow down"}, {"Retry-After": "60"}))
    with pytest.raises(RemoteThrottled):
        await make_shop().push_status(SHIPPED, "evt-1:commerce")
    assert (len(fake_shopify.requests), sleeps.delays) == (1, [])


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_server_errors_are_retried(
    make_shop: MakeShop, fake_shopify: FakeShopify, code: int
) -> None:
    fake_shopify.add_order(ORDER)
    fake_shopify.fail_next(Fault(code, {"errors": "oops"}, match="fulfillment_orders"))
    await make_shop().push_status(SHIPPED, "evt-1:commerce")
    assert len(fake_shopify.fulfillments[ORDER]) == 1


# -- cancellation and notes ----------------------------------------------------------------------


async def test_a_cancellation_cancels_the_order_once(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    shop = make_shop(notify_customer=False)
    await shop.push_status(status("cancelled", note="customer request"), "evt-2:commerce")
    await shop.push_status(status("cancelled", note="customer request"), "evt-2:commerce")
    assert fake_shopify.orders[ORDER]["cancelled_at"]
    [cancel] = fake_shopify.seen("cancel.json")
    assert cancel.body == {"reason": "other", "email": False}


async def test_an_order_cancelled_in_the_shopify_admin_is_left_alone(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    fake_shopify.orders[ORDER]["cancelled_at"] = "2026-11-01T10:00:00+00:00"
    await make_shop().push_status(status("cancelled"), "evt-2:commerce")
    assert fake_shopify.seen("cancel.json") == []


async def test_cancelling_an_order_shopify_cannot_cancel_is_refused(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    shop = make_shop()
    await shop.push_status(SHIPPED, "evt-1:commerce")
    with pytest.raises(RemoteRejected, match="fulfilled"):
        await shop.push_status(status("cancelled"), "evt-2:commerce")
    assert len(fake_shopify.seen("cancel.json")) == 1


async def test_other_statuses_become_order_attributes_and_a_tag_once(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    fake_shopify.orders[ORDER]["note_attributes"] = [{"name": "gift_wrap", "value": "yes"}]
    fake_shopify.orders[ORDER]["tags"] = "vip"
    shop = make_shop()
    on_hold = status("on_hold", note="ERP: unknown items SKU-X")
    await shop.push_status(on_hold, "evt-3:commerce")
    await shop.push_status(on_hold, "evt-3:commerce")
    order = fake_shopify.orders[ORDER]
    assert order["note_attributes"] == [
        {"name": "gift_wrap", "value": "yes"},
        {"name": "orderhub_status", "value": "on_hold"},
        {"name": "orderhub_note", "value": "ERP: unknown items SKU-X"},
    ]
    assert order["tags"] == "orderhub-on_hold, vip"
    assert len(fake_shopify.seen(f"PUT {API}/orders/")) == 1
    [put] = fake_shopify.seen(f"PUT {API}/orders/")
    assert put.body["order"]["id"] == ORDER

    await shop.push_status(status("booked"), "evt-4:commerce")
    assert order["tags"] == "orderhub-booked, vip"


async def test_a_partial_shipment_is_noted_with_its_tracking_and_fulfils_nothing(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    partial = status("partially_shipped", carrier="DHL", tracking_number="JD0001")
    await make_shop().push_status(partial, "evt-5:commerce")
    assert fake_shopify.fulfillments[ORDER] == []
    assert {"name": "orderhub_tracking", "value": "DHL JD0001"} in (
        fake_shopify.orders[ORDER]["note_attributes"]
    )


# -- refusals, the wire and the breaker ----------------------------------------------------------


async def test_an_unknown_order_is_refused_without_retrying(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    with pytest.raises(RemoteRejected, match="404"):
        await make_shop().push_status(SHIPPED, "evt-1:commerce")
    assert len(fake_shopify.requests) == 1


async def test_a_wrong_access_token_is_refused(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    with pytest.raises(RemoteRejected, match="401"):
        await make_shop(access_token="shpat_wrong").push_status(SHIPPED, "evt-1:commerce")


async def test_a_channel_reference_that_is_no_shopify_order_id_is_refused_unsent(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    odd = CommerceStatus(channel="shopify", channel_order_ref="#1001", status="shipped")
    with pytest.raises(RemoteRejected, match="not a Shopify order id"):
        await make_shop().push_status(odd, "evt-1:commerce")
    assert fake_shopify.requests == []


async def test_a_stalled_answer_times_out_and_is_retried(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    fake_shopify.fail_next(Fault(None, match=FULFILLMENT_POST, commit=True, stall=3.0))
    started = time.monotonic()
    await make_shop(timeout=0.2).push_status(SHIPPED, "evt-1:commerce")
    assert time.monotonic() - started < 2.0
    assert len(fake_shopify.fulfillments[ORDER]) == 1


async def test_the_circuit_opens_and_spares_the_shop(
    make_shop: MakeShop, fake_shopify: FakeShopify
) -> None:
    fake_shopify.add_order(ORDER)
    shop = make_shop(attempts=1, threshold=2)
    fake_shopify.fail_always(Fault(503), times=2)
    for _ in range(2):
        with pytest.raises(RemoteUnavailable):
            await shop.push_status(SHIPPED, "evt-1:commerce")
    with pytest.raises(CircuitOpen):
        await shop.push_status(SHIPPED, "evt-1:commerce")
    assert len(fake_shopify.requests) == 2
