"""Shopify `orders/cancelled` and `refunds/create` payloads translated into the hub's commands."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.shopify_lifecycle import cancellation_from_shopify, refund_from_shopify
from adapters.shopify_orders import ShopifyPayloadError
from domain.commands import FollowChannelCancellation, RecordChannelRefund
from tests.unit.shopify.payloads import shopify_cancelled_order, shopify_refund


def test_a_cancelled_order_is_found_by_its_id_with_shopifys_reason() -> None:
    assert cancellation_from_shopify(shopify_cancelled_order()) == FollowChannelCancellation(
        channel="shopify",
        channel_order_ref="5612345678901",
        reason="cancelled on Shopify: customer",
    )


def test_a_cancellation_without_a_reason_says_so() -> None:
    payload = shopify_cancelled_order()
    payload["cancel_reason"] = None
    assert cancellation_from_shopify(payload).reason == "cancelled on Shopify: no reason given"


def test_a_cancellation_without_an_order_id_is_refused() -> None:
    payload = shopify_cancelled_order()
    del payload["id"]
    with pytest.raises(ShopifyPayloadError) as refused:
        cancellation_from_shopify(payload)
    assert [i.field for i in refused.value.issues] == ["id"]


def test_a_refund_is_the_sum_of_its_successful_refund_transactions() -> None:
    payload = shopify_refund()
    transaction = payload["transactions"][0]
    payload["transactions"] += [
        {**transaction, "id": 2, "amount": "1.23"},
        {**transaction, "id": 3, "status": "failure", "amount": "50.00"},
        {**transaction, "id": 4, "kind": "sale", "amount": "50.00"},
    ]
    assert refund_from_shopify(payload) == RecordChannelRefund(
        channel="shopify",
        channel_order_ref="5612345678901",
        refund_ref="929361462",
        amount=Decimal("15.00"),
        currency="USD",
    )


def test_a_refund_that_moved_no_money_is_nothing_to_record() -> None:
    payload = shopify_refund()
    payload["transactions"] = []
    assert refund_from_shopify(payload) is None


def test_an_untranslatable_refund_names_every_field() -> None:
    payload = shopify_refund()
    del payload["order_id"]
    payload["transactions"][0]["amount"] = 13.77
    with pytest.raises(ShopifyPayloadError) as refused:
        refund_from_shopify(payload)
    assert [i.field for i in refused.value.issues] == ["order_id", "transactions[0].amount"]


def test_a_refund_in_several_currencies_is_refused() -> None:
    payload = shopify_refund()
    payload["transactions"].append({**payload["transactions"][0], "id": 2, "currency": "CAD"})
    with pytest.raises(ShopifyPayloadError) as refused:
        refund_from_shopify(payload)
    assert [i.field for i in refused.value.issues] == ["transactions"]
