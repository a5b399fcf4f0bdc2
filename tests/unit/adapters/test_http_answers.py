"""How HTTP answers become port errors, and the pure pieces of the adapters' documents."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from adapters.http.erp_rest import decimal_string
from adapters.http.errors import http_error, transport_error
from adapters.http.resilience import RemoteThrottled
from adapters.http.salesforce import salesforce_error
from adapters.http.shopify import (
    already_tracked,
    annotated,
    open_fulfillment_orders,
    retagged,
    shopify_order_id,
)
from ports.commerce import CommerceStatus
from ports.remote import RemoteRejected, RemoteUnavailable

REQUEST = httpx.Request("PUT", "https://erp.test/orders/1")


def answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers, request=REQUEST)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_timeouts_throttling_and_server_errors_are_transient(status: int) -> None:
    error = http_error(answer(status), "ERP")
    assert type(error) is RemoteUnavailable
    assert f"ERP answered {status} to PUT /orders/1" in str(error)


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 409, 422])
def test_other_answers_are_permanent(status: int) -> None:
    assert isinstance(http_error(answer(status), "ERP"), RemoteRejected)


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_on_429_or_503_travels_with_the_error(status: int) -> None:
    error = http_error(answer(status, **{"Retry-After": "7"}), "ERP")
    assert isinstance(error, RemoteThrottled)
    assert error.retry_after == 7.0


def test_a_retry_after_on_other_errors_is_ignored() -> None:
    assert type(http_error(answer(500, **{"Retry-After": "7"}), "ERP")) is RemoteUnavailable


def test_error_messages_quote_only_the_start_of_a_large_body() -> None:
    page = httpx.Response(502, text="<html>" + "x" * 10_000, request=REQUEST)
    assert len(str(http_error(page, "ERP"))) < 400


def test_failures_on_the_wire_are_transient_but_an_unusable_url_is_not() -> None:
    assert type(transport_error(httpx.ConnectError("refused"), REQUEST, "ERP")) is (
        RemoteUnavailable
    )
    assert type(transport_error(httpx.ReadTimeout("slow"), REQUEST, "ERP")) is RemoteUnavailable
    assert isinstance(
        transport_error(httpx.UnsupportedProtocol("ftp"), REQUEST, "ERP"), RemoteRejected
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "REQUEST_LIMIT_EXCEEDED"), (400, "UNABLE_TO_LOCK_ROW"), (503, "SERVER_UNAVAILABLE")],
)
def test_salesforce_error_codes_that_mean_not_now_are_transient(status: int, code: str) -> None:
    error = salesforce_error(answer(status, [{"message": "wait", "errorCode": code}]), "SF")
    assert type(error) is RemoteUnavailable
    assert code in str(error)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, [{"message": "bad", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}]),
        (404, [{"message": "gone", "errorCode": "NOT_FOUND"}]),
        (400, {"error": "invalid_client", "error_description": "invalid client credentials"}),
        (400, "not a list"),
    ],
)
def test_other_salesforce_refusals_are_permanent(status: int, body: object) -> None:
    assert isinstance(salesforce_error(answer(status, body), "SF"), RemoteRejected)


def test_amounts_are_plain_decimal_strings() -> None:
    assert [decimal_string(Decimal(v)) for v in ("19.99", "1E+2", "0.10")] == [
        "19.99", "100", "0.10",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("ref", "order_id"), [("450789469", "450789469"), ("gid://shopify/Order/42", "42")]
)
def test_shopify_order_ids_are_numeric_or_global_ids(ref: str, order_id: str) -> None:
    assert shopify_order_id(ref) == order_id


@pytest.mark.parametrize("ref", ["#1001", "42; DROP", "", "gid://shopify/Product/42"])
def test_anything_else_is_refused_as_not_a_shopify_order(ref: str) -> None:
    with pytest.raises(RemoteRejected):
        shopify_order_id(ref)


def test_fulfillment_orders_still_open_are_grouped_by_location() -> None:
    def fo(id_: int, location: int, status: str = "open", left: int = 1) -> dict[str, object]:
        items = [{"id": id_ * 10, "fulfillable_quantity": left}]
        return {"id": id_, "status": status, "assigned_location_id": location, "line_items": items}

    orders = [fo(1, 7), fo(2, 8), fo(3, 7), fo(4, 7, "closed"), fo(5, 8, left=0)]
    grouped = open_fulfillment_orders(orders)
    assert {loc: [f["id"] for f in fos] for loc, fos in grouped.items()} == {7: [1, 3], 8: [2]}


def test_a_tracking_number_counts_only_on_a_live_fulfillment_at_that_location() -> None:
    fulfillments = [
        {"status": "success", "location_id": 7, "tracking_numbers": ["1Z1"]},
        {"status": "cancelled", "location_id": 7, "tracking_number": "1Z2"},
    ]
    assert already_tracked(fulfillments, 7, "1Z1")
    assert not already_tracked(fulfillments, 8, "1Z1")
    assert not already_tracked(fulfillments, 7, "1Z2")


def test_our_order_attributes_replace_ours_and_keep_everybody_elses() -> None:
    existing = [{"name": "gift", "value": "yes"}, {"name": "orderhub_status", "value": "booked"}]
    update = CommerceStatus(
        channel="web", channel_order_ref="1", status="partially_shipped",
        carrier="UPS", tracking_number="1Z9", note="first parcel",
    )  # fmt: skip
    assert annotated(existing, update) == [
        {"name": "gift", "value": "yes"},
        {"name": "orderhub_status", "value": "partially_shipped"},
        {"name": "orderhub_note", "value": "first parcel"},
        {"name": "orderhub_tracking", "value": "UPS 1Z9"},
    ]


def test_our_status_tag_replaces_the_previous_one() -> None:
    assert retagged("vip, orderhub-booked,  wholesale", "delivered") == (
        "vip, wholesale, orderhub-delivered"
    )
    assert retagged("", "booked") == "orderhub-booked"
