"""Shopify `orders/create` webhook payloads translated into the hub's place-order command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Final

from domain.commands import PlaceOrder
from domain.customer import Address, Customer
from domain.errors import FieldIssue, ValidationFailed
from domain.money import is_known_currency, minor_unit_exponent
from domain.order_lines import LineSpec

#: The channel every Shopify order is placed for.
CHANNEL: Final = "shopify"
#: The order attribute (`note_attributes`) in which a storefront that authorized the payment
#: with the hub's provider itself names that authorization (with Stripe, a PaymentIntent `pi_…`).
PAYMENT_REFERENCE_ATTRIBUTE: Final = "payment_reference"


class ShopifyPayloadError(ValidationFailed):
    """Raised when a Shopify order cannot be translated into a place-order command; each issue
    names the field of the Shopify payload (`line_items[2].sku`), not of the command."""


def place_order_from_shopify(payload: Mapping[str, Any]) -> PlaceOrder:
    """Translate the Admin REST order JSON of an `orders/create` webhook. Pure: no I/O.

    - channel `shopify`; `channel_order_ref` is the Shopify order `id` as a string (the `name`,
      e.g. `#1001`, is per shop and may be renumbered; the id never changes).
    - Amounts are the shop currency's (`currency`, `price`, `*_set.shop_money`), never the
      presentment currency's; they stay `Decimal`. Whether the currency is known is the domain's
      rule, as are quantity ≥ 1 and prices ≥ 0.
    - Lines by SKU (trimmed). A line item without a SKU is refused. Line items sharing a SKU are
      merged when their `price` is the same and refused otherwise. A line's unit price is what
      the customer pays for one unit: `price` less the line's `discount_allocations` spread
      over its quantity, rounded down to the currency's minor unit (the domain requires the
      payment to cover Σ (unit price + tax) × quantity + shipping, and Shopify's `total_price`
      is net of discounts).
    - Tax: a line's `tax_amount` (per unit) is the sum of its `tax_lines[].price` spread over
      its quantity, rounded down to the minor unit. When the order says `taxes_included`, the
      `price` already contains that tax, so the unit price is the discounted price less it;
      otherwise the tax comes on top of the price. Order-level `tax_lines` are only their sum
      and are not read.
    - `shipping_amount` = `total_shipping_price_set.shop_money.amount` less the shipping lines'
      discount allocations (absent: zero).
    - Payment: amount `total_price` (taxes, tips and duties included); reference the
      `payment_reference` order attribute (`note_attributes`) when the storefront authorized
      the payment with the hub's provider and named it there (with `PAYMENT_PROVIDER=stripe`, a
      PaymentIntent `pi_…` the hub captures and refunds), else `shopify:<id>`.
    - Customer: email from `email`, else `contact_email`, else `customer.email`; name from the
      customer's first and last name, else the shipping or billing address name, else the email;
      id is `customer.id`.
    - Shipping address: `name` (else first and last name, else the customer's name), `address1`,
      `address2`, `city`, `zip`, `country_code`; the hub's address has no region, so a
      `province_code` is kept on the city line (`Louisville, KY`) rather than lost.
    - `allow_backorder` is True: the customer has paid on the storefront, and there is no
      client to try again later, so an order short of stock waits `backordered` instead of
      being refused and lost (PRODUCT §2.1).

    Raises `ShopifyPayloadError` listing every field that cannot be translated.
    """
    read = _Reader()
    order_id = read.order_id(payload)
    currency = read.text(payload, "currency", "currency") or ""
    lines = _lines(read, payload, currency)
    shipping = _shipping_amount(read, payload)
    total = read.amount(payload.get("total_price"), "total_price")
    payment_reference = _payment_reference(read, payload) or f"{CHANNEL}:{order_id}"
    customer = _customer(read, payload)
    address = _shipping_address(read, payload, customer.name if customer else "")
    if read.issues:
        raise ShopifyPayloadError(read.issues)
    assert customer is not None
    assert address is not None
    assert total is not None
    return PlaceOrder(
        channel=CHANNEL,
        channel_order_ref=order_id,
        customer=customer,
        shipping_address=address,
        currency=currency,
        lines=lines,
        payment_reference=payment_reference,
        payment_amount=total,
        allow_backorder=True,
        shipping_amount=shipping,
    )


@dataclass(slots=True)
class _Merged:
    """The line items of one SKU so far: the first one's index and price, their totals."""

    index: int
    price: Decimal
    quantity: int
    discount: Decimal
    tax: Decimal


def _lines(read: _Reader, payload: Mapping[str, Any], currency: str) -> tuple[LineSpec, ...]:
    taxes_included = payload.get("taxes_included") is True
    merged: dict[str, _Merged] = {}
    for i, item in read.objects(payload.get("line_items"), "line_items", required=True):
        where = f"line_items[{i}]"
        sku = read.sku(item.get("sku"), f"{where}.sku")
        quantity = read.whole(item.get("quantity"), f"{where}.quantity")
        price = read.amount(item.get("price"), f"{where}.price")
        discount = _discounts(read, item, where)
        tax = _taxes(read, item, where)
        if sku is None or quantity is None or price is None:
            continue
        seen = merged.get(sku)
        if seen is None:
            merged[sku] = _Merged(i, price, quantity, discount, tax)
        elif seen.price != price:
            read.refuse(
                f"{where}.price",
                f"SKU {sku!r} is also on line_items[{seen.index}] at {seen.price}; "
                "the hub takes one price per SKU",
            )
        else:
            seen.quantity += quantity
            seen.discount += discount
            seen.tax += tax
    if not merged and not read.issues:
        read.refuse("line_items", "an order needs at least one line item")
    return tuple(_line(sku, m, currency, taxes_included) for sku, m in merged.items())


def _line(sku: str, merged: _Merged, currency: str, taxes_included: bool) -> LineSpec:
    """The hub's line: its unit price excludes tax, its tax is per unit."""
    price = _unit_price(merged, currency)
    tax = _per_unit(merged.tax, merged.quantity, currency)
    return LineSpec(
        sku=sku,
        quantity=merged.quantity,
        unit_price=price - tax if taxes_included else price,
        tax_amount=tax,
    )


def _unit_price(line: _Merged, currency: str) -> Decimal:
    """What one unit costs after the line's discounts, rounded down so the lines never add up
    to more than the customer paid."""
    if line.discount == 0 or line.quantity < 1:
        return line.price
    return _per_unit(line.price * line.quantity - line.discount, line.quantity, currency)


def _per_unit(amount: Decimal, quantity: int, currency: str) -> Decimal:
    """`amount` spread over `quantity` units, rounded down to the currency's minor unit."""
    if amount == 0 or quantity < 1:
        return amount
    share = amount / quantity
    if not is_known_currency(currency):
        return share  # the domain refuses the currency; nothing to round to
    return share.quantize(Decimal(1).scaleb(-minor_unit_exponent(currency)), rounding=ROUND_FLOOR)


def _discounts(read: _Reader, item: Mapping[str, Any], where: str) -> Decimal:
    total = Decimal(0)
    allocations = read.objects(item.get("discount_allocations"), f"{where}.discount_allocations")
    for j, allocation in allocations:
        amount = read.amount(allocation.get("amount"), f"{where}.discount_allocations[{j}].amount")
        total += amount or 0
    return total


def _taxes(read: _Reader, item: Mapping[str, Any], where: str) -> Decimal:
    """The tax the line item carries, all its units together (Shopify's `tax_lines[].price`)."""
    total = Decimal(0)
    for j, tax_line in read.objects(item.get("tax_lines"), f"{where}.tax_lines"):
        amount = read.amount(tax_line.get("price"), f"{where}.tax_lines[{j}].price")
        total += amount or 0
    return total


def _shipping_amount(read: _Reader, payload: Mapping[str, Any]) -> Decimal:
    path = "total_shipping_price_set"
    price_set = read.object(payload.get(path), path)
    if price_set is None:
        return Decimal(0)
    money = read.object(price_set.get("shop_money"), f"{path}.shop_money", required=True)
    gross = read.amount(money.get("amount"), f"{path}.shop_money.amount") if money else None
    discounts = Decimal(0)
    for k, line in read.objects(payload.get("shipping_lines"), "shipping_lines"):
        discounts += _discounts(read, line, f"shipping_lines[{k}]")
    return (gross or Decimal(0)) - discounts


def _payment_reference(read: _Reader, payload: Mapping[str, Any]) -> str | None:
    """The authorization the storefront named in the `payment_reference` order attribute. The
    other attributes belong to other apps: their shape is not this translation's business."""
    attributes = payload.get("note_attributes")
    for i, attribute in enumerate(attributes if isinstance(attributes, list) else []):
        if (
            not isinstance(attribute, Mapping)
            or attribute.get("name") != PAYMENT_REFERENCE_ATTRIBUTE
        ):
            continue
        reference = _filled(attribute.get("value"))
        if reference is None:
            read.refuse(f"note_attributes[{i}].value", "the payment reference must not be blank")
        return reference
    return None


def _customer(read: _Reader, payload: Mapping[str, Any]) -> Customer | None:
    account = read.object(payload.get("customer"), "customer") or {}
    email = (
        _filled(payload.get("email"))
        or _filled(payload.get("contact_email"))
        or _filled(account.get("email"))
    )
    if email is None:
        read.refuse(
            "email", "the order has no email address (email, contact_email, customer.email)"
        )
        return None
    customer_id = account.get("id")
    name = (
        _person(account)
        or _filled(_address_field(payload, "shipping_address", "name"))
        or _filled(_address_field(payload, "billing_address", "name"))
        or email
    )
    return Customer(
        email=email,
        name=name,
        id=str(customer_id) if isinstance(customer_id, int | str) and customer_id != "" else None,
    )


def _shipping_address(
    read: _Reader, payload: Mapping[str, Any], customer_name: str
) -> Address | None:
    where = "shipping_address"
    address = read.object(payload.get(where), where, required=True)
    if address is None:
        return None
    line1 = read.text(address, "address1", f"{where}.address1")
    city = read.text(address, "city", f"{where}.city")
    postal_code = read.text(address, "zip", f"{where}.zip")
    country = read.text(address, "country_code", f"{where}.country_code")
    region = _filled(address.get("province_code"))
    if line1 is None or city is None or postal_code is None or country is None:
        return None
    return Address(
        name=_filled(address.get("name")) or _person(address) or customer_name,
        line1=line1,
        line2=_filled(address.get("address2")),
        city=f"{city}, {region}" if region else city,
        postal_code=postal_code,
        country=country,
    )


def _filled(value: Any) -> str | None:
    """A non-blank string, trimmed; anything else is None."""
    return value.strip() or None if isinstance(value, str) else None


def _person(data: Mapping[str, Any]) -> str | None:
    parts = (_filled(data.get("first_name")), _filled(data.get("last_name")))
    return " ".join(p for p in parts if p) or None


def _address_field(payload: Mapping[str, Any], address: str, key: str) -> Any:
    value = payload.get(address)
    return value.get(key) if isinstance(value, Mapping) else None


class _Reader:
    """Reads typed values out of the payload, collecting an issue (and returning None) for each
    field that is missing or of the wrong type, so one answer lists every problem."""

    def __init__(self) -> None:
        self.issues: list[FieldIssue] = []

    def refuse(self, path: str, message: str) -> None:
        self.issues.append(FieldIssue(path, message))

    def order_id(self, payload: Mapping[str, Any]) -> str:
        value = payload.get("id")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.refuse("id", "required: the Shopify order id")
        return ""

    def text(
        self, data: Mapping[str, Any], key: str, path: str, *, missing: str = "required"
    ) -> str | None:
        value = data.get(key)
        if value is None:
            self.refuse(path, missing)
            return None
        if not isinstance(value, str):
            self.refuse(path, "must be a string")
            return None
        return value

    def sku(self, value: Any, path: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is None or isinstance(value, str):
            self.refuse(path, "missing: the hub reserves stock by SKU; give the variant a SKU")
        else:
            self.refuse(path, "must be a string")
        return None

    def whole(self, value: Any, path: str) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.refuse(path, "must be a whole number")
        return None

    def amount(self, value: Any, path: str) -> Decimal | None:
        """A decimal string (`"19.99"`, as Shopify sends money), an integer or a Decimal; never a
        float, whose binary rounding has no place in money."""
        if value is None:
            self.refuse(path, "required")
            return None
        if isinstance(value, str):
            try:
                value = Decimal(value.strip())
            except InvalidOperation:
                value = None
        elif isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        if isinstance(value, Decimal) and value.is_finite():
            return value
        self.refuse(path, 'must be a decimal amount such as "19.99"')
        return None

    def object(self, value: Any, path: str, *, required: bool = False) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        if value is not None:
            self.refuse(path, "must be an object")
        elif required:
            self.refuse(path, "required")
        return None

    def objects(
        self, value: Any, path: str, *, required: bool = False
    ) -> list[tuple[int, Mapping[str, Any]]]:
        """The objects of a list with their indexes; a non-object element is an issue."""
        if value is None:
            if required:
                self.refuse(path, "required")
            return []
        if not isinstance(value, list):
            self.refuse(path, "must be a list")
            return []
        found = []
        for i, element in enumerate(value):
            if isinstance(element, Mapping):
                found.append((i, element))
            else:
                self.refuse(f"{path}[{i}]", "must be an object")
        return found
