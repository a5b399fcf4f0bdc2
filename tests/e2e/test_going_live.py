"""Issue 14's "done when" on real processes (tests/e2e/going_live.py): with Stripe, a Shopify shop
and a REST ERP (fakes on loopback), a Shopify order and two web orders (EUR, JPY) each run place →
book → ship → deliver → return → refund; Stripe moves each order's money once per step, in minor
units and under our keys; the shop hears only its own order; nothing is dead-lettered."""

from __future__ import annotations

import pytest

from tests.e2e.going_live import SHOPIFY_ORDER_ID, Outcome, run


@pytest.fixture(scope="module")
def outcome() -> Outcome:
    # Printed, so that pytest shows the transcript (and the processes' logs) when a test fails.
    return run()


def test_stripe_captured_and_refunded_each_order_once_in_minor_units_under_our_keys(
    outcome: Outcome,
) -> None:
    expected = sorted(
        [("capture", o.intent, o.capture_minor, o.currency.lower(), [f"capture:{o.order_id}"])
         for o in outcome.orders]
        + [("refund", o.intent, o.refund_minor, o.currency.lower(), [f"refund:{o.return_id}"])
           for o in outcome.orders]
    )  # fmt: skip
    assert sorted(outcome.movements) == expected
    amounts = {(o.label, o.capture_minor, o.refund_minor) for o in outcome.orders}
    assert amounts == {("shopify", 3998, 1999), ("web EUR", 4452, 2498), ("web JPY", 2960, 1480)}


def test_every_order_and_return_reached_its_end(outcome: Outcome) -> None:
    for order in outcome.orders:
        payment = order.final_order["payment"]
        assert (order.final_order["status"], payment["status"]) == (
            "delivered",
            "partially_refunded",
        ), order.label
        assert (payment["reference"], payment["captured"]) == (order.intent, order.total)
        assert order.final_return["status"] == "closed"
        assert order.final_return["refund_amount"] == payment["refunded"]


def test_the_shop_heard_only_the_shopify_orders_pushes(outcome: Outcome) -> None:
    assert outcome.shopify_orders == {SHOPIFY_ORDER_ID}
    writes = [line for line in outcome.shopify_heard if not line.startswith("GET ")]
    assert sorted(writes) == [
        "POST /admin/api/2025-01/fulfillments.json",
        *[f"PUT /admin/api/2025-01/orders/{SHOPIFY_ORDER_ID}.json"] * 3,
    ]
    # The fulfilment and returns consumers push apart, so only the set is certain, not the order.
    assert sorted(outcome.shopify_statuses) == ["booked", "delivered", "partially_refunded"]
    assert outcome.shopify_tracking == ["JD014600001"]


def test_the_web_orders_pushes_were_skipped_not_sent(outcome: Outcome) -> None:
    web = [o.ref for o in outcome.orders if o.channel == "web"]
    statuses = ("booked", "shipped", "delivered", "partially_refunded")
    assert sorted(outcome.skipped) == sorted(("web", s, ref) for s in statuses for ref in web)


def test_nothing_was_dead_lettered_and_no_process_failed(outcome: Outcome) -> None:
    assert outcome.dead_letters == []
    assert outcome.tracebacks == {}
