"""Shopify `orders/cancelled` and `refunds/create` webhook payloads translated into commands."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from adapters.shopify_orders import CHANNEL, ShopifyPayloadError, _Reader
from domain.commands import FollowChannelCancellation, RecordChannelRefund


def cancellation_from_shopify(payload: Mapping[str, Any]) -> FollowChannelCancellation:
    """Translate the order JSON of an `orders/cancelled` webhook. The order is found by its id
    (the `channel_order_ref` of `orders/create`); the reason is `cancel_reason` (`customer`,
    `fraud`, `inventory`, `declined`, `staff`, `other`, or null)."""
    read = _Reader()
    order_id = read.order_id(payload)
    cause = payload.get("cancel_reason")
    if cause is not None and not isinstance(cause, str):
        read.refuse("cancel_reason", "must be a string")
    if read.issues:
        raise ShopifyPayloadError(read.issues)
    why = cause.strip() if isinstance(cause, str) and cause.strip() else "no reason given"
    return FollowChannelCancellation(
        channel=CHANNEL, channel_order_ref=order_id, reason=f"cancelled on Shopify: {why}"
    )


def refund_from_shopify(payload: Mapping[str, Any]) -> RecordChannelRefund | None:
    """Translate a refund of a `refunds/create` webhook: the money is the sum of its
    `transactions` of kind `refund` with status `success` (decimal strings, all in one
    currency); pending, failed and other transactions moved no money. None when no money moved
    at all (a restock-only refund): there is nothing for the payment to record.

    Raises `ShopifyPayloadError` listing every field that cannot be translated."""
    read = _Reader()
    refund_id = _shopify_id(read, payload, "id", "the Shopify refund id")
    order_id = _shopify_id(read, payload, "order_id", "the Shopify order id")
    total, currencies = Decimal(0), set()
    for i, tx in read.objects(payload.get("transactions"), "transactions"):
        if tx.get("kind") != "refund" or tx.get("status") != "success":
            continue
        amount = read.amount(tx.get("amount"), f"transactions[{i}].amount")
        currency = read.text(tx, "currency", f"transactions[{i}].currency")
        if amount is not None and currency is not None:
            total += amount
            currencies.add(currency)
    if len(currencies) > 1:
        read.refuse("transactions", f"refunded in several currencies: {sorted(currencies)}")
    if read.issues:
        raise ShopifyPayloadError(read.issues)
    if not currencies:
        return None
    return RecordChannelRefund(
        channel=CHANNEL,
        channel_order_ref=order_id,
        refund_ref=refund_id,
        amount=total,
        currency=currencies.pop(),
    )


def _shopify_id(read: _Reader, payload: Mapping[str, Any], key: str, what: str) -> str:
    value = payload.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    read.refuse(key, f"required: {what}")
    return ""
