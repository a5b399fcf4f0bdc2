"""Translating a Shopify `orders/create` payload into the place-order command."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.shopify_orders import ShopifyPayloadError, place_order_from_shopify
from domain.commands import PlaceOrder
from domain.customer import Address, Customer
from domain.errors import FieldIssue, ValidationFailed
from domain.order_lines import LineSpec
from tests.hub import Hub
from tests.unit.shopify.payloads import shopify_order


def refusal(payload: dict[str, Any]) -> dict[str, str]:
    """The fields the translation refuses, with its messages."""
    with pytest.raises(ShopifyPayloadError) as refused:
        place_order_from_shopify(payload)
    return {issue.field: issue.message for issue in refused.value.issues}


def test_the_documented_payload_becomes_a_paid_shopify_order_that_may_wait_for_stock() -> None:
    assert place_order_from_shopify(shopify_order()) == PlaceOrder(
        channel="shopify",
        channel_order_ref="5612345678901",
        customer=Customer(
            email="bob.norman@mail.example.com", name="Bob Norman", id="7045281561973"
        ),
        shipping_address=Address(
            name="Bob Norman",
            line1="Chestnut Street 92",
            line2="Apt. 4",
            city="Louisville, KY",
            postal_code="40202",
            country="US",
        ),
        currency="USD",
        lines=(
            # tax per unit: (11.34 + 11.34) / 2 and 2.34 / 3, on top (taxes_included is false)
            LineSpec(
                sku="IPOD2008PINK",
                quantity=2,
                unit_price=Decimal("189.00"),
                tax_amount=Decimal("11.34"),
            ),
            LineSpec(
                sku="CBL-USBC-1M",
                quantity=3,
                unit_price=Decimal("12.99"),
                tax_amount=Decimal("0.78"),
            ),
        ),
        payment_reference="shopify:5612345678901",
        payment_amount=Decimal("451.99"),
        allow_backorder=True,
        shipping_amount=Decimal("10.00"),
    )


async def test_the_translated_order_passes_the_domain_rules_and_reserves_stock(hub: Hub) -> None:
    await hub.stock("IPOD2008PINK", "dc-east", 5)
    await hub.stock("CBL-USBC-1M", "dc-east", 5)
    order = hub.order(await hub.run(place_order_from_shopify(shopify_order())))
    assert order.status == "reserved"
    # 2 × (189.00 + 11.34) + 3 × (12.99 + 0.78) + 10.00 shipping: what the customer paid
    assert order.total.amount == Decimal("451.99")
    assert order.payment.authorized.amount == Decimal("451.99")


async def test_an_order_short_of_stock_waits_backordered_instead_of_being_refused(
    hub: Hub,
) -> None:
    order = hub.order(await hub.run(place_order_from_shopify(shopify_order())))
    assert order.status == "backordered"


def test_line_items_sharing_a_sku_at_one_price_are_merged() -> None:
    payload = shopify_order()
    payload["line_items"][1]["quantity"] = 4
    (ipods, _) = place_order_from_shopify(payload).lines
    # (199.00 × 5 − 2 × 10.00) / 5 = 195.00; tax (11.34 + 11.34) / 5 = 4.536, rounded down
    assert ipods == LineSpec(
        sku="IPOD2008PINK", quantity=5, unit_price=Decimal("195.00"), tax_amount=Decimal("4.53")
    )


def test_line_items_sharing_a_sku_at_different_prices_are_refused() -> None:
    payload = shopify_order()
    payload["line_items"][1]["price"] = "179.00"
    assert refusal(payload) == {
        "line_items[1].price": "SKU 'IPOD2008PINK' is also on line_items[0] at 199.00; "
        "the hub takes one price per SKU"
    }


@pytest.mark.parametrize("sku", [None, "", "   "])
def test_a_line_item_without_a_sku_is_refused_by_its_index(sku: str | None) -> None:
    payload = shopify_order()
    payload["line_items"][2]["sku"] = sku
    assert list(refusal(payload)) == ["line_items[2].sku"]


def test_a_sku_is_trimmed() -> None:
    payload = shopify_order()
    payload["line_items"][2]["sku"] = " CBL-USBC-1M "
    assert place_order_from_shopify(payload).lines[1].sku == "CBL-USBC-1M"


def test_a_discount_is_spread_over_the_units_and_rounded_down_to_the_cent() -> None:
    payload = shopify_order()
    cables = payload["line_items"][2]
    cables["discount_allocations"] = [{"amount": "1.00", "discount_application_index": 0}]
    # (3 × 12.99 − 1.00) / 3 = 12.6566…: the customer paid 37.97, the line says 37.95.
    assert place_order_from_shopify(payload).lines[1].unit_price == Decimal("12.65")


def test_a_discount_rounds_to_the_currencys_own_minor_unit() -> None:
    payload = shopify_order()
    payload["currency"] = "JPY"
    payload["line_items"] = [payload["line_items"][2]]
    payload["line_items"][0].update(
        price="1000", discount_allocations=[{"amount": "100", "discount_application_index": 0}]
    )
    assert place_order_from_shopify(payload).lines[0].unit_price == Decimal("966")


def test_a_shipping_discount_lowers_the_shipping_amount() -> None:
    payload = shopify_order()
    payload["shipping_lines"][0]["discount_allocations"] = [
        {"amount": "10.00", "discount_application_index": 1}
    ]
    assert place_order_from_shopify(payload).shipping_amount == Decimal("0.00")


def test_an_order_without_a_shipping_price_set_has_no_shipping_amount() -> None:
    payload = shopify_order()
    del payload["total_shipping_price_set"]
    assert place_order_from_shopify(payload).shipping_amount == Decimal(0)


def test_the_email_falls_back_to_the_contact_email_then_the_customers() -> None:
    payload = shopify_order()
    payload["email"] = ""
    payload["contact_email"] = "contact@mail.example.com"
    assert place_order_from_shopify(payload).customer.email == "contact@mail.example.com"
    payload["contact_email"] = None
    payload["customer"]["email"] = "account@mail.example.com"
    assert place_order_from_shopify(payload).customer.email == "account@mail.example.com"


def test_an_order_without_any_email_is_refused() -> None:
    payload = shopify_order()
    payload["email"] = payload["contact_email"] = payload["customer"]["email"] = None
    assert list(refusal(payload)) == ["email"]


def test_a_guest_order_takes_the_name_from_the_shipping_address() -> None:
    payload = shopify_order()
    payload["customer"] = None
    payload["shipping_address"]["name"] = "Alice Norman"
    customer = place_order_from_shopify(payload).customer
    assert customer == Customer(email="bob.norman@mail.example.com", name="Alice Norman")


def test_the_address_name_falls_back_to_first_and_last_name() -> None:
    payload = shopify_order()
    payload["shipping_address"].update(name=None, first_name="Alice", last_name="Norman")
    assert place_order_from_shopify(payload).shipping_address.name == "Alice Norman"


def test_an_address_without_a_province_keeps_the_city_alone_and_blank_line2_is_none() -> None:
    payload = shopify_order()
    payload["shipping_address"].update(
        province_code=None, address2="", city="Berlin", zip="10115", country_code="DE"
    )
    address = place_order_from_shopify(payload).shipping_address
    assert (address.city, address.line2, address.country) == ("Berlin", None, "DE")


def test_an_order_without_a_shipping_address_is_refused() -> None:
    payload = shopify_order()
    payload["shipping_address"] = None
    assert refusal(payload) == {"shipping_address": "required"}


def test_money_as_a_json_float_is_refused_but_a_decimal_is_taken() -> None:
    payload = shopify_order()
    payload["total_price"] = 451.99
    assert refusal(payload) == {"total_price": 'must be a decimal amount such as "19.99"'}
    payload["total_price"] = Decimal("451.99")
    assert place_order_from_shopify(payload).payment_amount == Decimal("451.99")


def test_every_untranslatable_field_is_reported_at_once() -> None:
    payload = shopify_order()
    del payload["id"]
    payload["line_items"][0]["quantity"] = "one"
    payload["line_items"][2]["discount_allocations"] = [{"amount": "lots"}]
    payload["shipping_address"]["zip"] = None
    payload["total_shipping_price_set"] = {"presentment_money": {}}
    assert sorted(refusal(payload)) == [
        "id",
        "line_items[0].quantity",
        "line_items[2].discount_allocations[0].amount",
        "shipping_address.zip",
        "total_shipping_price_set.shop_money",
    ]


def test_an_order_without_line_items_is_refused() -> None:
    payload = shopify_order()
    payload["line_items"] = []
    assert refusal(payload) == {"line_items": "an order needs at least one line item"}


def test_a_line_item_that_is_not_an_object_is_named_by_its_index() -> None:
    payload = shopify_order()
    payload["line_items"].append("IPOD2008PINK")
    assert list(refusal(payload)) == ["line_items[3]"]


def test_a_refusal_is_a_validation_failure_with_field_paths() -> None:
    payload = shopify_order()
    payload["line_items"][0]["sku"] = None
    with pytest.raises(ValidationFailed) as refused:
        place_order_from_shopify(payload)
    assert refused.value.code == "validation_error"
    assert refused.value.issues[0].field == "line_items[0].sku"


async def test_the_currency_is_the_domains_to_judge(hub: Hub) -> None:
    payload = shopify_order()
    payload["currency"] = "XYZ"
    command = place_order_from_shopify(payload)
    with pytest.raises(ValidationFailed) as refused:
        await hub.run(command)
    assert refused.value.issues == (FieldIssue("currency", "unknown currency 'XYZ'"),)


def test_a_test_order_translates_like_any_other() -> None:
    payload = shopify_order()
    payload["test"] = True
    assert place_order_from_shopify(payload) == place_order_from_shopify(shopify_order())


def test_the_payment_is_the_authorization_the_storefront_named_in_the_order_attributes() -> None:
    # With PAYMENT_PROVIDER=stripe the hub captures and refunds the PaymentIntent itself; the
    # `shopify:<id>` fallback is no PaymentIntent, and its capture was a dead letter.
    payload = shopify_order()
    payload["note_attributes"].append({"name": "payment_reference", "value": " pi_3Pq9xY2eZ "})
    assert place_order_from_shopify(payload).payment_reference == "pi_3Pq9xY2eZ"


def test_a_blank_payment_reference_attribute_is_refused() -> None:
    payload = shopify_order()
    payload["note_attributes"].append({"name": "payment_reference", "value": " "})
    assert refusal(payload) == {
        "note_attributes[1].value": "the payment reference must not be blank"
    }


def test_other_apps_attributes_are_left_alone_whatever_their_shape() -> None:
    payload = shopify_order()
    payload["note_attributes"] += ["gift", {"name": "gift_wrap", "value": None}]
    assert place_order_from_shopify(payload).payment_reference == "shopify:5612345678901"


def test_a_tax_included_price_is_split_into_the_unit_price_and_its_tax() -> None:
    """A VAT shop (`taxes_included`): Shopify's price contains the tax, the hub's does not."""
    payload = shopify_order()
    payload.update(taxes_included=True, currency="EUR", total_price="115.00")
    payload["total_shipping_price_set"] = None
    payload["line_items"] = [payload["line_items"][2]]
    payload["line_items"][0].update(
        price="38.00",
        quantity=3,
        discount_allocations=[],
        tax_lines=[
            {
                "channel_liable": False,
                "price": "19.00",
                "price_set": {
                    "shop_money": {"amount": "19.00", "currency_code": "EUR"},
                    "presentment_money": {"amount": "19.00", "currency_code": "EUR"},
                },
                "rate": 0.2,
                "title": "FR TVA",
            }
        ],
    )
    (line,) = place_order_from_shopify(payload).lines
    # 3 × 38.00 paid, of which 19.00 tax: 6.33 a unit (rounded down), 31.67 without it
    assert line == LineSpec(
        sku="CBL-USBC-1M", quantity=3, unit_price=Decimal("31.67"), tax_amount=Decimal("6.33")
    )
    assert (line.unit_price + line.tax_amount) * 3 == Decimal("114.00")


async def test_a_tax_included_order_totals_what_the_customer_paid(hub: Hub) -> None:
    payload = shopify_order()
    payload["taxes_included"] = True
    await hub.stock("IPOD2008PINK", "dc-east", 5)
    await hub.stock("CBL-USBC-1M", "dc-east", 5)
    command = place_order_from_shopify(payload)
    ipods, cables = command.lines
    assert (ipods.unit_price, ipods.tax_amount) == (Decimal("177.66"), Decimal("11.34"))
    assert (cables.unit_price, cables.tax_amount) == (Decimal("12.21"), Decimal("0.78"))
    order = hub.order(await hub.run(command))
    # tax inside the prices: 2 × 189.00 + 3 × 12.99 + 10.00, as without tax
    assert order.total.amount == Decimal("426.97")


def test_a_tax_line_whose_price_is_not_money_is_refused_by_its_path() -> None:
    payload = shopify_order()
    payload["line_items"][2]["tax_lines"][0]["price"] = 2.34
    assert refusal(payload) == {
        "line_items[2].tax_lines[0].price": 'must be a decimal amount such as "19.99"'
    }
